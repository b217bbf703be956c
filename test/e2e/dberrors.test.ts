import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/services.js";
import { LocalEngine } from "../../src/engines/local/index.js";
import type { Engine, EngineRequest, EngineResult } from "../../src/engines/types.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { GatedEngine } from "../helpers/engines.js";

/** Reports progress at once, then holds the job until `release`. */
class ProgressEngine implements Engine {
  readonly kind = "progress";
  readonly supportsEdit = false;
  readonly maxSourceImages = 0;
  private readonly inner = new LocalEngine();
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));

  async generate(req: EngineRequest): Promise<EngineResult> {
    req.onProgress?.(0.5);
    await this.gate;
    return this.inner.generate(req);
  }

  release(): void {
    this.open();
  }
}

/**
 * A query that fails (a dropped connection, a full disk) on a path that nobody awaits must be caught and
 * logged: an unhandled rejection makes Node exit, taking every request and job of the process with it.
 */
describe("a failed database query off the request path is logged, and the process goes on", () => {
  const lines: string[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  let srv: TestServer | undefined;
  let engine: { release(): void } | undefined;

  beforeAll(() => void process.on("unhandledRejection", onUnhandled));
  afterAll(() => void process.off("unhandledRejection", onUnhandled));
  afterEach(async () => {
    engine?.release();
    await srv?.stop();
    srv = undefined;
    lines.length = 0;
    unhandled.length = 0;
  });

  const start = (held: Engine & { release(): void }, env: Record<string, string> = {}) => {
    engine = held;
    const log = createLogger(loadConfig({ LOG_LEVEL: "warn", ZEKRON_DATA_DIR: "unused" }), {
      write: (chunk: string) => void lines.push(...chunk.split("\n").filter(Boolean)),
    });
    return startTestServer({ engine: held, log, env });
  };
  const logged = (msg: string) => lines.some((l) => (JSON.parse(l) as { msg: string }).msg === msg);
  const statusOf = async (jobId: string) => (await srv!.services.jobs.get(jobId))?.status;
  /** A new tenant's job, submitted on the job route: its id. */
  const submitJob = async () => {
    const t = await srv!.tenant("1.00");
    const res = await srv!.api(t.key, "POST", "/v1/images/generate", {
      prompt: "a red kite",
      width: 256,
      height: 256,
    });
    return { key: t.key, jobId: ((await res.json()) as { job_id: string }).job_id };
  };
  /** Makes every read of a job fail as a dropped connection would (calling `onRead` first); gives the undo. */
  const failJobReads = (onRead: () => void = () => undefined) => {
    const jobs = srv!.services.jobs;
    const get = jobs.get.bind(jobs);
    jobs.get = () => {
      onRead();
      return Promise.reject(new Error("Connection terminated unexpectedly"));
    };
    return () => void (jobs.get = get);
  };
  /** Node reports an unhandled rejection once the microtasks of its turn have run. */
  const settled = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

  it("the first read of a wait fails: the request answers with the job id, and the job goes on", async () => {
    // A sync route's own job is not read (nothing can have ended it before it is queued); the job route's
    // `Prefer: wait` reads the job it waits for, which is already queued.
    const gated = new GatedEngine();
    srv = await start(gated);
    const t = await srv.tenant("1.00");
    const restore = failJobReads();
    const res = await srv.api(
      t.key,
      "POST",
      "/v1/images/generate",
      { prompt: "a red kite", width: 256, height: 256 },
      { prefer: "wait=20" },
    );
    restore();
    expect(res.status).toBe(202);
    const { job_id: jobId } = (await res.json()) as { job_id: string };
    expect(logged("could not read a job to wait for it")).toBe(true);
    gated.release();
    await expect.poll(() => statusOf(jobId)).toBe("completed");
    await settled();
    expect(unhandled).toEqual([]);
  });

  it("a sync generation does not read back the job it has just made, so a failing read costs it nothing", async () => {
    srv = await start(new GatedEngine());
    engine!.release();
    const t = await srv.tenant("1.00");
    const restore = failJobReads();
    const res = await srv.api(t.key, "POST", "/v1/generate", { prompt: "a red kite", size: "256x256" });
    restore();
    expect(res.status).toBe(200);
    expect(logged("could not read a job to wait for it")).toBe(false);
  });

  it("the event stream's poll fails: logged, and the stream still ends with the finished job", async () => {
    const gated = new GatedEngine();
    srv = await start(gated);
    const { key, jobId } = await submitJob();
    const stream = await fetch(`${srv.url}/v1/jobs/${jobId}/events`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = (await reader.read()).value!;

    let polled!: () => void;
    const poll = new Promise<void>((resolve) => (polled = resolve));
    const restore = failJobReads(() => polled());
    await poll;
    await expect.poll(() => logged("could not poll a job for its stream")).toBe(true);
    restore();
    gated.release();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
    }
    const events = text
      .split("\n\n")
      .flatMap((block) => block.split("\n").filter((l) => l.startsWith("data: ")))
      .map((l) => (JSON.parse(l.slice(6)) as { status: string }).status);
    expect(events.at(-1)).toBe("completed");
    await settled();
    expect(unhandled).toEqual([]);
  });

  it("a progress write fails: logged, and the job still completes", async () => {
    const held = new ProgressEngine();
    srv = await start(held);
    const db = srv.services.db.kysely;
    await sql`CREATE TRIGGER no_progress BEFORE UPDATE OF progress ON jobs
      WHEN NEW.progress > 0 AND NEW.progress < 1
      BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`.execute(db);
    const { jobId } = await submitJob();
    await expect.poll(() => logged("could not write a job's progress"), { timeout: 10_000 }).toBe(true);
    await sql`DROP TRIGGER no_progress`.execute(db);
    held.release();
    await expect.poll(() => statusOf(jobId)).toBe("completed");
    await settled();
    expect(unhandled).toEqual([]);
  });
});
