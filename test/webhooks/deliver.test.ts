import http from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { deliver, parseRetryAfter, type DeliverOptions } from "../../src/webhooks/deliver.js";
import { fakeLookup, guardLoopbackOnly, startReceiver, type Receiver } from "./servers.js";

const body = '{"event":"job.completed"}';
const base = { body, headers: { "content-type": "application/json" } };
const dev: DeliverOptions = { ...base, allowPrivate: true };

let guard: ReturnType<typeof guardLoopbackOnly>;
const open: Receiver[] = [];
const receiver = async (...args: Parameters<typeof startReceiver>) => {
  const r = await startReceiver(...args);
  open.push(r);
  return r;
};

beforeAll(() => {
  guard = guardLoopbackOnly();
});
afterAll(() => guard.restore());
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

describe("deliver to a local receiver (allowPrivate)", () => {
  it("counts a 200 and sends the body and headers as a POST", async () => {
    const r = await receiver((_q, res) => res.end("thanks"));
    const result = await deliver(`${r.url}/hook?x=1`, {
      ...dev,
      headers: { ...base.headers, "webhook-id": "msg_1" },
    });
    expect(result).toMatchObject({ ok: true, status: 200, responseSnippet: "thanks" });
    expect(result.error).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(r.hits).toHaveLength(1);
    expect(r.hits[0]).toMatchObject({ method: "POST", path: "/hook?x=1", body });
    expect(r.hits[0]!.headers).toMatchObject({ "webhook-id": "msg_1", "content-type": "application/json" });
    expect(guard.seen).toContain("127.0.0.1");
  });

  it("reports a 500 as not ok, with its status", async () => {
    const r = await receiver((_q, res) => {
      res.statusCode = 500;
      res.end("boom");
    });
    expect(await deliver(r.url, dev)).toMatchObject({ ok: false, status: 500, error: "HTTP 500" });
  });

  it("passes on Retry-After from a 503", async () => {
    const r = await receiver((_q, res) => res.writeHead(503, { "retry-after": "120" }).end());
    expect(await deliver(r.url, dev)).toMatchObject({ ok: false, status: 503, retryAfterSec: 120 });
  });

  it("does not follow a 302", async () => {
    const r = await receiver((req, res) => {
      if (req.url === "/first") res.writeHead(302, { location: "/second" }).end();
      else res.end("followed");
    });
    const result = await deliver(`${r.url}/first`, dev);
    expect(result).toMatchObject({ ok: false, status: 302, error: "redirect not followed" });
    expect(r.hits.map((h) => h.path)).toEqual(["/first"]);
  });

  it("times out a receiver that never answers", async () => {
    const r = await receiver(() => {});
    const result = await deliver(r.url, { ...dev, timeoutMs: 300 });
    expect(result).toMatchObject({ ok: false, status: null, error: "timed out after 300 ms" });
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
    expect(result.durationMs).toBeLessThan(2000);
  });

  it("stops reading a huge response body at maxResponseBytes", async () => {
    let written = 0;
    let closed!: () => void;
    const serverSawClose = new Promise<void>((ok) => (closed = ok));
    const r = await receiver((_q, res) => {
      const chunk = Buffer.alloc(64 * 1024, "a");
      res.on("close", closed);
      const pump = () => {
        while (!res.destroyed && written < 256 * 1024 * 1024 && res.write(chunk)) written += chunk.length;
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
    });
    const result = await deliver(r.url, { ...dev, timeoutMs: 5000, maxResponseBytes: 16 * 1024 });
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(result.responseSnippet).toBe("a".repeat(200));
    expect(result.durationMs).toBeLessThan(2000);
    await serverSawClose;
    expect(written).toBeLessThan(256 * 1024 * 1024);
  });

  it("reports a refused connection", async () => {
    const r = await receiver();
    const url = r.url;
    await r.close();
    open.splice(0);
    const result = await deliver(url, dev);
    expect(result).toMatchObject({ ok: false, status: null });
    expect(result.error).toMatch(/ECONNREFUSED/);
  });
});

describe("deliver refuses what is not a public address (SSRF)", () => {
  it("normalizes odd IPv4 spellings the WHATWG way, so the address check sees 127.0.0.1", () => {
    expect(new URL("http://0177.0.0.1/").hostname).toBe("127.0.0.1");
    expect(new URL("http://2130706433/").hostname).toBe("127.0.0.1");
    expect(new URL("http://0x7f.1/").hostname).toBe("127.0.0.1");
    expect(new URL("http://[::ffff:169.254.169.254]/").hostname).toBe("[::ffff:a9fe:a9fe]");
  });

  it("refuses every address form before the receiver sees a request", async () => {
    const v4 = await receiver();
    const v6 = await receiver(undefined, "::1");
    const lookup = fakeLookup({
      "127.0.0.1.nip.io": [["127.0.0.1"]],
      "mixed.test": [["93.184.216.34", "127.0.0.1"]],
      "v6.test": [["::1"]],
    });
    const cases: [string, string][] = [
      ["http://169.254.169.254/latest/meta-data/", "169.254.169.254"],
      ["http://[::ffff:169.254.169.254]/", "::ffff:a9fe:a9fe"],
      ["http://[::1]:6379/", "::1"],
      [`http://[::1]:${v6.port}/`, "::1"],
      [`http://0177.0.0.1:${v4.port}/`, "127.0.0.1"],
      [`http://2130706433:${v4.port}/`, "127.0.0.1"],
      [`http://[::ffff:7f00:1]:${v4.port}/`, "::ffff:7f00:1"],
      [`http://[::127.0.0.1]:${v4.port}/`, "::7f00:1"],
      [`http://0.0.0.0:${v4.port}/`, "0.0.0.0"],
      [`https://127.0.0.1:${v4.port}/`, "127.0.0.1"],
      ["http://100.64.0.1/", "100.64.0.1"],
      ["http://10.1.2.3/", "10.1.2.3"],
      ["http://[fd00::1]/", "fd00::1"],
      ["http://[fe80::1]/", "fe80::1"],
      ["http://224.0.0.1/", "224.0.0.1"],
      [`http://127.0.0.1.nip.io:${v4.port}/`, "127.0.0.1"],
      [`http://mixed.test:${v4.port}/`, "127.0.0.1"],
      [`http://v6.test:${v6.port}/`, "::1"],
    ];
    for (const [url, ip] of cases) {
      const result = await deliver(url, { ...base, allowPrivate: false, allowHttp: true, lookup });
      expect(result, url).toMatchObject({
        ok: false,
        status: null,
        error: `refused: ${ip} is not a public address`,
      });
    }
    expect(v4.hits).toEqual([]);
    expect(v6.hits).toEqual([]);
  });

  it("refuses a name that resolves public first and loopback at connect time (DNS rebinding)", async () => {
    const r = await receiver();
    const lookup = fakeLookup({ "rebind.test": [["93.184.216.34"], ["127.0.0.1"]] });
    const result = await deliver(`http://rebind.test:${r.port}/`, {
      ...base,
      allowPrivate: false,
      allowHttp: true,
      lookup,
    });
    // The first (validation-only) lookup saw a public address; the one made while connecting did not.
    expect(lookup.calls).toEqual(["rebind.test", "rebind.test"]);
    expect(result).toMatchObject({
      ok: false,
      status: null,
      error: "refused: 127.0.0.1 is not a public address",
    });
    expect(r.hits).toEqual([]);
  });

  it("does not follow a redirect to 127.0.0.1 from an allowed server", async () => {
    const target = await receiver();
    // 127.0.0.2 stands in for a public server, by an explicit exception.
    const redirector = await receiver(
      (_q, res) => res.writeHead(302, { location: `${target.url}/secret` }).end(),
      "127.0.0.2",
    );
    const result = await deliver(`http://public.test:${redirector.port}/hook`, {
      ...base,
      allowPrivate: false,
      allowHttp: true,
      allowAddresses: ["127.0.0.2"],
      lookup: fakeLookup({ "public.test": [["127.0.0.2"]] }),
    });
    expect(result).toMatchObject({ ok: false, status: 302, error: "redirect not followed" });
    expect(redirector.hits).toHaveLength(1);
    expect(target.hits).toEqual([]);
  });

  it("refuses other schemes, credentials, and plain http unless allowed", async () => {
    const r = await receiver();
    const prod = { ...base, allowPrivate: false };
    expect((await deliver("ftp://x/", { ...prod, allowHttp: true })).error).toBe(
      "refused: ftp: URLs are not allowed",
    );
    expect((await deliver(`http://user:pass@127.0.0.1:${r.port}/`, { ...dev })).error).toBe(
      "refused: URLs with credentials are not allowed",
    );
    expect((await deliver("http://user:pass@host/", { ...prod, allowHttp: true })).error).toBe(
      "refused: URLs with credentials are not allowed",
    );
    expect((await deliver("http://example.test/", prod)).error).toBe("refused: https is required");
    expect((await deliver("not a url", prod)).error).toBe("refused: not a valid URL");
    expect(r.hits).toEqual([]);
  });

  it("reports a name that does not resolve", async () => {
    const result = await deliver("https://nowhere.test/", {
      ...base,
      allowPrivate: false,
      lookup: fakeLookup({}),
    });
    expect(result).toMatchObject({ ok: false, status: null, error: "getaddrinfo ENOTFOUND nowhere.test" });
  });
});

describe("request-filtering-agent on its own", () => {
  it("refuses a loopback answer at connect time, which is what stops DNS rebinding", async () => {
    const { RequestFilteringHttpAgent } = await import("request-filtering-agent");
    const r = await receiver();
    const err = await new Promise<Error>((ok) => {
      const req = http.request(`http://rebind.test:${r.port}/`, {
        agent: new RequestFilteringHttpAgent({ allowPrivateIPAddress: false }),
        lookup: fakeLookup({ "rebind.test": [["127.0.0.1"]] }),
      });
      req.on("error", ok);
      req.end();
    });
    expect(err.message).toMatch(/DNS lookup 127\.0\.0\.1\(family:4, host:rebind\.test\) is not allowed/);
    expect(r.hits).toEqual([]);
  });
});

describe("parseRetryAfter", () => {
  it("reads delta-seconds and HTTP dates", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:05:00 GMT", now)).toBe(300);
    expect(parseRetryAfter("Tue, 31 Dec 2024 23:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("-5", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
