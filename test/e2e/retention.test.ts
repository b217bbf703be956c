import { afterEach, describe, expect, it } from "vitest";
import { jobStatuses, settledTenant, startTestServer, type TestServer } from "../helpers/server.js";
import { DIALECTS } from "../helpers/db.js";
import { GatedEngine } from "../helpers/engines.js";
import { ledgerSums } from "../../src/domain/ledger.js";
import { DEFAULT_MODEL } from "../../src/domain/catalog.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A zero-retention generation on `url` (`/v1/generate`, or `path` with more of the body in `extra`) whose
 * client hangs up when `signal` fires: its error, or its answer.
 */
const noStoreUntil = (
  url: string,
  signal: AbortSignal,
  key: string,
  prompt: string,
  path = "/v1/generate",
  extra: Record<string, unknown> = {},
) =>
  fetch(`${url}${path}`, {
    method: "POST",
    signal,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "x-zekron-store": "0" },
    body: JSON.stringify({ prompt, size: "256x256", ...extra }),
  }).catch((e: unknown) => e);

/** Zero data retention (X-Zekron-Store: 0): the image exists only in the answer, so no answer, no charge. */
describe("zero data retention never charges for an image nobody receives", () => {
  let srv: TestServer | undefined;
  afterEach(async () => {
    await srv?.stop();
    srv = undefined;
  });

  /** A POST with zero data retention asked for. */
  const noStore = (key: string, path: string, body: unknown) =>
    srv!.api(key, "POST", path, body, { "x-zekron-store": "0" });

  const settled = (tenantId: string) => settledTenant(srv!, tenantId);

  it("is refused on the job route, whose image is fetched later", async () => {
    srv = await startTestServer();
    const t = await srv.tenant("1.00");
    const res = await noStore(t.key, "/v1/images/generate", {
      prompt: "a red kite",
      width: 256,
      height: 256,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_parameter");
    expect(await settled(t.id)).toMatchObject({ available: 1_000_000, held: 0 });
  });

  it("a sync wait that runs out cancels and refunds the job, even when the engine finishes later", async () => {
    const engine = new GatedEngine();
    srv = await startTestServer({ engine, env: { ZEKRON_SYNC_TIMEOUT_SECONDS: "1" } });
    const t = await srv.tenant("1.00");
    const res = await noStore(t.key, "/v1/generate", { prompt: "a red kite", size: "256x256" });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect([res.status, body.error.code]).toEqual([504, "generation_timeout"]);
    expect(body.error.message).toMatch(/canceled and refunded/);
    engine.release();
    await sleep(200);
    const jobs = await srv.services.db.kysely
      .selectFrom("jobs")
      .selectAll()
      .where("tenant_id", "=", t.id)
      .execute();
    expect(jobs.map((j) => j.status)).toEqual(["canceled"]);
    expect(await settled(t.id)).toMatchObject({ available: 1_000_000, held: 0, total_generations: 0 });
  });

  it("a client that hangs up cancels and refunds its zero-retention job", async () => {
    const engine = new GatedEngine();
    srv = await startTestServer({ engine });
    const t = await srv.tenant("1.00");
    const ctl = new AbortController();
    const aborted = noStoreUntil(srv.url, ctl.signal, t.key, "a boat on a lake");
    while (engine.started < 1) await sleep(10);
    ctl.abort();
    await aborted;
    await expect
      .poll(
        async () => (await srv!.services.db.kysely.selectFrom("jobs").select("status").execute())[0]?.status,
      )
      .toBe("canceled");
    engine.release();
    await sleep(200);
    expect(await settled(t.id)).toMatchObject({ available: 1_000_000, held: 0, total_generations: 0 });
  });

  it("a waiting client gets its zero-retention image and pays once; nothing is stored", async () => {
    srv = await startTestServer();
    const t = await srv.tenant("1.00");
    const res = await noStore(t.key, "/v1/generate", { prompt: "a red kite", size: "256x256" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      data: { token: string | null; image: { b64_json: string }; cost: string };
    };
    expect(body.data.token).toBeNull();
    expect(body.data.image.b64_json.length).toBeGreaterThan(100);
    const tenant = await settled(t.id);
    expect(tenant.total_generations).toBe(1);
    expect(tenant.available).toBe(1_000_000 - Math.round(Number(body.data.cost) * 1_000_000));
    expect(await srv.services.db.kysely.selectFrom("images").selectAll().execute()).toHaveLength(0);
  });

  it("a charged zero-retention image is answered even when the balance cannot be read afterwards", async () => {
    srv = await startTestServer();
    const t = await srv.tenant("1.00");
    srv.services.tenants.balance = () => Promise.reject(new Error("Connection terminated unexpectedly"));
    const res = await noStore(t.key, "/v1/generate", { prompt: "a red kite", size: "256x256" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      data: { image: { b64_json: string }; cost: string; remaining_balance: string };
    };
    expect(body.data.image.b64_json.length).toBeGreaterThan(100);
    const tenant = await settled(t.id);
    expect(tenant.total_generations).toBe(1);
    expect(Math.round(Number(body.data.remaining_balance) * 1_000_000)).toBe(tenant.available);
  });
});

/**
 * The completion of a zero-retention job and its request's leaving are one decision: either the request
 * takes the image and the job is charged, or the job is canceled and refunded. Never charged with the
 * bytes gone.
 */
describe.each(DIALECTS)(
  "zero retention, a client leaving while its images are made and committed, on %s",
  (dialect) => {
    let srv: TestServer | undefined;
    afterEach(async () => {
      await srv?.stop();
      srv = undefined;
    });

    /** Runs `during` inside the transaction that completes a job, and `after` once it has committed. */
    function aroundCompletion(during: () => Promise<void>, after: () => void = () => undefined) {
      const webhooks = srv!.services.webhooks;
      srv!.services.jobs.setTerminalHooks({
        async inTransaction(tx, job) {
          if (job.status === "completed") await during();
          return webhooks.inTransaction(tx, job);
        },
        afterCommit(job, queued) {
          if (job.status === "completed") after();
          webhooks.afterCommit(job, queued);
        },
      });
    }

    it("a completion that fails after its commit, its image lost: the waiting request refunds it", async () => {
      srv = await startTestServer({ dialect, env: { ZEKRON_SYNC_TIMEOUT_SECONDS: "1" } });
      const t = await srv.tenant("1.00");
      aroundCompletion(
        async () => undefined,
        () => {
          throw new Error("lost after the commit");
        },
      );
      const res = await srv.api(
        t.key,
        "POST",
        "/v1/generate",
        { prompt: "a secret", size: "256x256" },
        {
          "x-zekron-store": "0",
        },
      );
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect([res.status, body.error.code]).toEqual([500, "generation_failed"]);
      expect(body.error.message).toMatch(/lost before it could be sent; it was canceled and refunded/);
      expect(await jobStatuses(srv, t.id)).toEqual(["canceled"]);
      expect(await settledTenant(srv, t.id)).toMatchObject({
        available: 1_000_000,
        held: 0,
        total_spent: 0,
        total_generations: 0,
      });
    });

    it("a client gone before the commit: the job is canceled and refunded, not charged", async () => {
      srv = await startTestServer({ dialect });
      const t = await srv.tenant("1.00");
      const jobs = srv.services.jobs;
      const fail = jobs.fail.bind(jobs);
      // The request's wait has ended once it asks for its job to be canceled.
      let left!: () => void;
      const waiterLeft = new Promise<void>((resolve) => (left = resolve));
      jobs.fail = (...args) => {
        left();
        return fail(...args);
      };
      const ctl = new AbortController();
      aroundCompletion(async () => {
        ctl.abort();
        await waiterLeft;
      });
      const err = await noStoreUntil(srv.url, ctl.signal, t.key, "a secret");
      expect((err as Error).name).toBe("AbortError");
      const db = srv.services.db.kysely;
      await expect
        .poll(
          async () =>
            (await db.selectFrom("jobs").select("status").where("tenant_id", "=", t.id).execute())[0],
        )
        .toEqual({ status: "canceled" });
      const tenant = (await srv.services.tenants.get(t.id))!;
      expect(tenant).toMatchObject({ available: 1_000_000, held: 0, total_spent: 0, total_generations: 0 });
      expect(await ledgerSums(db, t.id)).toEqual({ available: 1_000_000, held: 0 });
    });

    it("a client gone once the commit counts on it: its request still takes the image it pays for", async () => {
      const engine = new GatedEngine();
      srv = await startTestServer({ dialect, engine });
      const t = await srv.tenant("1.00");
      const db = srv.services.db.kysely;
      const key = await db
        .selectFrom("api_keys")
        .select("id")
        .where("tenant_id", "=", t.id)
        .executeTakeFirstOrThrow();
      const ctl = new AbortController();
      aroundCompletion(
        async () => undefined,
        () => ctl.abort(),
      );
      const { job } = await srv.services.jobs.submit({
        tenantId: t.id,
        keyId: key.id,
        model: DEFAULT_MODEL,
        prompt: "a secret",
        width: 256,
        height: 256,
        format: "png",
        images: [],
        cost: 10_000,
        store: false,
      });
      const waiting = srv.services.jobs.waitFor(job.id, 30_000, ctl.signal);
      engine.release();
      const outcome = await waiting;
      expect(ctl.signal.aborted).toBe(true);
      expect(outcome?.job.status).toBe("completed");
      expect(outcome?.bytes?.length).toBeGreaterThan(100);
      expect(await srv.services.tenants.get(t.id)).toMatchObject({
        available: 990_000,
        total_generations: 1,
      });
    });

    it("a request for several images whose client leaves after the first is made: that one is refunded too", async () => {
      const engine = new GatedEngine();
      srv = await startTestServer({ engine, dialect });
      const t = await srv.tenant("1.00");
      const ctl = new AbortController();
      const aborted = noStoreUntil(srv.url, ctl.signal, t.key, "two secrets", "/v1/images/generations", {
        n: 2,
      });
      const statuses = () => jobStatuses(srv!, t.id);
      while (engine.started < 1) await sleep(10);
      engine.releaseOne();
      // The first image is made and charged; the request waits for the second.
      await expect.poll(statuses).toContain("completed");
      expect((await settledTenant(srv!, t.id)).total_generations).toBe(1);
      ctl.abort();
      await aborted;
      await expect.poll(statuses).toEqual(["canceled", "canceled"]);
      engine.release();
      await sleep(200);
      expect(await statuses()).toEqual(["canceled", "canceled"]);
      expect(await settledTenant(srv!, t.id)).toMatchObject({
        available: 1_000_000,
        held: 0,
        total_spent: 0,
        total_generations: 0,
      });
      const ledger = await srv.services.db.kysely
        .selectFrom("ledger")
        .select(["kind", "job_id"])
        .where("tenant_id", "=", t.id)
        .execute();
      const jobOf = (kind: string) => ledger.filter((l) => l.kind === kind).map((l) => l.job_id);
      expect(ledger.map((l) => l.kind).sort()).toEqual(
        ["credit", "hold", "hold", "capture", "refund", "release"].sort(),
      );
      // The charged image is the one refunded; the other was released before it was ever charged.
      expect(jobOf("refund")).toEqual(jobOf("capture"));
      expect(jobOf("release")).not.toEqual(jobOf("capture"));
    });
  },
);
