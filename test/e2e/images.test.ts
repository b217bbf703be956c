import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import http from "node:http";
import net from "node:net";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { startTestServer, type TestServer } from "../helpers/server.js";
import type { SharedBufferPool } from "../../src/storage/shared-pool.js";

/**
 * GET /v1/images/{token} sends from pooled shared memory that a worker thread decrypted into: a buffer goes
 * back to the pool when its response closes and is reused by the next. These tests push many concurrent
 * downloads of different tenants' images through it, with clients that hang up midway, and check every
 * completed body byte for byte.
 */
describe("image downloads under concurrency", () => {
  let srv: TestServer;
  const images: { tenant: "a" | "b"; token: string; bytes: Buffer; etag: string }[] = [];
  const keys: Record<"a" | "b", string> = { a: "", b: "" };

  beforeAll(async () => {
    srv = await startTestServer();
    const a = await srv.tenant();
    const b = await srv.tenant();
    keys.a = a.key;
    keys.b = b.key;
    const s = srv.services;
    for (let i = 0; i < 12; i++) {
      const owner = i % 2 === 0 ? a : b;
      const bytes = randomBytes(40_000 + i * 37_003);
      const row = await s.images.put(owner.id, `job_img${i}`, bytes, "image/png", 1, 1);
      await s.db.kysely.insertInto("images").values(row).execute();
      images.push({ tenant: i % 2 === 0 ? "a" : "b", token: row.token, bytes, etag: row.etag });
    }
  });
  afterAll(() => srv.stop());

  /**
   * Fetches a URL with node:http; with `abortAfter`, hangs up after that many body bytes; with `pauseMs`,
   * stops reading for that long at the first chunk, so the server's write of a large body stays pending.
   */
  function get(
    path: string,
    key: string,
    abortAfter?: number,
    pauseMs?: number,
  ): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = http.get(srv.url + path, { headers: { authorization: `Bearer ${key}` } }, (res) => {
        const parts: Buffer[] = [];
        let got = 0;
        if (pauseMs !== undefined) {
          res.once("data", () => {
            res.pause();
            setTimeout(() => res.resume(), pauseMs);
          });
        }
        res.on("data", (c: Buffer) => {
          parts.push(c);
          got += c.length;
          if (abortAfter !== undefined && got >= abortAfter) {
            req.destroy();
            resolve({ status: res.statusCode!, body: Buffer.concat(parts) });
          }
        });
        res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(parts) }));
        res.on("error", () => resolve({ status: res.statusCode!, body: Buffer.concat(parts) }));
      });
      req.on("error", (err) =>
        abortAfter !== undefined ? resolve({ status: 0, body: Buffer.alloc(0) }) : reject(err),
      );
    });
  }

  it("every completed download is its own image, byte for byte, while others hang up midway", async () => {
    for (let round = 0; round < 3; round++) {
      const jobs = Array.from({ length: 48 }, (_, i) => {
        const img = images[(i * 5 + round) % images.length]!;
        const abort = i % 4 === 3 ? 1 : undefined;
        return get(`/v1/images/${img.token}`, keys[img.tenant], abort).then((r) => ({ r, img, abort }));
      });
      for (const { r, img, abort } of await Promise.all(jobs)) {
        if (abort !== undefined) continue;
        expect(r.status).toBe(200);
        expect(r.body.length).toBe(img.bytes.length);
        expect(r.body.equals(img.bytes)).toBe(true);
      }
    }
  });

  it("a large body stays intact while its reader stalls and other downloads reuse the pool", async () => {
    const s = srv.services;
    const put = async (size: number) => {
      const owner = await srv.tenant();
      const bytes = randomBytes(size);
      const row = await s.images.put(owner.id, `job_big${size}`, bytes, "image/png", 1, 1);
      await s.db.kysely.insertInto("images").values(row).execute();
      return { token: row.token, key: owner.key, bytes };
    };
    // One pool class, and well over what the kernel's socket buffers take while nobody reads.
    const slow = await put(12_000_000);
    const fast = await put(12_500_000);

    // A client that sends its request and then reads nothing for a while: the server's write stays pending.
    const stalled = new Promise<Buffer>((resolve, reject) => {
      const sock = net.connect({ host: "127.0.0.1", port: Number(new URL(srv.url).port) }, () => {
        sock.write(
          `GET /v1/images/${slow.token} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${slow.key}\r\n\r\n`,
        );
        sock.pause();
        setTimeout(() => sock.resume(), 400);
      });
      const parts: Buffer[] = [];
      sock.on("data", (c: Buffer) => {
        parts.push(c);
        const all = Buffer.concat(parts);
        const at = all.indexOf("\r\n\r\n");
        if (at >= 0 && all.length - at - 4 >= slow.bytes.length) {
          sock.destroy();
          resolve(all.subarray(at + 4));
        }
      });
      sock.on("error", reject);
    });
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 4; i++) {
      const r = await get(`/v1/images/${fast.token}`, fast.key);
      expect(r.body.equals(fast.bytes)).toBe(true);
    }
    expect((await stalled).equals(slow.bytes)).toBe(true);
  });

  it("another tenant's token is 404 in the same storm, and a matching ETag is 304 with no body", async () => {
    const [mine, theirs] = [images[0]!, images[1]!];
    const [cross, own] = await Promise.all([
      get(`/v1/images/${theirs.token}`, keys.a),
      get(`/v1/images/${mine.token}`, keys.a),
    ]);
    expect(cross.status).toBe(404);
    expect(own.body.equals(mine.bytes)).toBe(true);
    const res = await srv.api(keys.a, "GET", `/v1/images/${mine.token}`, undefined, {
      "if-none-match": mine.etag,
    });
    expect(res.status).toBe(304);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    const full = await srv.api(keys.a, "GET", `/v1/images/${mine.token}`);
    expect(full.headers.get("content-length")).toBe(String(mine.bytes.length));
    expect(full.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await full.arrayBuffer()).equals(mine.bytes)).toBe(true);
    const head = await srv.api(keys.a, "HEAD", `/v1/images/${mine.token}`);
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(mine.bytes.length));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it("an image whose bytes are gone answers 410 without the image's caching headers", async () => {
    const owner = await srv.tenant();
    const s = srv.services;
    const row = await s.images.put(owner.id, "job_gone", randomBytes(1000), "image/png", 1, 1);
    await s.db.kysely.insertInto("images").values(row).execute();
    rmSync(path.join(s.config.blobDir, row.blob_key));
    const res = await srv.api(owner.key, "GET", `/v1/images/${row.token}`);
    expect(res.status).toBe(410);
    expect(res.headers.get("etag")).toBeNull();
    expect(res.headers.get("cache-control")).toBeNull();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("expired");
  });

  it("gives the pooled memory back for pipelined downloads whose client hangs up, the queued ones too", async () => {
    const owner = await srv.tenant();
    const s = srv.services;
    const row = await s.images.put(owner.id, "job_pipe", randomBytes(8 * 1024 * 1024), "image/png", 1, 1);
    await s.db.kysely.insertInto("images").values(row).execute();
    const pool = (s.images as unknown as { store: { pool: SharedBufferPool } }).store.pool;
    const acquire = vi.spyOn(pool, "acquire");
    const release = vi.spyOn(pool, "release");
    try {
      const socket = net.connect(Number(new URL(srv.url).port), "127.0.0.1");
      await new Promise((r) => socket.once("connect", r));
      socket.on("error", () => undefined);
      socket.pause(); // reads nothing: the first 8 MiB answer stays in flight, the next two wait behind it
      const request = `GET /v1/images/${row.token} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${owner.key}\r\n\r\n`;
      socket.write(request.repeat(3));
      await expect.poll(() => acquire.mock.calls.length).toBe(3);
      socket.destroy();
      await expect.poll(() => release.mock.calls.length).toBe(3);
    } finally {
      acquire.mockRestore();
      release.mockRestore();
    }
  });
});
