import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/services.js";
import { ADMIN_TOKEN, samplePng, startTestServer, type TestServer } from "../helpers/server.js";

/**
 * The server's own logger (its redaction included) at the info level, writing into memory: every line is
 * JSON, each request's lines carry its request id, and no key, token, source image or image byte appears.
 */
describe("logs", () => {
  const lines: string[] = [];
  let srv: TestServer;
  let key: string;

  beforeAll(async () => {
    const log = createLogger(loadConfig({ LOG_LEVEL: "info", ZEKRON_DATA_DIR: "unused" }), {
      write: (chunk: string) => void lines.push(...chunk.split("\n").filter(Boolean)),
    });
    srv = await startTestServer({ log });
    ({ key } = await srv.tenant("10.00"));
  });
  afterAll(() => srv.stop());

  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const linesOf = (reqId: string | null) => parsed().filter((l) => l.reqId === reqId);

  it("writes one JSON line per request, with its request id (the client's own when it sends a valid one)", async () => {
    const res = await srv.api(key, "GET", "/v1/balance", undefined, { "x-request-id": "client-trace-42" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("client-trace-42");
    const mine = linesOf("client-trace-42");
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ msg: "request", method: "GET", url: "/v1/balance", status: 200 });
    expect(typeof mine[0]!.tenant).toBe("string");

    const own = await srv.api(key, "GET", "/v1/balance", undefined, { "x-request-id": "bad id with spaces" });
    const id = own.headers.get("x-request-id");
    expect(id).toMatch(/^req_/);
    expect(linesOf(id)).toHaveLength(1);
  });

  it("ties an error's reference to the lines of its request", async () => {
    const res = await srv.api(key, "POST", "/v1/generate", { size: "256x256" });
    expect(res.status).toBe(400);
    const reference = ((await res.json()) as { error: { reference: string } }).error.reference;
    const mine = linesOf(res.headers.get("x-request-id"));
    expect(mine.map((l) => l.msg)).toContain("request");
    expect(mine.find((l) => l.reference === reference)).toMatchObject({
      code: "missing_prompt",
      status: 400,
    });
  });

  it("never writes a key, the admin token, a source image or image bytes", async () => {
    const source = (await samplePng(80, 60)).toString("base64");
    const res = await srv.api(key, "POST", "/v1/generate", {
      prompt: "Make it look like winter with snow",
      images: [{ data: source, mime_type: "image/png" }],
      size: "256x256",
    });
    expect(res.status).toBe(200);
    const image = ((await res.json()) as { data: { image: { b64_json: string } } }).data.image.b64_json;
    // Another key: its last character changed (to one it is not, or the "bad" key would be the key).
    const badKey = key.slice(0, -1) + (key.endsWith("x") ? "y" : "x");
    const bad = await srv.api(badKey, "GET", "/v1/balance");
    expect(bad.status).toBe(401);
    expect((await srv.admin("GET", "/admin/v1/tenants")).status).toBe(200);
    expect(lines.length).toBeGreaterThan(3);
    const all = lines.join("\n");
    for (const secret of [key, key.slice(8), badKey, ADMIN_TOKEN]) {
      expect(all).not.toContain(secret);
    }
    // Any 40 characters of either image would betray it.
    expect(all).not.toContain(source.slice(100, 140));
    expect(all).not.toContain(image.slice(100, 140));
    for (const l of parsed()) expect(typeof l.level).toBe("number");
  });

  it("never writes a signed link's signature, however the query spells or repeats it", async () => {
    const res = await srv.api(key, "POST", "/v1/generate", { prompt: "a lighthouse", size: "256x256" });
    const signed = new URL(
      ((await res.json()) as { data: { image: { signed_url: string } } }).data.image.signed_url,
    );
    const signature = signed.searchParams.get("signature")!;
    const expires = signed.searchParams.get("expires")!;
    const path = signed.pathname;
    const variants = [
      `${path}?expires=${expires}&signature=${signature}`,
      `${path}?expires=${expires}&%73ignature=${signature}`,
      `${path}?expires=${expires}&%73%69%67%6e%61%74%75%72%65=${signature}`,
      `${path}?signature=a&signature=${signature}&expires=${expires}`,
      `${path}?signature=${signature}&signature=b&expires=${expires}`,
      `${path}?expires=${expires}&Signature=${signature}`,
    ];
    for (const [i, variant] of variants.entries()) {
      const got = await fetch(srv.url + variant, { headers: { "x-request-id": `sig-${i}` } });
      // The first three are the link itself; the others are refused, and must not be logged either.
      if (i < 3) expect(got.status, variant).toBe(200);
      const mine = linesOf(`sig-${i}`).find((l) => l.msg === "request");
      expect(mine, variant).toBeDefined();
      expect(mine!.url).toContain(path);
      expect(mine!.url).toContain(`expires=${expires}`);
    }
    expect(lines.join("\n")).not.toContain(signature);
  });

  it("never writes a key put in the query string, though it is refused there", async () => {
    for (const [i, name] of ["api_key", "key", "x-api-key", "token"].entries()) {
      const got = await fetch(`${srv.url}/v1/balance?${name}=${key}`, {
        headers: { "x-request-id": `q-${i}` },
      });
      expect(got.status).toBe(401);
      const mine = linesOf(`q-${i}`).find((l) => l.msg === "request");
      expect(mine!.url).toBe(`/v1/balance?${name}=[redacted]`);
    }
    expect(lines.join("\n")).not.toContain(key);
  });

  it("answers a failure nobody foresaw with 500 internal_error, its detail in the log only", async () => {
    const tenants = srv.services.tenants;
    const original = tenants.balance.bind(tenants);
    tenants.balance = () => {
      throw new Error("boom: the detail of a bug");
    };
    let res: Response;
    try {
      res = await srv.api(key, "GET", "/v1/balance", undefined, { "x-request-id": "boom-1" });
    } finally {
      tenants.balance = original;
    }
    expect(res.status).toBe(500);
    const text = await res.text();
    const body = JSON.parse(text) as {
      success: boolean;
      error: { code: string; message: string; reference: string };
    };
    expect(body.success).toBe(false);
    expect(body.error.code).toBe("internal_error");
    expect(body.error.reference).toMatch(/^INTERNAL_ERROR_/);
    expect(text).not.toContain("boom");
    // The log has what happened, tied to the request and to the reference the client was given.
    const mine = linesOf("boom-1");
    const unhandled = mine.find((l) => l.msg === "unhandled error") as
      { err?: { message: string } } | undefined;
    expect(unhandled?.err?.message).toBe("boom: the detail of a bug");
    expect(mine.some((l) => l.reference === body.error.reference && l.level === 50)).toBe(true);
    // And the server goes on.
    expect((await srv.api(key, "GET", "/v1/balance")).status).toBe(200);
  });

  it("never writes a key put in the path or a body value, nor a client's value of any length", async () => {
    const inPath = await srv.api(key, "GET", `/v1/generate/${key}`, undefined, { "x-request-id": "p-1" });
    expect(inPath.status).toBe(404);
    // A key pasted as the model, and a 3 KB value as the size.
    const generate = (body: object, reqId: string) =>
      srv.api(key, "POST", "/v1/generate", { prompt: "x", ...body }, { "x-request-id": reqId });
    expect((await generate({ model: key }, "p-2")).status).toBe(400);
    const huge = "A".repeat(3000);
    const asSize = await generate({ size: huge }, "p-3");
    expect(asSize.status).toBe(400);
    const body = (await asSize.json()) as { error: { message: string } };
    expect(body.error.message.length).toBeLessThan(300);
    const mine = [...linesOf("p-1"), ...linesOf("p-2"), ...linesOf("p-3")];
    expect(mine.length).toBeGreaterThanOrEqual(6);
    const text = JSON.stringify(mine);
    expect(text).not.toContain(key);
    expect(text).toContain("zk_live_[redacted]");
    expect(text).not.toContain("A".repeat(600));
    expect(lines.join("\n")).not.toContain(key);
  });
});
