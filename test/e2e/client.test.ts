import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import sharp from "sharp";
import {
  ZekronClient,
  ZekronError,
  parseSse,
  retryAfterMs,
  type Job,
  type RetryInfo,
} from "../../src/client/index.js";
import { ADMIN_TOKEN, samplePng, startTestServer, type TestServer } from "../helpers/server.js";
import { GatedEngine } from "../helpers/engines.js";

const REFERENCE = /^[A-Z_]+_[A-Z2-9]{6}_\d+$/;

async function rejection(p: Promise<unknown>): Promise<ZekronError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ZekronError);
  return err as ZekronError;
}

async function meta(bytes: Buffer) {
  const m = await sharp(bytes).metadata();
  return [m.format, m.width, m.height];
}

/** A plain HTTP server on a free port, answering with `handle`. */
async function httpServer(handle: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let n = 0;
  const seen: { method: string; url: string; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, body });
      handle(req, res, ++n);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function closedPort(): Promise<number> {
  const s = await httpServer(() => undefined);
  const port = Number(new URL(s.url).port);
  await s.close();
  return port;
}

describe("ZekronClient against a running server", () => {
  let srv: TestServer;
  const engine = new GatedEngine();
  let admin: ZekronClient;
  let api: ZekronClient;
  let hooks: Awaited<ReturnType<typeof httpServer>>;

  beforeAll(async () => {
    engine.open = true;
    srv = await startTestServer({ engine, env: { ZEKRON_WEBHOOK_ALLOW_PRIVATE: "true" } });
    hooks = await httpServer((_req, res) => res.writeHead(200).end("ok"));
    admin = new ZekronClient({ baseUrl: srv.url, adminToken: ADMIN_TOKEN });
    const created = await admin.admin.tenants.create({
      name: "Client Co",
      balance: "5.00",
      max_concurrent: 50,
    });
    api = new ZekronClient({ baseUrl: srv.url + "/", apiKey: created.api_key });
  });
  afterAll(async () => {
    engine.release();
    await hooks.close();
    await srv.stop();
  });

  it("admin: tenants create/list/get/patch/credit, createKey/revokeKey, engines", async () => {
    const created = await admin.admin.tenants.create({ name: "Other", balance: "1.50" });
    expect(created.tenant).toMatchObject({ name: "Other", balance: "1.5000", suspended: false });
    expect(created.api_key).toMatch(/^zk_live_/);

    const page = await admin.admin.tenants.list({ limit: 1 });
    expect(page.tenants).toHaveLength(1);
    expect(page.pagination).toMatchObject({ total: 2, limit: 1, offset: 0, has_more: true });

    const detail = await admin.admin.tenants.get(created.tenant.id);
    expect(detail.tenant.id).toBe(created.tenant.id);
    expect(detail.keys.map((k) => k.id)).toEqual([created.key.id]);

    const patched = await admin.admin.tenants.patch(created.tenant.id, {
      rate_limit_per_minute: 120,
      daily_image_allowance: 3,
    });
    expect(patched).toMatchObject({ rate_limit_per_minute: 120, daily_image_allowance: 3 });

    const credited = await admin.admin.tenants.credit(created.tenant.id, "2.25", "goodwill");
    expect(credited).toEqual({
      tenant_id: created.tenant.id,
      amount: "2.2500",
      reason: "goodwill",
      balance: "3.7500",
    });
    const corrected = await admin.admin.tenants.credit(created.tenant.id, -0.75);
    expect(corrected).toMatchObject({ amount: "-0.7500", reason: "correction", balance: "3.0000" });

    const extra = await admin.admin.createKey(created.tenant.id, { name: "backend" });
    expect(extra.key.name).toBe("backend");
    const other = new ZekronClient({ baseUrl: srv.url, apiKey: extra.api_key });
    expect((await other.balance()).balance).toBe("3.0000");
    await admin.admin.revokeKey(created.tenant.id, extra.key.id);
    const revoked = await rejection(other.balance());
    expect(revoked).toMatchObject({ status: 401, code: "invalid_api_key", isAuthError: true });
    expect(revoked.reference).toMatch(REFERENCE);

    const engines = await admin.admin.engines({ probe: true });
    expect(engines.length).toBeGreaterThan(0);
    expect(engines[0]).toMatchObject({ kind: "local", healthy: true });

    // The admin routes refuse an API key, and the key routes answer without one as 401.
    const wrong = await rejection(api.admin.tenants.list());
    expect(wrong.isAuthError).toBe(true);
    const none = await rejection(new ZekronClient({ baseUrl: srv.url }).balance());
    expect(none).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("generate (create, edit from a Buffer, zero retention, Idempotency-Key), getImage, balance, generations", async () => {
    const before = await api.balance();
    const gen = await api.generate({ prompt: "A lighthouse on a cliff at dawn", size: "512x512", seed: 42 });
    expect(gen).toMatchObject({ type: "create", size: "512x512", seed: 42, model: "zekron-image-1" });
    expect(await meta(Buffer.from(gen.image.b64_json, "base64"))).toEqual(["png", 512, 512]);

    const bytes = await api.getImage(gen.token!);
    expect(bytes.equals(Buffer.from(gen.image.b64_json, "base64"))).toBe(true);
    // The signed link works without a key, and so does the key-bearing URL with this client's key.
    const keyless = new ZekronClient({ baseUrl: srv.url });
    expect((await keyless.getImage(gen.image.signed_url!)).equals(bytes)).toBe(true);
    expect((await api.getImage(gen.image.url!)).equals(bytes)).toBe(true);
    const missing = await rejection(api.getImage("no-such-token"));
    expect(missing).toMatchObject({ status: 404, code: "not_found" });

    const source = await samplePng(64, 48);
    const edit = await api.generate({ prompt: "Make it winter", size: "256x256", images: [source] });
    expect(edit.type).toBe("edit");

    const ephemeral = await api.generate({ prompt: "not kept", size: "256x256" }, { store: false });
    expect(ephemeral.token).toBeNull();
    expect(ephemeral.image.url).toBeNull();

    const once = await api.generate(
      { prompt: "only once", size: "256x256" },
      { idempotencyKey: "client-k1" },
    );
    const again = await api.generate(
      { prompt: "only once", size: "256x256" },
      { idempotencyKey: "client-k1" },
    );
    expect(again.id).toBe(once.id);
    const mismatch = await rejection(
      api.generate({ prompt: "different", size: "256x256" }, { idempotencyKey: "client-k1" }),
    );
    expect(mismatch).toMatchObject({ status: 422, code: "idempotency_mismatch" });

    const after = await api.balance();
    expect(after.total_generations).toBe(before.total_generations + 4);
    expect(Number(after.balance)).toBeLessThan(Number(before.balance));

    const edits = await api.generations({ type: "edit" });
    expect(edits.generations.map((g) => g.id)).toEqual([edit.id]);
    const page = await api.generations({ limit: 2, offset: 1 });
    expect(page.pagination).toMatchObject({ limit: 2, offset: 1, has_more: true });
    expect(page.generations).toHaveLength(2);
  });

  it("preview, models, usage", async () => {
    const p = await api.preview("zekron-image-1", "A futuristic city at night", {
      size: "512x512",
      negative_prompt: "blurry",
    });
    expect(p.id).toMatch(/^img_\d+$/);
    expect(p.model).toBe("zekron-image-1:image-preview");
    expect(typeof p.cost).toBe("number");
    const img = await api.getImage(p.url!);
    expect(await meta(img)).toEqual(["png", 512, 512]);

    const models = await api.models();
    expect(models.map((m) => m.id)).toContain("zekron-image-1");
    expect(models.find((m) => m.id === "zekron-image-1")).toMatchObject({
      status: "ga",
      supports_edit: true,
    });

    const usage = await api.usage();
    expect(usage.today.images).toBeGreaterThan(0);
    expect(usage.limits.max_concurrent).toBe(50);
  });

  it("submitJob (202 and Prefer: wait), getJob, jobEvents live, waitForJob, listJobs with its cursor, allJobs", async () => {
    engine.open = false;
    const queued = await api.submitJob({
      prompt: "A neon-lit alley in Tokyo at dusk",
      width: 512,
      height: 256,
    });
    expect(queued).toMatchObject({ status: "queued", kind: "image" });
    const id = queued.job_id;

    const seen: Job[] = [];
    const following = (async () => {
      for await (const job of api.jobEvents(id)) {
        seen.push(job);
        if (seen.length === 1) engine.release();
      }
    })();
    await following;
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen[0]!.status).not.toBe("completed");
    expect(seen.at(-1)).toMatchObject({ job_id: id, status: "completed", progress: 1, size: "512x256" });

    const got = await api.getJob(id);
    expect(got.status).toBe("completed");
    expect(await meta(await api.getImage(got.result_url!))).toEqual(["png", 512, 256]);

    const updates: Job[] = [];
    const next = await api.submitJob({ prompt: "a red bicycle", size: "256x256" });
    const done = await api.waitForJob(next.job_id, { onUpdate: (j) => updates.push(j), timeoutMs: 20_000 });
    expect(done.status).toBe("completed");
    expect(updates.at(-1)!.status).toBe("completed");
    // Waiting on a finished job answers at once.
    expect((await api.waitForJob(id)).status).toBe("completed");

    const waited = await api.submitJob({ prompt: "ready in time", width: 256, height: 256 }, { wait: 20 });
    expect(waited).toMatchObject({ status: "completed", progress: 1 });
    expect((waited as Job).result_url).toMatch(/^http/);

    const first = await api.listJobs({ limit: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.has_more).toBe(true);
    const second = await api.listJobs({ limit: 2, cursor: first.next_cursor! });
    // A cursor the server ignored would give the first page again.
    const firstIds = new Set(first.data.map((j) => j.job_id));
    expect(second.data.length).toBeGreaterThan(0);
    expect(second.data.some((j) => firstIds.has(j.job_id))).toBe(false);
    const completed = [];
    for await (const job of api.allJobs({ status: "completed", limit: 2 })) completed.push(job.job_id);
    expect(completed).toEqual(expect.arrayContaining([id, next.job_id, waited.job_id]));
    expect(new Set(completed).size).toBe(completed.length);
  });

  it("cancelJob refunds a running job; the event stream ends with canceled; unknown ids are 404", async () => {
    engine.open = false;
    const before = await api.balance();
    const job = await api.submitJob({ prompt: "never finished", size: "256x256" });
    for await (const j of api.jobEvents(job.job_id)) if (j.status === "running") break;
    const gaveUp = await api.waitForJob(job.job_id, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(gaveUp).toMatchObject({ name: "TimeoutError" });
    await api.cancelJob(job.job_id);
    const final = await api.waitForJob(job.job_id);
    expect(final).toMatchObject({ status: "canceled", cost: "0.0000" });
    expect((await api.balance()).balance).toBe(before.balance);
    engine.release();

    expect(await rejection(api.getJob("job_nope"))).toMatchObject({ status: 404, code: "not_found" });
    expect(await rejection(api.cancelJob("job_nope"))).toMatchObject({ status: 404, code: "not_found" });
    const events = api.jobEvents("job_nope");
    expect(await rejection(events.next())).toMatchObject({ status: 404, code: "not_found" });
  });

  it("webhooks: create, list, test, deliveries, defaultSecret, delete", async () => {
    const hook = await api.webhooks.create({ url: `${hooks.url}/zekron`, events: ["job.completed"] });
    expect(hook.secret).toMatch(/^whsec_/);
    expect((await api.webhooks.list()).map((h) => h.id)).toEqual([hook.id]);

    const test = await api.webhooks.test(hook.id);
    expect(test).toMatchObject({ ok: true, status: 200 });
    expect(hooks.seen.some((r) => r.url === "/zekron" && r.body.includes("webhook.test"))).toBe(true);

    const deliveries = await api.webhooks.deliveries(hook.id, { limit: 10 });
    expect(deliveries[0]).toMatchObject({ id: test.delivery.id, event: "webhook.test", status: "delivered" });

    expect(await api.webhooks.rotateDefaultSecret()).toMatch(/^whsec_/);
    await api.webhooks.delete(hook.id);
    expect(await api.webhooks.list()).toEqual([]);
    expect(await rejection(api.webhooks.delete(hook.id))).toMatchObject({ status: 404, code: "not_found" });
  });

  it("keys: create, list, revoke, rotate", async () => {
    const made = await api.keys.create({
      name: "ci",
      scopes: ["read"],
      expires_at: "2099-01-01T00:00:00+00:00",
    });
    expect(made.key).toMatchObject({ name: "ci", scopes: ["read"], expires_at: "2099-01-01T00:00:00+00:00" });
    const ci = new ZekronClient({ baseUrl: srv.url, apiKey: made.api_key });
    expect((await ci.balance()).currency).toBe("USD");
    const denied = await rejection(ci.generate({ prompt: "x", size: "256x256" }));
    expect(denied).toMatchObject({ status: 403, code: "access_denied", isAuthError: true });

    expect((await api.keys.list()).map((k) => k.id)).toContain(made.key.id);
    await api.keys.revoke(made.key.id);
    expect((await api.keys.list()).find((k) => k.id === made.key.id)!.revoked_at).not.toBeNull();

    const spare = await api.keys.create({ name: "to-rotate" });
    const spareClient = new ZekronClient({ baseUrl: srv.url, apiKey: spare.api_key });
    const rotated = await spareClient.keys.rotate({ grace_seconds: 0 });
    expect(rotated.key.name).toBe("to-rotate");
    expect(rotated.old_key_expires_at).toMatch(/\+00:00$/);
    expect(await rejection(spareClient.balance())).toMatchObject({ status: 401, code: "invalid_api_key" });
    expect((await new ZekronClient({ baseUrl: srv.url, apiKey: rotated.api_key }).balance()).currency).toBe(
      "USD",
    );
  });

  it("images.generations and images.edits (OpenAI shapes; errors in OpenAI's envelope still a ZekronError)", async () => {
    const gen = await api.images.generations({ prompt: "A watercolor fox", size: "256x256", n: 2 });
    expect(gen.data).toHaveLength(2);
    expect(gen.size).toBe("256x256");
    const first = gen.data[0]!;
    expect("b64_json" in first && (await meta(Buffer.from(first.b64_json, "base64")))).toEqual([
      "png",
      256,
      256,
    ]);

    const one = await samplePng(64, 64);
    const two = await samplePng(32, 32, { r: 10, g: 200, b: 30 });
    const edited = await api.images.edits({ image: one, prompt: "Make it a stormy night", size: "256x256" });
    expect(edited.data).toHaveLength(1);
    const combined = await api.images.edits({
      image: [one, two],
      prompt: "Blend them",
      size: "256x256",
      response_format: "url",
    });
    const link = combined.data[0]!;
    expect("url" in link && (await meta(await api.getImage(link.url)))).toEqual(["png", 256, 256]);

    const bad = await rejection(api.images.generations({ prompt: "x", size: "3x3" }));
    expect(bad).toMatchObject({
      status: 400,
      code: "invalid_size",
      type: "invalid_request_error",
      param: "size",
    });
    expect(bad.reference).toBeNull();
    expect(bad.requestId).toMatch(/^req_/);
  });

  it("a ZekronError carries the status, code, message, suggestion and a unique reference", async () => {
    const poor = await admin.admin.tenants.create({ name: "Poor", balance: "0.01" });
    const client = new ZekronClient({ baseUrl: srv.url, apiKey: poor.api_key });
    const err = await rejection(client.generate({ prompt: "A castle", size: "1024x1024" }));
    expect(err).toMatchObject({ name: "ZekronError", status: 402, code: "insufficient_balance" });
    expect(err.message).toMatch(/^Not enough balance/);
    expect(err.suggestion).toBeTruthy();
    expect(err.reference).toMatch(/^INSUFFICIENT_BALANCE_[A-Z2-9]{6}_\d+$/);
    const again = await rejection(client.generate({ prompt: "A castle", size: "1024x1024" }));
    expect(again.reference).not.toBe(err.reference);
    expect(await rejection(client.generate({ prompt: " " }))).toMatchObject({
      status: 400,
      code: "missing_prompt",
    });
  });
});

describe("ZekronClient retries", () => {
  it("waits for Retry-After on 429 (rate_limit_exceeded) and then succeeds; maxRetries 0 throws at once", async () => {
    // The limiter's windows are whole minutes of the server's clock; this clock puts the end of the current
    // window 2.5 s ahead, so the Retry-After is short and the wait real.
    let shift = 0;
    const clock = { now: () => Date.now() + shift };
    const srv = await startTestServer({ clock, env: { ZEKRON_RATE_LIMIT_PER_MINUTE: "2" } });
    try {
      const { key } = await srv.tenant("1.00");
      shift = 57_500 - (Date.now() % 60_000);
      const retries: RetryInfo[] = [];
      const patient = new ZekronClient({
        baseUrl: srv.url,
        apiKey: key,
        maxRetries: 2,
        onRetry: (r) => retries.push(r),
      });
      const impatient = new ZekronClient({ baseUrl: srv.url, apiKey: key, maxRetries: 0 });
      await patient.balance();
      await patient.models();

      const refused = await rejection(impatient.balance());
      expect(refused).toMatchObject({ status: 429, code: "rate_limit_exceeded" });
      expect(refused.reference).toMatch(/^RATE_LIMIT_EXCEEDED_/);
      expect(refused.retryAfterMs).toBeGreaterThanOrEqual(1000);

      const started = Date.now();
      const balance = await patient.balance();
      const waited = Date.now() - started;
      expect(balance.balance).toBe("1.0000");
      expect(retries).toHaveLength(1);
      expect(retries[0]).toMatchObject({ attempt: 1, method: "GET" });
      expect(retries[0]!.error).toMatchObject({ status: 429, code: "rate_limit_exceeded" });
      expect(retries[0]!.delayMs).toBe(retries[0]!.error.retryAfterMs);
      expect(retries[0]!.delayMs % 1000).toBe(0);
      expect(waited).toBeGreaterThanOrEqual(retries[0]!.delayMs - 50);
    } finally {
      await srv.stop();
    }
  });

  it("503 with an HTTP-date Retry-After is retried; quota_exceeded and 500 are not; nor is a POST without a connection", async () => {
    const fake = await httpServer((req, res, n) => {
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
      if (req.url === "/v1/balance") {
        if (n === 1) {
          return json(
            503,
            { success: false, error: { code: "service_unavailable", message: "busy" } },
            {
              "retry-after": new Date(Date.now() + 1500).toUTCString(),
            },
          );
        }
        return json(200, { success: true, data: { balance: "1.0000" } });
      }
      if (req.url === "/v1/usage") {
        return json(429, { success: false, error: { code: "quota_exceeded", message: "allowance used up" } });
      }
      return res.writeHead(500, { "content-type": "text/html" }).end("<h1>oops</h1>");
    });
    try {
      const retries: RetryInfo[] = [];
      const client = new ZekronClient({ baseUrl: fake.url, apiKey: "k", onRetry: (r) => retries.push(r) });
      expect(await client.balance()).toEqual({ balance: "1.0000" });
      expect(retries).toHaveLength(1);
      expect(retries[0]!.error).toMatchObject({ status: 503, code: "service_unavailable" });
      // The wait came from the HTTP-date Retry-After, not from the fallback backoff.
      expect(retries[0]!.error).toBeInstanceOf(ZekronError);
      const hinted = (retries[0]!.error as ZekronError).retryAfterMs;
      expect(hinted).not.toBeNull();
      expect(retries[0]!.delayMs).toBe(hinted);

      expect(await rejection(client.usage())).toMatchObject({ status: 429, code: "quota_exceeded" });
      const html = await rejection(client.models());
      expect(html).toMatchObject({ status: 500, code: "http_error" });
      expect(html.message).toContain("oops");
      expect(retries).toHaveLength(1);
      expect(fake.seen.filter((r) => r.url === "/v1/usage")).toHaveLength(1);
    } finally {
      await fake.close();
    }

    const port = await closedPort();
    const retries: RetryInfo[] = [];
    const client = new ZekronClient({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: "k",
      maxRetries: 1,
      onRetry: (r) => retries.push(r),
    });
    const down = await rejection(client.balance());
    expect(down).toMatchObject({ status: 0, code: "connection_error", isConnectionError: true });
    expect(retries).toHaveLength(1);
    const post = await rejection(client.generate({ prompt: "x" }));
    expect(post.code).toBe("connection_error");
    expect(retries).toHaveLength(1);
  });

  it("Retry-After: delay-seconds, an HTTP date, or nothing usable", () => {
    const now = Date.parse("2026-06-01T12:00:00Z");
    expect(retryAfterMs("3", now)).toBe(3000);
    expect(retryAfterMs("Mon, 01 Jun 2026 12:00:05 GMT", now)).toBe(5000);
    expect(retryAfterMs("Mon, 01 Jun 2026 11:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});

describe("parseSse", () => {
  it("reads events split anywhere, CRLF line ends, comments and multi-line data", async () => {
    const text =
      ': keep-alive\r\n\r\nid: 1\r\nevent: job\r\ndata: {"a":\r\ndata: 1}\r\n\r\ndata: plain\n\nevent: x\ndata: cut';
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(ctl) {
        // One byte at a time: every split point, \r apart from \n included.
        for (const b of bytes) ctl.enqueue(new Uint8Array([b]));
        ctl.close();
      },
    });
    const events = [];
    for await (const e of parseSse(stream)) events.push(e);
    expect(events).toEqual([
      { event: "job", data: '{"a":\n1}', id: "1" },
      { event: "message", data: "plain", id: "1" },
    ]);
  });
});
