import { hkdfSync, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Config } from "./config.js";

export interface Secrets {
  adminToken: string;
  masterKey: Buffer;
  /** Derived from the master key: the pepper of API key hashes. */
  keyPepper: Buffer;
  /** Derived from the master key: signs expiring image URLs. */
  urlSigningKey: Buffer;
  /**
   * Derived from the master key, one way: kept in the database, so that a start with another master key
   * (which would make every API key and stored image unusable) is noticed.
   */
  masterKeyCheck: string;
  /** True when the admin token was generated on this start (so it is worth printing). */
  generatedAdminToken: boolean;
}

interface StoredSecrets {
  adminToken?: string;
  masterKey?: string;
}

/**
 * Settings win; what is not set is generated once and kept in `<data dir>/secrets.json` (mode 0600), so
 * that keys, hashes and encrypted images survive a restart. The data dir exists (createServices makes it
 * first, naming the setting if it cannot).
 */
export function loadSecrets(config: Config): Secrets {
  const file = path.join(config.dataDir, "secrets.json");
  const stored: StoredSecrets = existsSync(file)
    ? (JSON.parse(readFileSync(file, "utf8")) as StoredSecrets)
    : {};
  let changed = false;
  let generatedAdminToken = false;
  if (!config.adminToken && !stored.adminToken) {
    stored.adminToken = `zka_${randomBytes(24).toString("base64url")}`;
    changed = generatedAdminToken = true;
  }
  if (!config.masterKey && !stored.masterKey) {
    stored.masterKey = randomBytes(32).toString("base64");
    changed = true;
  }
  if (changed) {
    writeFileSync(file, JSON.stringify(stored, null, 2) + "\n", { mode: 0o600 });
  }
  const masterKey = config.masterKey ?? Buffer.from(stored.masterKey!, "base64");
  return {
    adminToken: config.adminToken ?? stored.adminToken!,
    masterKey,
    keyPepper: derive(masterKey, "zekron api key pepper"),
    urlSigningKey: derive(masterKey, "zekron image url signing"),
    masterKeyCheck: derive(masterKey, "zekron master key check").toString("base64url"),
    generatedAdminToken,
  };
}

function derive(master: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), info, 32));
}
