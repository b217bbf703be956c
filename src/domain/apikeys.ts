import { createHmac } from "node:crypto";
import { crc32 } from "node:zlib";
import { randomBase62, toBase62 } from "./ids.js";

export const KEY_SCOPES = ["generate", "read", "keys", "webhooks"] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

const KEY_RE = /^(zk_(?:live|test)_)([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;

/**
 * `zk_live_` + 32 random base62 characters + a 6-character base62 CRC32 of the random part (GitHub's
 * token design): a typo or a made-up key is refused without touching the database.
 */
export function generateKey(mode: "live" | "test" = "live"): string {
  const random = randomBase62(32);
  return `zk_${mode}_${random}${checksum(random)}`;
}

function checksum(random: string): string {
  return toBase62(crc32(random), 6);
}

export function hasValidChecksum(key: string): boolean {
  const m = KEY_RE.exec(key);
  return m !== null && checksum(m[2]!) === m[3];
}

export function keyPrefix(key: string): string {
  return key.startsWith("zk_test_") ? "zk_test_" : "zk_live_";
}

/** The shape shown after creation: prefix and last 4 characters. */
export function displayKey(prefix: string, last4: string): string {
  return `${prefix}...${last4}`;
}

/** Keys are stored only as HMAC-SHA256 under a server-side pepper, so a database leak reveals no key. */
export function hashKey(pepper: Buffer, key: string): string {
  return createHmac("sha256", pepper).update(key).digest("hex");
}
