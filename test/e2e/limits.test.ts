import { afterEach, describe, expect, it } from "vitest";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { FailingEngine, GatedEngine } from "../helpers/engines.js";

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
});

async function code(res: Response) {
  return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code };
}

describe("limits", () => {
  it("rate limit: X-RateLimit-* on every response, 429 with Retry-After past the limit", async () => {
    srv = await startTestServer();
    const t = await srv.tenant("1.00", { rate_limit_per_minute: 3 });
    for (let i = 0; i < 3; i++) {
      const r = await srv.api(t.key, "GET", "/v1/balance");
      expect(r.status).toBe(200);
      expect(r.headers.get("x-ratelimit-limit")).toBe("3");
      expect(r.headers.get("x-ratelimit-remaining")).toBe(String(2 - i));
      expect(Number(r.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000 - 1);
    }
    const over = await srv.api(t.key, "GET", "/v1/balance");
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(over.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(await code(over)).toEqual({ status: 429, code: "rate_limit_exceeded" });
  });

  it("counts and answers with the key's limits on every route it is sent to: 404, 405, health, errors", async () => {
    srv = await startTestServer();
    const t = await srv.tenant("1.00", { rate_limit_per_minute: 6 });
    const asked: [string, string, number][] = [
      ["GET", "/nope", 404],
      ["POST", "/v1/balance", 405],
      ["GET", "/v1/images/generations", 405],
      ["GET", "/healthz", 200],
      ["POST", "/v1/generate", 400],
    ];
    for (const [i, [method, path, status]] of asked.entries()) {
      const r = await srv.api(t.key, method, path, method === "POST" ? {} : undefined);
      expect([path, r.status]).toEqual([path, status]);
      expect(r.headers.get("x-ratelimit-limit")).toBe("6");
      expect(r.headers.get("x-ratelimit-remaining")).toBe(String(5 - i));
      await r.arrayBuffer();
    }
    // The sixth is the last; past it, even a path with no route is refused for the key's rate.
    expect((await srv.api(t.key, "GET", "/v1/balance")).status).toBe(200);
    expect(await code(await srv.api(t.key, "GET", "/nope"))).toEqual({
      status: 429,
      code: "rate_limit_exceeded",
    });
    // Without a key, or with one that is not valid, there is no key to count: the route's own answer.
    const anonymous = await fetch(`${srv.url}/nope`);
    expect(anonymous.status).toBe(404);
    expect(anonymous.headers.get("x-ratelimit-limit")).toBeNull();
    const badKey = await fetch(`${srv.url}/nope`, {
      headers: { authorization: "Bearer zk_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
    });
    expect(badKey.status).toBe(404);
    expect(badKey.headers.get("x-ratelimit-limit")).toBeNull();
  });

  it("concurrency limit per key, and quota_exceeded for the daily allowance", async () => {
    const engine = new GatedEngine();
    srv = await startTestServer({ engine });
    const t = await srv.tenant("1.00", { max_concurrent: 2 });
    const inflight = [0, 1].map(() =>
      srv!.api(t.key, "POST", "/v1/generate", { prompt: "x", size: "256x256" }),
    );
    while (engine.started < 2) await sleep(10);
    expect(
      await code(await srv.api(t.key, "POST", "/v1/generate", { prompt: "x", size: "256x256" })),
    ).toEqual({
      status: 429,
      code: "concurrency_limit_exceeded",
    });
    // Reads are not generations and still pass.
    expect((await srv.api(t.key, "GET", "/v1/balance")).status).toBe(200);
    engine.release();
    expect((await Promise.all(inflight)).map((r) => r.status)).toEqual([200, 200]);

    await srv.admin("PATCH", `/admin/v1/tenants/${t.id}`, { daily_image_allowance: 2 });
    expect(
      await code(await srv.api(t.key, "POST", "/v1/generate", { prompt: "x", size: "256x256" })),
    ).toEqual({
      status: 429,
      code: "quota_exceeded",
    });
  });

  it("key_suspended when the admin suspends the tenant, at once", async () => {
    srv = await startTestServer();
    const t = await srv.tenant("1.00");
    expect((await srv.api(t.key, "GET", "/v1/balance")).status).toBe(200);
    await srv.admin("PATCH", `/admin/v1/tenants/${t.id}`, { suspended: true });
    expect(await code(await srv.api(t.key, "GET", "/v1/balance"))).toEqual({
      status: 403,
      code: "key_suspended",
    });
  });
});

describe("failures are refunded and nothing hangs", () => {
  it("generation_failed refunds the hold", async () => {
    const engine = new FailingEngine();
    srv = await startTestServer({ engine });
    const t = await srv.tenant("1.00");
    const res = await srv.api(t.key, "POST", "/v1/generate", { prompt: "x", size: "256x256" });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(500);
    expect(body.error.code).toBe("generation_failed");
    // The engine's own words are for the operator's log, not the tenant.
    expect(body.error.message).toBe("Image generation failed: the backend could not make this image");
    const bal = (await (await srv.api(t.key, "GET", "/v1/balance")).json()) as {
      data: { balance: string; total_generations: number };
    };
    expect(bal.data).toMatchObject({ balance: "1.0000", total_generations: 0 });
    const hist = (await (await srv.api(t.key, "GET", "/v1/generations")).json()) as {
      data: { generations: { status: string; cost: string }[] };
    };
    expect(hist.data.generations[0]).toMatchObject({ status: "failed", cost: "0.0000" });
  });

  it("an engine that outlives its timeout fails the job with a refund", async () => {
    const engine = new GatedEngine();
    srv = await startTestServer({ engine, env: { ZEKRON_ENGINE_TIMEOUT_SECONDS: "1" } });
    const t = await srv.tenant("1.00");
    const res = await srv.api(t.key, "POST", "/v1/generate", { prompt: "x", size: "256x256" });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect([res.status, body.error.code]).toEqual([500, "generation_failed"]);
    expect(body.error.message).toContain("did not finish within 1 s");
    const bal = (await (await srv.api(t.key, "GET", "/v1/balance")).json()) as { data: { balance: string } };
    expect(bal.data.balance).toBe("1.0000");
    engine.release();
  });

  it("generation_timeout: the sync wait ends with 504, the job goes on and lands in history", async () => {
    const engine = new GatedEngine();
    srv = await startTestServer({ engine, env: { ZEKRON_SYNC_TIMEOUT_SECONDS: "1" } });
    const t = await srv.tenant("1.00");
    const res = await srv.api(t.key, "POST", "/v1/generate", { prompt: "x", size: "256x256" });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect([res.status, body.error.code]).toEqual([504, "generation_timeout"]);
    expect(body.error.message).toMatch(/job job_/);
    engine.release();
    await expect
      .poll(async () => {
        const h = (await (await srv!.api(t.key, "GET", "/v1/generations")).json()) as {
          data: { generations: { status: string }[] };
        };
        return h.data.generations[0]?.status;
      })
      .toBe("completed");
  });

  it("a client that goes away gives back its concurrency slot at once", async () => {
    const engine = new GatedEngine();
    srv = await startTestServer({ engine });
    const t = await srv.tenant("1.00", { max_concurrent: 1 });
    const gen = (prompt: string, signal?: AbortSignal) =>
      fetch(`${srv!.url}/v1/generate`, {
        method: "POST",
        signal,
        headers: { authorization: `Bearer ${t.key}`, "content-type": "application/json" },
        body: JSON.stringify({ prompt, size: "256x256" }),
      });
    const ctl = new AbortController();
    const first = gen("first", ctl.signal).catch((e: unknown) => e);
    while (engine.started < 1) await sleep(10);
    expect(await code(await gen("refused"))).toEqual({ status: 429, code: "concurrency_limit_exceeded" });
    ctl.abort();
    await first;
    // The first job still runs on the engine, but its client is gone: the key may start another (the
    // server learns of the hang-up a moment later, so a 429 in between is asked again).
    let second: Promise<Response> | undefined;
    for (let i = 0; i < 40 && !second; i++) {
      const attempt = gen("second");
      const quick = await Promise.race([attempt, sleep(100)]);
      if (quick?.status === 429) await quick.text();
      else second = attempt;
    }
    while (engine.started < 2) await sleep(10);
    engine.release();
    expect(await code(await second!)).toEqual({ status: 200, code: undefined });
  });

  it("a client that pipelines six generations and hangs up gives back every slot", async () => {
    const engine = new GatedEngine();
    srv = await startTestServer({ engine });
    const t = await srv.tenant("1.00", { max_concurrent: 6 });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    const request = (prompt: string) => {
      const body = JSON.stringify({ prompt, size: "256x256" });
      return (
        `POST /v1/generate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.key}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      );
    };
    const socket = net.connect(Number(new URL(srv.url).port), "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    socket.on("error", () => undefined);
    // The later answers wait behind the first: Node gives them no 'close' when the client goes.
    socket.write(["1", "2", "3", "4", "5", "6"].map(request).join(""));
    // All six admitted: two on the engine (the local engine's concurrency), four queued.
    const q = srv.services.queue;
    while (q.running() + q.depth() < 6) await sleep(10);
    socket.destroy();
    engine.release();
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      const res = await srv.api(t.key, "POST", "/v1/generate", { prompt: "after", size: "256x256" });
      status = res.status;
      await res.text();
      if (status !== 200) await sleep(50);
    }
    expect(status).toBe(200);
    // Every slot, not one: six at once pass.
    const six = await Promise.all(
      ["a", "b", "c", "d", "e", "f"].map((p) =>
        srv!.api(t.key, "POST", "/v1/generate", { prompt: p, size: "256x256" }),
      ),
    );
    expect(await Promise.all(six.map(async (r) => (await r.text(), r.status)))).toEqual(Array(6).fill(200));
    process.off("warning", onWarning);
    // One listener per connection, not one per pipelined request (Node warns past ten).
    expect(warnings).not.toContain("MaxListenersExceededWarning");
  });

  it("a client that disconnects does not lose its image: it shows in history", async () => {
    const engine = new GatedEngine();
    srv = await startTestServer({ engine });
    const t = await srv.tenant("1.00");
    const ctl = new AbortController();
    const pending = srv
      .api(t.key, "POST", "/v1/generate", { prompt: "a lighthouse", size: "256x256" })
      .catch((e: unknown) => e);
    void pending;
    const aborted = fetch(`${srv.url}/v1/generate`, {
      method: "POST",
      signal: ctl.signal,
      headers: { authorization: `Bearer ${t.key}`, "content-type": "application/json" },
      body: JSON.stringify({ prompt: "a boat on a lake", size: "256x256" }),
    }).catch((e: unknown) => e);
    while (engine.started < 2) await sleep(10);
    ctl.abort();
    await aborted;
    engine.release();
    await pending;
    await expect
      .poll(async () => {
        const h = (await (await srv!.api(t.key, "GET", "/v1/generations")).json()) as {
          data: { generations: { prompt: string; status: string; image_url: string | null }[] };
        };
        const g = h.data.generations.find((x) => x.prompt === "a boat on a lake");
        return g?.status === "completed" && g.image_url !== null;
      })
      .toBe(true);
    const h = (await (await srv.api(t.key, "GET", "/v1/generations")).json()) as {
      data: { generations: { prompt: string; image_url: string }[] };
    };
    const url = h.data.generations.find((x) => x.prompt === "a boat on a lake")!.image_url;
    expect((await fetch(url, { headers: { authorization: `Bearer ${t.key}` } })).status).toBe(200);
  });
});
