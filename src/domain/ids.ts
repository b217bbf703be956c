import { randomFillSync, randomInt } from "node:crypto";

/**
 * Random bytes from the system's CSPRNG, taken from a buffer that one call fills for many takers, as
 * Node's own randomInt and randomUUID do: each call into OpenSSL's generator cost about 35 us here when
 * it ran cold (after a render), and a generation wants five (an image token, its etag, a data key and two
 * IVs). Every byte goes to one taker only; the buffer is filled again once it is used up.
 */
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let poolAt = POOL_SIZE;

export function secureRandomBytes(size: number): Buffer {
  if (size > POOL_SIZE) return randomFillSync(Buffer.alloc(size));
  if (poolAt + size > POOL_SIZE) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const out = Buffer.from(pool.subarray(poolAt, poolAt + size));
  // Zeroed once taken: the pool keeps no byte it has given out.
  pool.fill(0, poolAt, (poolAt += size));
  return out;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export function randomBase62(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += BASE62[randomInt(62)];
  return out;
}

export function toBase62(n: number, width: number): string {
  let out = "";
  let v = n;
  while (v > 0) {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out.padStart(width, "0");
}

/** Prefixed ids for resources: ten_..., key_..., job_... (96 random bits). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBase62(16)}`;
}

/** Image tokens carry 192 random bits, URL-safe. */
export function newImageToken(): string {
  return secureRandomBytes(24).toString("base64url");
}
