import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { Webhook } from "standardwebhooks";
import { startTestServer, TestClock, type TestServer } from "../helpers/server.js";
import { tempDir } from "../helpers/db.js";

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  path: string;
}

/** A local receiver; `fail(n)` decides per request number (1-based) whether to answer 500. */
async function receiver(fail: (n: number) => boolean = () => false) {
  const got: Received[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      n++;
      got.push({ headers: req.headers, body, path: req.url ?? "/" });
      res.writeHead(fail(n) ? 500 : 200).end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    got,
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function verify(secret: string, r: Received): unknown {
  return new Webhook(secret).verify(r.body, {
    "webhook-id": String(r.headers["webhook-id"]),
    "webhook-timestamp": String(r.headers["webhook-timestamp"]),
    "webhook-signature": String(r.headers["webhook-signature"]),
  });
}

describe("webhooks (development setting: private targets allowed)", () => {
  let srv: TestServer;
  const clock = new TestClock(Date.now());
  let t: { id: string; key: string };
  beforeAll(async () => {
    srv = await startTestServer({ clock, env: { ZEKRON_WEBHOOK_ALLOW_PRIVATE: "true" } });
    t = await srv.tenant("5.00", { max_concurrent: 100 });
  });
  afterAll(() => srv.stop());

  it("a receiver failing half its deliveries still gets every event, each verified with the endpoint's secret", async () => {
    const rx = await receiver((n) => n % 2 === 1);
    const created = await srv.api(t.key, "POST", "/v1/webhooks", {
      url: `${rx.url}/hooks`,
      events: ["job.completed", "job.failed"],
    });
    expect(created.status).toBe(201);
    const ep = (await created.json()) as { id: string; secret: string; events: string[] };
    expect(ep.secret).toMatch(/^whsec_/);
    const jobs: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await srv.api(
        t.key,
        "POST",
        "/v1/images/generate",
        { prompt: `hook ${i}`, width: 256, height: 256 },
        { prefer: "wait=10" },
      );
      jobs.push(((await r.json()) as { job_id: string }).job_id);
    }
    const delivered = () =>
      new Set(rx.got.filter((_, i) => (i + 1) % 2 === 0).map((r) => JSON.parse(r.body).data.jobId as string));
    for (let round = 0; round < 10 && delivered().size < jobs.length; round++) {
      await new Promise((r) => setTimeout(r, 200));
      clock.advance(6 * 60 * 1000); // past the 10 s, 60 s and 300 s retries
      srv.services.webhooks.wake();
    }
    expect([...delivered()].sort()).toEqual([...jobs].sort());
    for (const r of rx.got) {
      const payload = verify(ep.secret, r) as {
        event: string;
        data: { jobId: string; status: string; outputUrl: string };
      };
      expect(payload.event).toBe("job.completed");
      expect(payload.data.status).toBe("completed");
      expect(payload.data.outputUrl).toContain("/v1/images/");
    }
    // The webhook-id is stable across the retries of one event.
    const idsByJob = new Map<string, Set<string>>();
    for (const r of rx.got) {
      const job = JSON.parse(r.body).data.jobId as string;
      idsByJob.set(job, (idsByJob.get(job) ?? new Set()).add(String(r.headers["webhook-id"])));
    }
    for (const ids of idsByJob.values()) expect(ids.size).toBe(1);
    // A body altered by one byte fails verification.
    const sample = rx.got[0]!;
    const altered = { ...sample, body: sample.body.replace('"completed"', '"complete!"') };
    expect(() => verify(ep.secret, altered)).toThrow();

    const deliveries = (await (await srv.api(t.key, "GET", `/v1/webhooks/${ep.id}/deliveries`)).json()) as {
      data: { status: string; attempts: number }[];
    };
    expect(deliveries.data).toHaveLength(jobs.length);
    expect(deliveries.data.every((d) => d.status === "delivered")).toBe(true);
    expect(deliveries.data.some((d) => d.attempts > 1)).toBe(true);
    await srv.api(t.key, "DELETE", `/v1/webhooks/${ep.id}`);
    await rx.close();
  });

  it("a per-job webhook_url is signed with the account's default secret; a failure event carries the refund", async () => {
    const rx = await receiver();
    const made = await srv.api(t.key, "POST", "/v1/webhooks/default/secret");
    expect(made.status).toBe(201);
    const { secret } = (await made.json()) as { secret: string };
    // Shown once: there is no way to read it back, only to roll it.
    expect((await srv.api(t.key, "GET", "/v1/webhooks/default/secret")).status).not.toBe(200);
    const r = await srv.api(
      t.key,
      "POST",
      "/v1/images/generate",
      { prompt: "per job", width: 256, height: 256, webhook_url: `${rx.url}/job` },
      { prefer: "wait=10" },
    );
    const { job_id } = (await r.json()) as { job_id: string };
    await expect.poll(() => rx.got.length).toBe(1);
    const payload = verify(secret, rx.got[0]!) as { event: string; data: { jobId: string } };
    expect(payload).toMatchObject({ event: "job.completed", data: { jobId: job_id } });
    await rx.close();
  });

  it("POST /v1/webhooks/{id}/test sends a signed test event now", async () => {
    const rx = await receiver();
    const ep = (await (await srv.api(t.key, "POST", "/v1/webhooks", { url: rx.url })).json()) as {
      id: string;
      secret: string;
    };
    const res = (await (await srv.api(t.key, "POST", `/v1/webhooks/${ep.id}/test`)).json()) as {
      ok: boolean;
      status: number;
    };
    expect(res).toMatchObject({ ok: true, status: 200 });
    expect((verify(ep.secret, rx.got[0]!) as { event: string }).event).toBe("webhook.test");
    const list = (await (await srv.api(t.key, "GET", "/v1/webhooks")).json()) as {
      data: { id: string; secret?: string }[];
    };
    expect(list.data.map((e) => e.id)).toContain(ep.id);
    expect(JSON.stringify(list)).not.toContain("whsec_");
    await rx.close();
  });

  it("tenant B gets 404 on tenant A's webhooks and deliveries", async () => {
    const ep = (await (
      await srv.api(t.key, "POST", "/v1/webhooks", { url: "https://example.com/hook" })
    ).json()) as { id: string };
    const b = await srv.tenant("1.00");
    for (const [method, path] of [
      ["GET", `/v1/webhooks/${ep.id}/deliveries`],
      ["POST", `/v1/webhooks/${ep.id}/test`],
      ["DELETE", `/v1/webhooks/${ep.id}`],
    ] as const) {
      const res = await srv.api(b.key, method, path);
      expect(res.status).toBe(404);
    }
    const list = (await (await srv.api(b.key, "GET", "/v1/webhooks")).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });
});

describe("webhooks in production settings", () => {
  let srv: TestServer;
  let t: { id: string; key: string };
  beforeAll(async () => {
    srv = await startTestServer();
    t = await srv.tenant("1.00");
  });
  afterAll(() => srv.stop());

  it("refuses http URLs at registration", async () => {
    const res = await srv.api(t.key, "POST", "/v1/webhooks", { url: "http://example.com/hook" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_parameter");
  });

  it("refuses every non-public target at delivery time and records a failed delivery", async () => {
    const rx = await receiver();
    const targets = [
      `https://127.0.0.1:${rx.port}/`,
      "https://169.254.169.254/latest/meta-data/",
      "https://[::ffff:169.254.169.254]/",
      "https://[::1]:6379/",
      "https://0177.0.0.1/",
      "https://2130706433/",
      "https://100.64.0.1/",
      "https://10.0.0.1/",
      "https://192.168.1.1/",
      "https://[fe80::1]/",
      "https://224.0.0.1/",
    ];
    for (const url of targets) {
      const created = await srv.api(t.key, "POST", "/v1/webhooks", { url });
      expect(created.status, url).toBe(201);
      const ep = (await created.json()) as { id: string };
      const res = (await (await srv.api(t.key, "POST", `/v1/webhooks/${ep.id}/test`)).json()) as {
        ok: boolean;
        error: string;
      };
      expect(res.ok, url).toBe(false);
      expect(res.error, url).toMatch(/not allowed|not a public|refused|forbidden/i);
      const d = (await (await srv.api(t.key, "GET", `/v1/webhooks/${ep.id}/deliveries`)).json()) as {
        data: { status: string }[];
      };
      expect(d.data[0]!.status, url).toBe("failed");
      await srv.api(t.key, "DELETE", `/v1/webhooks/${ep.id}`);
    }
    expect(rx.got).toHaveLength(0);
    await rx.close();
  });
});

describe("webhook deliveries survive a restart", () => {
  it("a pending delivery is sent by the next process", async () => {
    const dataDir = tempDir();
    const clock = new TestClock(Date.now());
    const rx = await receiver();
    await rx.close(); // down at first: the first attempt fails
    let srv = await startTestServer({ dataDir, clock, env: { ZEKRON_WEBHOOK_ALLOW_PRIVATE: "true" } });
    const t = await srv.tenant("1.00");
    await srv.api(t.key, "POST", "/v1/webhooks", { url: `http://127.0.0.1:${rx.port}/late` });
    await srv.api(
      t.key,
      "POST",
      "/v1/images/generate",
      { prompt: "later", width: 256, height: 256 },
      { prefer: "wait=10" },
    );
    await expect
      .poll(
        async () =>
          (
            await srv.services.db.kysely
              .selectFrom("webhook_deliveries")
              .select("attempts")
              .executeTakeFirst()
          )?.attempts,
      )
      .toBe(1);
    await srv.stop();

    const back = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        got++;
        res.writeHead(204).end();
      });
    });
    let got = 0;
    await new Promise<void>((r) => back.listen(rx.port, "127.0.0.1", r));
    clock.advance(60_000);
    srv = await startTestServer({ dataDir, clock, env: { ZEKRON_WEBHOOK_ALLOW_PRIVATE: "true" } });
    try {
      await expect.poll(() => got, { timeout: 10_000 }).toBe(1);
      await expect
        .poll(
          async () =>
            (
              await srv.services.db.kysely
                .selectFrom("webhook_deliveries")
                .select("status")
                .executeTakeFirst()
            )?.status,
        )
        .toBe("delivered");
    } finally {
      await srv.stop();
      await new Promise<void>((r) => back.close(() => r()));
    }
  });
});
