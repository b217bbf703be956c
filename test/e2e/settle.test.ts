import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { samplePng, settledTenant, startTestServer, type TestServer } from "../helpers/server.js";
import { DIALECTS } from "../helpers/db.js";
import { FailingEngine, GatedEngine } from "../helpers/engines.js";

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

/** A job whose ending hits an error still ends once, refunded, with nothing of it left behind. */
describe.each(DIALECTS)("errors while a job ends, on %s", (dialect) => {
  let srv: TestServer | undefined;
  afterEach(async () => {
    await srv?.stop();
    srv = undefined;
  });

  const settled = (tenantId: string) => settledTenant(srv!, tenantId);
  /** The answer and the rows of a tenant's one job whose image could not be saved: failed, no image. */
  const expectNotSaved = async (res: Response, tenantId: string) => {
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: "generation_failed", message: expect.stringMatching(/saved/) });
    const db = srv!.services.db.kysely;
    const jobs = await db.selectFrom("jobs").selectAll().where("tenant_id", "=", tenantId).execute();
    expect(jobs.map((j) => [j.status, j.image_token])).toEqual([["failed", null]]);
    expect(await db.selectFrom("images").selectAll().where("tenant_id", "=", tenantId).execute()).toEqual([]);
  };

  it("a completion transaction that throws fails and refunds the job, and deletes the image it wrote", async () => {
    srv = await startTestServer({ dialect });
    const t = await srv.tenant("1.00");
    const webhooks = srv.services.webhooks;
    srv.services.jobs.setTerminalHooks({
      async inTransaction(tx, job) {
        // Stands for any error inside that transaction: a dropped connection, a constraint, a bug.
        if (job.status === "completed") throw new Error("Connection terminated unexpectedly");
        return webhooks.inTransaction(tx, job);
      },
      afterCommit: (job, queued) => webhooks.afterCommit(job, queued),
    });
    const res = await srv.api(t.key, "POST", "/v1/generate", { prompt: "a red kite", size: "256x256" });
    await expectNotSaved(res, t.id);
    // The answer goes first; the bytes are deleted right after.
    await expect.poll(() => filesUnder(path.join(srv!.services.config.blobDir, "images", t.id))).toEqual([]);
    expect(await settled(t.id)).toMatchObject({ available: 1_000_000, held: 0, total_generations: 0 });
  });

  it("an image that cannot be written fails and refunds the job: no row, no charge, no file", async () => {
    srv = await startTestServer({ dialect });
    const t = await srv.tenant("1.00");
    // A file where the tenant's image directory should be: the write fails however it is tried.
    const images = path.join(srv.services.config.blobDir, "images");
    mkdirSync(images, { recursive: true });
    writeFileSync(path.join(images, t.id), "in the way");
    const res = await srv.api(t.key, "POST", "/v1/generate", { prompt: "a red kite", size: "256x256" });
    await expectNotSaved(res, t.id);
    expect(await settled(t.id)).toMatchObject({ available: 1_000_000, held: 0, total_generations: 0 });
    // Once the way is clear, the next image is written and charged.
    rmSync(path.join(images, t.id));
    const ok = await srv.api(t.key, "POST", "/v1/generate", { prompt: "a red kite", size: "256x256" });
    expect(ok.status).toBe(200);
    expect(filesUnder(path.join(images, t.id))).toHaveLength(1);
  });

  it("a job's completion commits only once its image is written: no row names bytes not yet there", async () => {
    srv = await startTestServer({ dialect });
    const t = await srv.tenant("1.00");
    const events: string[] = [];
    const store = srv.services.store;
    const put = store.put.bind(store);
    store.put = async (key, bytes) => {
      if (!key.startsWith("images/")) return put(key, bytes);
      events.push("write started");
      // A slow disk.
      await new Promise((r) => setTimeout(r, 300));
      await put(key, bytes);
      events.push("written");
    };
    const webhooks = srv.services.webhooks;
    srv.services.jobs.setTerminalHooks({
      inTransaction: (tx, job) => webhooks.inTransaction(tx, job),
      afterCommit(job, queued) {
        events.push(`committed ${job.status}`);
        webhooks.afterCommit(job, queued);
      },
    });
    const res = await srv.api(t.key, "POST", "/v1/generate", { prompt: "a red kite", size: "256x256" });
    expect(res.status).toBe(200);
    expect(events).toEqual(["write started", "written", "committed completed"]);
    const [image] = await srv.services.db.kysely
      .selectFrom("images")
      .selectAll()
      .where("tenant_id", "=", t.id)
      .execute();
    expect(existsSync(path.join(srv.services.config.blobDir, image!.blob_key))).toBe(true);
  });

  /** Source images can no longer be deleted (a full or read-only disk); everything else works. */
  function inputsUndeletable() {
    const store = srv!.services.store;
    const remove = store.delete.bind(store);
    store.delete = async (key: string) => {
      if (key.startsWith("inputs/")) throw new Error("EIO: i/o error, unlink");
      return remove(key);
    };
  }
  const edit = async () => ({
    prompt: "make it blue",
    size: "256x256",
    images: [{ data: (await samplePng()).toString("base64"), mime_type: "image/png" }],
  });

  it("a failed edit whose source images cannot be deleted still answers its failure, refunded", async () => {
    srv = await startTestServer({
      dialect,
      engine: new FailingEngine(),
      // Longer than the answer takes by far; the wait would end here if the failure never reached it.
      env: { ZEKRON_SYNC_TIMEOUT_SECONDS: "10" },
    });
    const t = await srv.tenant("1.00");
    inputsUndeletable();
    const res = await srv.api(t.key, "POST", "/v1/generate", await edit());
    const body = (await res.json()) as { error: { code: string } };
    expect([res.status, body.error.code]).toEqual([500, "generation_failed"]);
    expect(await settled(t.id)).toMatchObject({ available: 1_000_000, held: 0, total_generations: 0 });
  });

  it("DELETE of a running edit whose source images cannot be deleted answers 204, canceled and refunded", async () => {
    const engine = new GatedEngine();
    srv = await startTestServer({ dialect, engine });
    try {
      const t = await srv.tenant("1.00");
      inputsUndeletable();
      const res = await srv.api(t.key, "POST", "/v1/images/generate", await edit());
      const { job_id } = (await res.json()) as { job_id: string };
      await expect.poll(() => engine.started).toBe(1);
      expect((await srv.api(t.key, "DELETE", `/v1/jobs/${job_id}`)).status).toBe(204);
      expect((await srv.services.jobs.get(job_id))?.status).toBe("canceled");
      expect(await settled(t.id)).toMatchObject({ available: 1_000_000, held: 0, total_generations: 0 });
    } finally {
      engine.release();
    }
  });
});
