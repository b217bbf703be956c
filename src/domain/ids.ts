import { randomBytes, randomInt } from "node:crypto";

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
  return randomBytes(24).toString("base64url");
}
