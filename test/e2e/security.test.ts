import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import path from "node:path";
import { deflateSync, crc32 } from "node:zlib";
import sharp from "sharp";
import { startTestServer, TestClock, type TestServer } from "../helpers/server.js";
import { sniffFormat } from "../../src/domain/uploads.js";
import { iso } from "../../src/clock.js";

interface Gen {
  data: { id: number; token: string; image: { url: string; signed_url: string; b64_json: string } };
}

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** A real PNG header for 17,000 x 17,000 RGB with about 1 MB of compressed all-zero rows. */
function hugePng(): Buffer {
  const w = 17_000;
  const h = 17_000;
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // RGB
  // 1,000 zero rows compress to ~50 KB; the full image would be ~850 KB. The header is what matters.
  const rows = deflateSync(Buffer.alloc((w * 3 + 1) * 1_000), { level: 9 });
  const body = Buffer.concat([rows, Buffer.alloc(1_000_000 - rows.length, 0)]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", body),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

describe("security over HTTP", () => {
  let srv: TestServer;
  const clock = new TestClock(Date.now());
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  let genA: Gen["data"];
  beforeAll(async () => {
    srv = await startTestServer({ clock });
    a = await srv.tenant("5.00");
    b = await srv.tenant("5.00");
    genA = (
      (await (
        await srv.api(a.key, "POST", "/v1/generate", { prompt: "secret garden", size: "256x256" })
      ).json()) as Gen
    ).data;
  });
  afterAll(() => srv.stop());

  it("tenant B gets 404 for tenant A's image token and does not see A's generations", async () => {
    expect((await srv.api(a.key, "GET", `/v1/images/${genA.token}`)).status).toBe(200);
    const res = await srv.api(b.key, "GET", `/v1/images/${genA.token}`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    const hist = (await (await srv.api(b.key, "GET", "/v1/generations")).json()) as {
      data: { generations: unknown[] };
    };
    expect(hist.data.generations).toEqual([]);
  });

  it("a forged or altered signed URL is 404; a missing key is 401", async () => {
    const signed = new URL(genA.image.signed_url);
    expect((await fetch(signed)).status).toBe(200);
    const forged = new URL(signed);
    const sig = forged.searchParams.get("signature")!;
    forged.searchParams.set("signature", (sig[0] === "A" ? "B" : "A") + sig.slice(1));
    expect((await fetch(forged)).status).toBe(404);
    const stretched = new URL(signed);
    stretched.searchParams.set("expires", String(Number(signed.searchParams.get("expires")) + 3600));
    expect((await fetch(stretched)).status).toBe(404);
    const otherToken = new URL(signed);
    otherToken.pathname = "/v1/images/" + "x".repeat(32);
    expect((await fetch(otherToken)).status).toBe(404);
    expect((await fetch(`${srv.url}/v1/images/${genA.token}`)).status).toBe(401);
  });

  it("a signed URL works with another tenant's key sent along, as a client sends its key everywhere", async () => {
    const signed = genA.image.signed_url;
    const withB = await fetch(signed, { headers: { authorization: `Bearer ${b.key}` } });
    expect(withB.status).toBe(200);
    expect(Buffer.from(await withB.arrayBuffer())).toEqual(Buffer.from(genA.image.b64_json, "base64"));
    // The key is still counted (the rate headers are its), and without the signature it is still 404.
    expect(withB.headers.get("x-ratelimit-limit")).not.toBeNull();
    const forged = new URL(signed);
    forged.searchParams.set("signature", "A".repeat(forged.searchParams.get("signature")!.length));
    expect((await fetch(forged, { headers: { authorization: `Bearer ${b.key}` } })).status).toBe(404);
  });

  it("keeps no readable image on disk", async () => {
    const stored = files(path.join(srv.dataDir, "blobs"));
    expect(stored.length).toBeGreaterThan(0);
    const png = Buffer.from(genA.image.b64_json, "base64");
    for (const f of stored) {
      const bytes = readFileSync(f);
      expect(sniffFormat(bytes)).toBeNull();
      expect(bytes.includes(png.subarray(100, 140))).toBe(false);
      await expect(sharp(bytes).metadata()).rejects.toThrow();
    }
  });

  it("refuses a 17,000 x 17,000 PNG of about 1 MB before decoding it", async () => {
    const png = hugePng();
    expect(png.length).toBeGreaterThan(900_000);
    expect(png.length).toBeLessThan(1_100_000);
    const res = await srv.api(a.key, "POST", "/v1/generate", {
      prompt: "edit",
      images: [{ data: png.toString("base64") }],
    });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect([res.status, body.error.code]).toEqual([400, "invalid_image"]);
    expect(body.error.message).toContain("17000x17000");
  });

  it("a revoked key fails within one second, even when revoked by another process", async () => {
    const t = await srv.tenant("1.00");
    expect((await srv.api(t.key, "GET", "/v1/balance")).status).toBe(200);
    // Revoke behind this process's back (as another instance sharing the database would).
    const revokedAt = performance.now();
    await srv.services.db.kysely
      .updateTable("api_keys")
      .set({ revoked_at: iso(clock.now()) })
      .where("tenant_id", "=", t.id)
      .execute();
    let status = 200;
    while (status === 200) {
      status = (await srv.api(t.key, "GET", "/v1/balance")).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(401);
    expect(performance.now() - revokedAt).toBeLessThanOrEqual(1100);
  });

  it("a key revoked by the admin fails at once", async () => {
    const t = await srv.tenant("1.00");
    const created = (await (
      await srv.admin("POST", `/admin/v1/tenants/${t.id}/keys`, { name: "second" })
    ).json()) as {
      data: { api_key: string; key: { id: string } };
    };
    const k2 = created.data.api_key;
    expect((await srv.api(k2, "GET", "/v1/balance")).status).toBe(200);
    expect((await srv.admin("DELETE", `/admin/v1/tenants/${t.id}/keys/${created.data.key.id}`)).status).toBe(
      204,
    );
    const res = await srv.api(k2, "GET", "/v1/balance");
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
    expect((await srv.api(t.key, "GET", "/v1/balance")).status).toBe(200);
    // Another tenant's key id answers 404.
    expect((await srv.admin("DELETE", `/admin/v1/tenants/${b.id}/keys/${created.data.key.id}`)).status).toBe(
      404,
    );
  });

  it("expired images answer 410 by key and by signed URL, and the sweeper deletes their bytes", async () => {
    const g = (
      (await (
        await srv.api(a.key, "POST", "/v1/generate", { prompt: "short-lived", size: "256x256" })
      ).json()) as Gen
    ).data;
    const blobDir = path.join(srv.dataDir, "blobs", "images", a.id);
    expect(existsSync(path.join(blobDir, g.token))).toBe(true);
    clock.advance(24 * 3600 * 1000 + 1000);
    const byKey = await srv.api(a.key, "GET", `/v1/images/${g.token}`);
    expect(byKey.status).toBe(410);
    expect(((await byKey.json()) as { error: { code: string } }).error.code).toBe("expired");
    expect((await fetch(g.image.signed_url)).status).toBe(410);
    expect(await srv.services.images.sweep()).toBeGreaterThanOrEqual(1);
    expect(existsSync(path.join(blobDir, g.token))).toBe(false);
    expect((await srv.api(a.key, "GET", `/v1/images/${g.token}`)).status).toBe(410);
    // Another tenant still gets 404, not 410: existence is not revealed.
    expect((await srv.api(b.key, "GET", `/v1/images/${g.token}`)).status).toBe(404);
  });
});
