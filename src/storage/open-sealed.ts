import { createCipheriv, type createDecipheriv } from "node:crypto";
import { secureRandomBytes } from "../domain/ids.js";

/**
 * The one reader of the layout `sealTo` (below) writes: checks it, unwraps the data key and decrypts the body,
 * handing the plaintext to `emit` in order, in pieces of at most `step` bytes. It throws when any check
 * fails (another name, another master key, a flipped bit), possibly after some pieces: a caller sends
 * nothing it was given unless the call returned. It refers to nothing outside its body, because the decrypt
 * workers run it from its source text; the layout's numbers are therefore written inside it (and again in
 * sealTo), and the round-trip tests hold the two together.
 */
export function openSealed(
  decipher: typeof createDecipheriv,
  master: Buffer,
  name: string,
  sealed: Buffer,
  step: number,
  emit: (piece: Buffer) => void,
): void {
  const magic = "ZKB1";
  const iv = 12;
  const tag = 16;
  const key = 32;
  const header = magic.length + iv + key + tag + iv + tag;
  if (sealed.length < header || sealed.toString("latin1", 0, magic.length) !== magic) {
    throw new Error("not a sealed object");
  }
  let o = magic.length;
  const take = (n: number) => sealed.subarray(o, (o += n));
  const wrapIv = take(iv);
  const wrappedKey = take(key);
  const wrapTag = take(tag);
  const dataIv = take(iv);
  const dataTag = take(tag);
  const aad = Buffer.from(name);

  const unwrap = decipher("aes-256-gcm", master, wrapIv);
  unwrap.setAAD(aad);
  unwrap.setAuthTag(wrapTag);
  const dataKey = Buffer.concat([unwrap.update(wrappedKey), unwrap.final()]);

  const d = decipher("aes-256-gcm", dataKey, dataIv);
  d.setAAD(aad);
  d.setAuthTag(dataTag);
  for (let at = o; at < sealed.length; at += step) emit(d.update(sealed.subarray(at, at + step)));
  // GCM's final() checks the tag and returns no bytes.
  const rest = d.final();
  if (rest.length > 0) emit(rest);
}

/** The layout's head: magic, wrap IV, wrapped key, wrap tag, data IV, data tag. */
const SEALED_HEAD = 4 + 12 + 32 + 16 + 12 + 16;

/** The sealed size of an object of `size` bytes. */
export const sealedLength = (size: number) => SEALED_HEAD + size;

/**
 * The one writer of the layout: magic | wrapIV | wrappedKey | wrapTag | dataIV | dataTag | ciphertext,
 * with a fresh random data key sealed by the master key and the object's name as additional
 * authenticated data. The bytes go to `write` with their offsets: the ciphertext first, in pieces of at
 * most `step` bytes, then the head (offset 0), which holds the tag known only at the end. Pieces rather
 * than one buffer because each fresh page of a large buffer costs a page fault, which is most of the cost
 * of sealing an image here (about 11 us a page on this kind of virtual machine), where the pieces reuse
 * the same few pages. Here beside openSealed so that the layout's numbers are written in one file (the
 * round-trip tests hold the two together).
 */
export function sealTo(
  master: Buffer,
  name: string,
  plain: Buffer,
  step: number,
  write: (bytes: Buffer, at: number) => void,
): void {
  const aad = Buffer.from(name);
  const dataKey = secureRandomBytes(32);
  const wrapIv = secureRandomBytes(12);
  const wrap = createCipheriv("aes-256-gcm", master, wrapIv);
  wrap.setAAD(aad);
  const wrappedKey = Buffer.concat([wrap.update(dataKey), wrap.final()]);
  const dataIv = secureRandomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", dataKey, dataIv);
  cipher.setAAD(aad);
  for (let at = 0; at < plain.length; at += step) {
    write(cipher.update(plain.subarray(at, at + step)), SEALED_HEAD + at);
  }
  // GCM gives every byte from update(); final() only computes the tag.
  cipher.final();
  const parts = [Buffer.from("ZKB1"), wrapIv, wrappedKey, wrap.getAuthTag(), dataIv, cipher.getAuthTag()];
  write(Buffer.concat(parts), 0);
}
