import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { GatedEngine } from "../helpers/engines.js";
import { ledgerSums } from "../../src/domain/ledger.js";
import { LocalEngine } from "../../src/engines/local/index.js";
import type { Engine, EngineRequest, EngineResult } from "../../src/engines/types.js";

interface JobView {
  job_id: string;
  status: string;
  kind: string;
  progress: number;
  cost: string;
  result_url?: string | null;
  expires_in?: number;
  error?: string;
}

/** Reads an SSE stream to its end and returns the parsed `data:` objects. */
async function readEvents(res: Response): Promise<JobView[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .map((block) => block.split("\n").find((l) => l.startsWith("data: ")))
    .filter((l): l is string => l !== undefined)
    .map((l) => JSON.parse(l.slice(6)) as JobView);
}

describe("async jobs", () => {
  let srv: TestServer;
  const engine = new GatedEngine();
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  beforeAll(async () => {
    srv = await startTestServer({ engine });
    a = await srv.tenant("5.00", { max_concurrent: 100 });
    b = await srv.tenant("5.00");
  });
  afterAll(async () => {
    engine.release();
    await srv.stop();
  });

  it("submits with 202, streams every status change in order over SSE, and completes with a signed result_url", async () => {
    engine.open = false;
    const res = await srv.api(a.key, "POST", "/v1/images/generate", {
      prompt: "A neon-lit alley in Tokyo at dusk",
      width: 512,
      height: 256,
    });
    expect(res.status).toBe(202);
    const queued = (await res.json()) as { job_id: string; status: string; kind: string; poll_url: string };
    expect(queued).toMatchObject({ status: "queued", kind: "image" });
    expect(queued.poll_url).toBe(`${srv.url}/v1/jobs/${queued.job_id}`);

    const stream = fetch(`${srv.url}/v1/jobs/${queued.job_id}/events`, {
      headers: { authorization: `Bearer ${a.key}` },
    });
    const sse = await stream;
    expect(sse.headers.get("content-type")).toContain("text/event-stream");
    const events = readEvents(sse);
    while (engine.started < 1) await sleep(10);
    engine.release();
    const seen = await events;
    const statuses = seen.map((e) => e.status);
    expect(statuses[statuses.length - 1]).toBe("completed");
    expect(statuses).toContain("running");
    const order = ["queued", "running", "completed"];
    const ranks = statuses.map((st) => order.indexOf(st));
    expect([...ranks].sort((x, y) => x - y)).toEqual(ranks);
    const progress = seen.filter((e) => e.status === "running").map((e) => e.progress);
    expect([...progress].sort((x, y) => x - y)).toEqual(progress);

    const job = (await (await srv.api(a.key, "GET", `/v1/jobs/${queued.job_id}`)).json()) as JobView;
    expect(job).toMatchObject({ status: "completed", progress: 1, kind: "image" });
    expect(job.expires_in).toBeGreaterThan(86_000);
    const img = await fetch(job.result_url!);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
  });

  it("Prefer: wait=N answers the finished job", async () => {
    engine.release();
    const res = await srv.api(
      a.key,
      "POST",
      "/v1/images/generate",
      { prompt: "a lake", width: 256, height: 256 },
      { prefer: "wait=10" },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("preference-applied")).toBe("wait=10");
    expect(((await res.json()) as JobView).status).toBe("completed");
  });

  it("lists jobs newest first with a cursor and a status filter", async () => {
    engine.release();
    for (let i = 0; i < 3; i++) {
      await srv.api(
        a.key,
        "POST",
        "/v1/images/generate",
        { prompt: `list ${i}`, width: 256, height: 256 },
        { prefer: "wait=10" },
      );
    }
    const first = (await (await srv.api(a.key, "GET", "/v1/jobs?limit=2")).json()) as {
      data: JobView[];
      has_more: boolean;
      next_cursor: string;
    };
    expect(first.data).toHaveLength(2);
    expect(first.has_more).toBe(true);
    const second = (await (
      await srv.api(a.key, "GET", `/v1/jobs?limit=2&cursor=${first.next_cursor}`)
    ).json()) as { data: JobView[] };
    const ids = [...first.data, ...second.data].map((j) => j.job_id);
    expect(new Set(ids).size).toBe(4);
    const done = (await (await srv.api(a.key, "GET", "/v1/jobs?status=completed&limit=100")).json()) as {
      data: JobView[];
    };
    expect(done.data.every((j) => j.status === "completed")).toBe(true);
    expect((await srv.api(a.key, "GET", "/v1/jobs?status=nope")).status).toBe(400);
  });

  it("cancels a queued or running job with a refund, and purges a finished job's bytes", async () => {
    engine.open = false;
    const before = (await srv.services.tenants.get(a.id))!.available;
    const { job_id } = (await (
      await srv.api(a.key, "POST", "/v1/images/generate", { prompt: "to cancel", width: 256, height: 256 })
    ).json()) as JobView;
    while (
      ((await (await srv.api(a.key, "GET", `/v1/jobs/${job_id}`)).json()) as JobView).status !== "running"
    )
      await sleep(10);
    expect((await srv.api(a.key, "DELETE", `/v1/jobs/${job_id}`)).status).toBe(204);
    const job = (await (await srv.api(a.key, "GET", `/v1/jobs/${job_id}`)).json()) as JobView;
    expect(job).toMatchObject({ status: "canceled", cost: "0.0000" });
    expect((await srv.services.tenants.get(a.id))!.available).toBe(before);
    engine.release();

    const done = (await (
      await srv.api(
        a.key,
        "POST",
        "/v1/images/generate",
        { prompt: "to purge", width: 256, height: 256 },
        { prefer: "wait=10" },
      )
    ).json()) as JobView;
    expect((await fetch(done.result_url!)).status).toBe(200);
    expect((await srv.api(a.key, "DELETE", `/v1/jobs/${done.job_id}`)).status).toBe(204);
    expect((await fetch(done.result_url!)).status).toBe(410);
    const after = (await (await srv.api(a.key, "GET", `/v1/jobs/${done.job_id}`)).json()) as JobView;
    expect(after).toMatchObject({ status: "completed", result_url: null });
  });

  it("cancel racing the engine's finish settles each job exactly once", async () => {
    engine.open = false;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = (await (
        await srv.api(a.key, "POST", "/v1/images/generate", { prompt: `race ${i}`, width: 256, height: 256 })
      ).json()) as JobView;
      ids.push(r.job_id);
    }
    while (engine.started < 2) await sleep(5);
    // Release the engine and cancel everything at the same moment.
    const cancels = ids.map((id) => srv.api(a.key, "DELETE", `/v1/jobs/${id}`));
    engine.release();
    expect((await Promise.all(cancels)).every((r) => r.status === 204)).toBe(true);
    await expect
      .poll(async () => {
        const rows = await srv.services.db.kysely
          .selectFrom("jobs")
          .select("status")
          .where("id", "in", ids)
          .execute();
        return rows.every((r) => r.status === "completed" || r.status === "canceled");
      })
      .toBe(true);
    const db = srv.services.db.kysely;
    for (const id of ids) {
      const kinds = (await db.selectFrom("ledger").select("kind").where("job_id", "=", id).execute())
        .map((r) => r.kind)
        .sort();
      expect(kinds.length).toBe(2);
      expect(["capture,hold", "hold,release"]).toContain(kinds.join(","));
    }
    const t = (await srv.services.tenants.get(a.id))!;
    expect(t.held).toBe(0);
    expect(await ledgerSums(db, a.id)).toEqual({ available: t.available, held: 0 });
  });

  it("GET /v1/usage reports today's and this month's images and spend", async () => {
    const u = (await (await srv.api(a.key, "GET", "/v1/usage")).json()) as Record<string, any>;
    expect(u.data.today.images).toBeGreaterThan(0);
    expect(u.data.month.images).toBeGreaterThanOrEqual(u.data.today.images);
    expect(u.data.limits).toMatchObject({ requests_per_minute: 100000, max_concurrent: 100 });
    expect(u.data.allowances).toEqual({ daily_images: null, monthly_images: null });
    // Seed 002's fields, where its clients read them.
    expect(u).toMatchObject({
      images_used: u.data.month.images,
      images_overage: 0,
      overage_charged_cents: 0,
      base_images_allowance: null,
      month_start: u.data.month.month_start,
    });
    await srv.admin("PATCH", `/admin/v1/tenants/${a.id}`, { monthly_image_allowance: 1000 });
    const again = (await (await srv.api(a.key, "GET", "/v1/usage")).json()) as Record<string, any>;
    expect(again.base_images_allowance).toBe(1000);
    await srv.admin("PATCH", `/admin/v1/tenants/${a.id}`, { monthly_image_allowance: null });
  });

  it("tenant B gets 404 on tenant A's jobs and events, and cannot cancel them", async () => {
    engine.release();
    const { job_id } = (await (
      await srv.api(
        a.key,
        "POST",
        "/v1/images/generate",
        { prompt: "private", width: 256, height: 256 },
        { prefer: "wait=10" },
      )
    ).json()) as JobView;
    for (const [method, path] of [
      ["GET", `/v1/jobs/${job_id}`],
      ["GET", `/v1/jobs/${job_id}/events`],
      ["DELETE", `/v1/jobs/${job_id}`],
    ] as const) {
      const res = await srv.api(b.key, method, path);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
    const list = (await (await srv.api(b.key, "GET", "/v1/jobs")).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
    expect((await srv.api(a.key, "GET", `/v1/jobs/${job_id}`)).status).toBe(200);
  });
});

describe("idempotency", () => {
  let srv: TestServer;
  const engine = new GatedEngine();
  beforeAll(async () => {
    engine.release();
    srv = await startTestServer({ engine });
  });
  afterAll(() => srv.stop());

  it("the preview route's model is part of what an Idempotency-Key stands for", async () => {
    const t = await srv.tenant("1.00");
    const body = { prompt: "a paper boat", options: { size: "256x256" } };
    const headers = { "idempotency-key": "preview-1" };
    const first = await srv.api(t.key, "POST", "/api/v1/zekron-flash:image-preview", body, headers);
    expect(first.status).toBe(200);
    const again = await srv.api(t.key, "POST", "/api/v1/zekron-flash:image-preview", body, headers);
    expect(again.status).toBe(200);
    const other = await srv.api(t.key, "POST", "/api/v1/zekron-image-1:image-preview", body, headers);
    expect(other.status).toBe(422);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe("idempotency_mismatch");
  });

  it("50 parallel requests with one Idempotency-Key make one job and one charge", async () => {
    const t = await srv.tenant("5.00", { max_concurrent: 100 });
    const body = { prompt: "one and only", width: 256, height: 256 };
    const res = await Promise.all(
      Array.from({ length: 50 }, () =>
        srv.api(t.key, "POST", "/v1/images/generate", body, { "idempotency-key": "k-1" }),
      ),
    );
    const ids = new Set(await Promise.all(res.map(async (r) => ((await r.json()) as JobView).job_id)));
    expect(res.every((r) => r.status === 202)).toBe(true);
    expect(ids.size).toBe(1);
    const jobs = await srv.services.db.kysely
      .selectFrom("jobs")
      .select("id")
      .where("tenant_id", "=", t.id)
      .execute();
    expect(jobs).toHaveLength(1);
    const holds = await srv.services.db.kysely
      .selectFrom("ledger")
      .select("id")
      .where("tenant_id", "=", t.id)
      .where("kind", "=", "hold")
      .execute();
    expect(holds).toHaveLength(1);
  });

  it("sync route: replays the first response, 409 while it runs, 422 for a different body, per tenant", async () => {
    const t = await srv.tenant("5.00", { max_concurrent: 100 });
    const body = { prompt: "idempotent sync", size: "256x256", seed: 3 };
    const h = { "idempotency-key": "sync-1" };
    engine.open = false;
    const started = engine.started;
    const pending = srv.api(t.key, "POST", "/v1/generate", body, h);
    while (engine.started === started) await sleep(5);
    const second = await srv.api(t.key, "POST", "/v1/generate", body, h);
    expect(second.status).toBe(409);
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe("idempotency_conflict");
    engine.release();
    const first = await pending;
    expect(first.status).toBe(200);
    const ok = (await first.json()) as { data: { id: number; token: string } };
    const replay = await srv.api(t.key, "POST", "/v1/generate", body, h);
    expect(replay.status).toBe(200);
    const again = (await replay.json()) as { data: { id: number; token: string } };
    expect(again.data.id).toBe(ok.data.id);
    expect(again.data.token).toBe(ok.data.token);
    const mismatch = await srv.api(t.key, "POST", "/v1/generate", { ...body, prompt: "something else" }, h);
    expect(mismatch.status).toBe(422);
    expect(((await mismatch.json()) as { error: { code: string } }).error.code).toBe("idempotency_mismatch");
    // Another tenant's identical key is unrelated.
    const other = await srv.tenant("5.00");
    expect((await srv.api(other.key, "POST", "/v1/generate", body, h)).status).toBe(200);
    const bal = (await srv.services.tenants.get(t.id))!;
    expect(bal.total_generations).toBe(1);
  });
});

/** Reports progress at the given times (ms from its start), then renders with the local engine. */
class SteppedEngine implements Engine {
  readonly kind = "stepped";
  readonly supportsEdit = true;
  readonly maxSourceImages = 2;
  private readonly inner = new LocalEngine();
  /** When the engine began its last job (Date.now()). */
  startedAt?: number;
  constructor(private readonly steps: [number, number][]) {}
  async generate(req: EngineRequest): Promise<EngineResult> {
    const start = Date.now();
    this.startedAt = start;
    for (const [at, p] of this.steps) {
      await sleep(Math.max(0, at - (Date.now() - start)));
      req.onProgress?.(p);
    }
    return this.inner.generate(req);
  }
}

describe("progress in the job row", () => {
  it("is written once the write interval has passed, with the latest step, and not before", async () => {
    // Two early steps, then nothing until 1.5 s: the row gets the second one when the first interval
    // (500 ms) ends, and keeps it until the third.
    const engine = new SteppedEngine([
      [0, 0.2],
      [300, 0.4],
      [1500, 0.8],
    ]);
    const srv = await startTestServer({ engine });
    try {
      const t = await srv.tenant("5.00");
      const res = await srv.api(t.key, "POST", "/v1/images/generate", {
        prompt: "a lighthouse",
        width: 256,
        height: 256,
      });
      const { job_id } = (await res.json()) as JobView;
      // The row, read every 25 ms until the job ends; each reading stamped with when it came back, so a
      // slow machine can only thin the readings out, never make them wrong.
      const seen: { at: number; status: string; progress: number }[] = [];
      for (;;) {
        const r = await srv.services.db.kysely
          .selectFrom("jobs")
          .select(["status", "progress"])
          .where("id", "=", job_id)
          .executeTakeFirstOrThrow();
        seen.push({ at: Date.now(), ...r });
        if (r.status === "completed") break;
        await sleep(25);
      }
      const since = (at: number) => at - engine.startedAt!;
      const running = seen.filter((r) => r.status === "running");
      // The first step never reaches the row on its own: the second came within the first interval.
      expect(running.map((r) => r.progress)).not.toContain(0.2);
      // Nothing is written before the interval has passed (the first steps reached SSE listeners at once).
      for (const r of running) if (since(r.at) < 450) expect(r.progress).toBe(0);
      // Then the latest step, held until the next one.
      expect(running.map((r) => r.progress)).toContain(0.4);
      expect(seen.at(-1)).toMatchObject({ status: "completed", progress: 1 });
      const values = seen.map((r) => r.progress);
      expect(values).toEqual([...values].sort((x, y) => x - y));
    } finally {
      await srv.stop();
    }
  });
});
