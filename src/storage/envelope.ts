import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { BlobStore } from "./types.js";

const MAGIC = Buffer.from("ZKB1");
const IV = 12;
const TAG = 16;
const KEY = 32;
const HEADER = MAGIC.length + IV + KEY + TAG + IV + TAG;

/**
 * Envelope encryption: each object gets its own random AES-256-GCM data key, which is itself sealed with
 * the master key. The object's name is the additional authenticated data, so bytes moved to another
 * name fail to open. Layout: magic | wrapIV | wrappedKey | wrapTag | dataIV | dataTag | ciphertext.
 */
export function seal(master: Buffer, name: string, plain: Buffer): Buffer {
  const dataKey = randomBytes(KEY);
  const wrapIv = randomBytes(IV);
  const wrap = createCipheriv("aes-256-gcm", master, wrapIv);
  wrap.setAAD(Buffer.from(name));
  const wrappedKey = Buffer.concat([wrap.update(dataKey), wrap.final()]);
  const wrapTag = wrap.getAuthTag();

  const dataIv = randomBytes(IV);
  const cipher = createCipheriv("aes-256-gcm", dataKey, dataIv);
  cipher.setAAD(Buffer.from(name));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([MAGIC, wrapIv, wrappedKey, wrapTag, dataIv, cipher.getAuthTag(), body]);
}

export function open(master: Buffer, name: string, sealed: Buffer): Buffer {
  if (sealed.length < HEADER || !sealed.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new Error("not a sealed object");
  }
  let o = MAGIC.length;
  const take = (n: number) => sealed.subarray(o, (o += n));
  const wrapIv = take(IV);
  const wrappedKey = take(KEY);
  const wrapTag = take(TAG);
  const dataIv = take(IV);
  const dataTag = take(TAG);
  const body = sealed.subarray(o);

  const unwrap = createDecipheriv("aes-256-gcm", master, wrapIv);
  unwrap.setAAD(Buffer.from(name));
  unwrap.setAuthTag(wrapTag);
  const dataKey = Buffer.concat([unwrap.update(wrappedKey), unwrap.final()]);

  const decipher = createDecipheriv("aes-256-gcm", dataKey, dataIv);
  decipher.setAAD(Buffer.from(name));
  decipher.setAuthTag(dataTag);
  const plain = decipher.update(body);
  // GCM's final() only checks the tag and returns nothing; skipping the concat saves a copy of the image.
  const rest = decipher.final();
  return rest.length ? Buffer.concat([plain, rest]) : plain;
}

/** A BlobStore view that seals on the way in and opens on the way out. */
export class SealedStore {
  constructor(
    private readonly store: BlobStore,
    private readonly master: Buffer,
  ) {}

  put(key: string, plain: Buffer): Promise<void> {
    return this.store.put(key, seal(this.master, key, plain));
  }

  async get(key: string): Promise<Buffer | null> {
    const sealed = await this.store.get(key);
    return sealed ? open(this.master, key, sealed) : null;
  }

  delete(key: string): Promise<void> {
    return this.store.delete(key);
  }

  ping(): Promise<void> {
    return this.store.ping();
  }
}
