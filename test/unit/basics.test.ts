import { describe, expect, it } from "vitest";
import { generateKey, hasValidChecksum, displayKey, keyPrefix } from "../../src/domain/apikeys.js";
import { formatMoney, parseMoney } from "../../src/domain/money.js";
import { Catalog, DEFAULT_MODELS, priceOf } from "../../src/domain/catalog.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { decodeBase64, sniffFormat } from "../../src/domain/uploads.js";
import { open, seal } from "../../src/storage/envelope.js";
import { newImageToken, secureRandomBytes } from "../../src/domain/ids.js";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { tempDir } from "../helpers/db.js";

describe("API keys", () => {
  it("have the documented format and a checksum that catches typos", () => {
    const key = generateKey();
    expect(key).toMatch(/^zk_live_[0-9A-Za-z]{38}$/);
    expect(hasValidChecksum(key)).toBe(true);
    const typo = key.slice(0, 12) + (key[12] === "a" ? "b" : "a") + key.slice(13);
    expect(hasValidChecksum(typo)).toBe(false);
    expect(hasValidChecksum("zk_live_short")).toBe(false);
    expect(keyPrefix(generateKey("test"))).toBe("zk_test_");
    expect(displayKey("zk_live_", key.slice(-4))).toBe(`zk_live_...${key.slice(-4)}`);
  });
});

describe("money", () => {
  it("formats micro-dollars with 4 places and parses decimal strings", () => {
    expect(formatMoney(26_700)).toBe("0.0267");
    expect(formatMoney(10_000_000)).toBe("10.0000");
    expect(formatMoney(0)).toBe("0.0000");
    expect(parseMoney("5.00")).toBe(5_000_000);
    expect(parseMoney("-1.25")).toBe(-1_250_000);
    expect(parseMoney("0.0267")).toBe(26_700);
    expect(parseMoney("abc")).toBeNull();
    expect(parseMoney("1.1234567")).toBeNull();
    // As the admin routes take amounts: at most the 4 places every amount is shown with.
    expect(parseMoney("10.0025", 4)).toBe(10_002_500);
    expect(parseMoney(" 3 ", 4)).toBe(3_000_000);
    expect(parseMoney("0.00001", 4)).toBeNull();
    expect(parseMoney("0.000001", 4)).toBeNull();
    expect(parseMoney("0.000001")).toBe(1);
  });
});

describe("pricing", () => {
  it("is deterministic and inside each model's range", () => {
    for (const m of DEFAULT_MODELS) {
      for (const size of new Catalog().sizes(m)) {
        const [width, height] = size.split("x").map(Number) as [number, number];
        for (const prompt of ["a", "x".repeat(2000)]) {
          for (const edit of [false, true]) {
            const p = priceOf(m, { width, height, prompt, edit });
            expect(p).toBeGreaterThanOrEqual(m.priceMin);
            expect(p).toBeLessThanOrEqual(m.priceMax);
            expect(p % 100).toBe(0);
            expect(priceOf(m, { width, height, prompt, edit })).toBe(p);
          }
        }
      }
    }
    const m = DEFAULT_MODELS[0]!;
    const small = priceOf(m, { width: 256, height: 256, prompt: "a", edit: false });
    const big = priceOf(m, { width: 2048, height: 2048, prompt: "a", edit: false });
    expect(big).toBeGreaterThan(small);
  });
});

describe("configuration", () => {
  it("has working defaults", () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.dataDir).toBe("./data");
    expect(c.webhookAllowPrivate).toBe(false);
  });

  it("names every bad setting and what is wrong with it", () => {
    try {
      loadConfig({ PORT: "eighty", ZEKRON_MASTER_KEY: "short", DATABASE_URL: "mysql://x" });
      expect.fail("should throw");
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const lines = (err as ConfigError).lines;
      expect(lines).toContain("Invalid setting PORT: must be a whole number");
      expect(lines.some((l) => l.startsWith("Invalid setting ZEKRON_MASTER_KEY: must be 32 bytes"))).toBe(
        true,
      );
      expect(
        lines.some((l) =>
          l.startsWith("Invalid setting DATABASE_URL: must be a URL starting with postgres://"),
        ),
      ).toBe(true);
    }
  });

  it("refuses a data dir that is a file, and a public URL with a query or fragment", () => {
    const file = path.join(tempDir(), "not-a-dir");
    writeFileSync(file, "x");
    expect(() => loadConfig({ ZEKRON_DATA_DIR: file })).toThrow(
      "Invalid setting ZEKRON_DATA_DIR: must be a directory (this path is a file)",
    );
    for (const bad of ["https://x.example/base?q=1", "https://x.example/#top"]) {
      expect(() => loadConfig({ ZEKRON_PUBLIC_URL: bad })).toThrow(
        "Invalid setting ZEKRON_PUBLIC_URL: must not have a query or a fragment",
      );
    }
    expect(loadConfig({ ZEKRON_PUBLIC_URL: "https://x.example/zekron/" }).publicUrl).toBe(
      "https://x.example/zekron",
    );
  });
});

describe("untrusted image helpers", () => {
  it("accepts only canonical base64", () => {
    expect(decodeBase64("aGVsbG8=", "x").toString()).toBe("hello");
    expect(() => decodeBase64("aGVsbG8", "x")).toThrow(/not valid base64/);
    expect(() => decodeBase64("aGVs bG8=", "x")).toThrow(/not valid base64/);
    expect(() => decodeBase64("aGVsbG9=", "x")).toThrow(/canonical/);
    expect(() => decodeBase64("", "x")).toThrow(/not valid base64/);
  });

  it("sniffs the format from the bytes", () => {
    expect(sniffFormat(Buffer.from("89504e470d0a1a0a0000", "hex"))).toBe("png");
    expect(sniffFormat(Buffer.from("ffd8ffe000", "hex"))).toBe("jpeg");
    expect(sniffFormat(Buffer.from("RIFF\0\0\0\0WEBPVP8 ", "latin1"))).toBe("webp");
    expect(sniffFormat(Buffer.from("<svg xmlns"))).toBeNull();
    expect(sniffFormat(Buffer.from("GIF89a"))).toBeNull();
  });
});

describe("envelope encryption", () => {
  it("round-trips, and fails under another name or a flipped bit", () => {
    const master = randomBytes(32);
    const plain = randomBytes(5000);
    const sealed = seal(master, "images/a", plain);
    expect(open(master, "images/a", sealed).equals(plain)).toBe(true);
    expect(() => open(master, "images/b", sealed)).toThrow();
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1]! ^= 1;
    expect(() => open(master, "images/a", flipped)).toThrow();
    expect(() => open(randomBytes(32), "images/a", sealed)).toThrow();
  });
});

describe("secureRandomBytes", () => {
  it("gives each byte once, across refills of its pool, at any size", () => {
    const seen = new Set<string>();
    // 24 bytes at a time, through several refills of the 4 KiB pool (one of them partly used).
    for (let i = 0; i < 1000; i++) {
      const b = secureRandomBytes(24);
      expect(b.length).toBe(24);
      seen.add(b.toString("hex"));
    }
    expect(seen.size).toBe(1000);
    const big = secureRandomBytes(10_000);
    expect(big.length).toBe(10_000);
    expect(big.equals(Buffer.alloc(10_000))).toBe(false);
    expect(secureRandomBytes(0).length).toBe(0);
    // No two tokens share a run of bytes (a pool handing out a region twice would).
    const a = secureRandomBytes(4096);
    const b = secureRandomBytes(4096);
    expect(a.subarray(0, 32).equals(b.subarray(0, 32))).toBe(false);
    expect(newImageToken()).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });
});
