import { randomBytes } from "node:crypto";

/**
 * Image bytes that go out as a base64 string in a JSON answer (`b64_json`). Serialized by `serializeJson`,
 * the base64 is written straight into the answer's bytes; by plain `JSON.stringify`, it is the base64
 * string, so the answer is right either way.
 */
export class Base64Bytes {
  constructor(readonly bytes: Buffer) {}

  toJSON(): string {
    return collecting ? `${MARK}${collecting.push(this.bytes) - 1}` : this.bytes.toString("base64");
  }
}

// Stands in for each image during `serializeJson`'s JSON.stringify: random per process and never sent, so
// no request can contain it; JSON.stringify is synchronous, so one list of images at a time is enough.
const MARK = `b64-${randomBytes(12).toString("hex")}-`;
let collecting: Buffer[] | undefined;

/**
 * The JSON of an answer. One with images (`Base64Bytes`) comes out as bytes, with each image's base64
 * written in place of its marker: JSON.stringify would otherwise scan and copy every 190 KB string of a
 * 256x256 PNG, and Node encode it again on the way out, about 0.3 ms of a generation's 3. Base64 needs no
 * escaping in JSON, so the bytes are what JSON.stringify would have given.
 */
export function serializeJson(data: unknown): string | Buffer {
  const images: Buffer[] = [];
  collecting = images;
  let text: string;
  try {
    text = JSON.stringify(data);
  } finally {
    collecting = undefined;
  }
  if (images.length === 0) return text;
  // Text, base64, text, ... base64, text. JSON.stringify meets the images in the order of the text, so
  // marker i comes after marker i - 1; each base64 keeps the quotes of its marker around it.
  const texts: string[] = [];
  const b64s: string[] = [];
  let from = 0;
  for (const [i, bytes] of images.entries()) {
    const marker = `"${MARK}${i}"`;
    const at = text.indexOf(marker);
    // Not there once as a whole string, after the one before (a toJSON of another value that stringified
    // an image itself, so that its marker went in escaped): the plain way, which is right whatever the data.
    if (at < from || text.includes(marker, at + 1)) return JSON.stringify(data);
    texts.push(text.slice(from, at + 1));
    b64s.push(bytes.toString("base64"));
    from = at + marker.length - 1;
  }
  texts.push(text.slice(from));
  const size = texts.reduce((n, t) => n + Buffer.byteLength(t), 0) + b64s.reduce((n, b) => n + b.length, 0);
  const out = Buffer.allocUnsafe(size);
  let offset = out.write(texts[0]!, 0, "utf8");
  b64s.forEach((b64, i) => {
    offset += out.write(b64, offset, "latin1");
    offset += out.write(texts[i + 1]!, offset, "utf8");
  });
  return out;
}
