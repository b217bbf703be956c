import { describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { tempDir } from "../helpers/db.js";
import { ADMIN_TOKEN } from "../helpers/server.js";
import { loadConfig } from "../../src/config.js";
import { openDatabase } from "../../src/db/connect.js";
import { ledgerSums } from "../../src/domain/ledger.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function startChild(dataDir: string, port: number): { child: ChildProcess; exited: Promise<unknown> } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    ZEKRON_DATA_DIR: dataDir,
    ZEKRON_ADMIN_TOKEN: ADMIN_TOKEN,
    ZEKRON_DEMO_TENANT: "false",
    ZEKRON_RATE_LIMIT_PER_MINUTE: "100000",
  };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src/main.ts")], {
    cwd: ROOT,
    env,
    stdio: "ignore",
  });
  return { child, exited: new Promise((r) => child.once("exit", r)) };
}

async function waitUp(url: string) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("server did not start");
}

describe("crash safety", () => {
  it("after SIGKILL with jobs queued and running, a restart finishes or refunds every job and the balance equals the ledger", async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let { child, exited } = startChild(dataDir, port);
    await waitUp(url);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
    const created = (await (
      await fetch(`${url}/admin/v1/tenants`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ name: "crash", balance: "10.00", max_concurrent: 100 }),
      })
    ).json()) as { data: { tenant: { id: string }; api_key: string } };
    const key = created.data.api_key;
    const tenantId = created.data.tenant.id;
    const ids: string[] = [];
    // Large renders, so that some are running and most are queued when the process dies.
    for (let i = 0; i < 16; i++) {
      const r = await fetch(`${url}/v1/images/generate`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({
          prompt: `crash test ${i}, mountains and a lake at sunset`,
          width: 2048,
          height: 2048,
        }),
      });
      expect(r.status).toBe(202);
      ids.push(((await r.json()) as { job_id: string }).job_id);
    }
    const statusOf = async () => {
      const r = await fetch(`${url}/v1/jobs?limit=100`, { headers: { authorization: `Bearer ${key}` } });
      return ((await r.json()) as { data: { job_id: string; status: string }[] }).data;
    };
    for (let i = 0; i < 200 && !(await statusOf()).some((j) => j.status === "running"); i++)
      await new Promise((r) => setTimeout(r, 20));
    const before = await statusOf();
    expect(before.some((j) => j.status === "running")).toBe(true);
    expect(before.some((j) => j.status === "queued")).toBe(true);
    child.kill("SIGKILL");
    await exited;

    // The database as the crash left it: holds are open.
    const config = loadConfig({ ZEKRON_DATA_DIR: dataDir });
    const peek = openDatabase({ dataDir: config.dataDir });
    const mid = await peek.kysely
      .selectFrom("tenants")
      .select(["held"])
      .where("id", "=", tenantId)
      .executeTakeFirstOrThrow();
    expect(mid.held).toBeGreaterThan(0);
    await peek.close();

    ({ child, exited } = startChild(dataDir, port));
    try {
      await waitUp(url);
      await expect
        .poll(async () => (await statusOf()).every((j) => !["queued", "running"].includes(j.status)), {
          timeout: 120_000,
          interval: 250,
        })
        .toBe(true);
      const after = await statusOf();
      expect(after.map((j) => j.job_id).sort()).toEqual([...ids].sort());
      for (const j of after) expect(["completed", "failed"]).toContain(j.status);
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
    const db = openDatabase({ dataDir: config.dataDir });
    try {
      const t = await db.kysely
        .selectFrom("tenants")
        .selectAll()
        .where("id", "=", tenantId)
        .executeTakeFirstOrThrow();
      expect(t.held).toBe(0);
      expect(await ledgerSums(db.kysely, tenantId)).toEqual({ available: t.available, held: 0 });
      const completed = await db.kysely
        .selectFrom("jobs")
        .select(["cost"])
        .where("tenant_id", "=", tenantId)
        .where("status", "=", "completed")
        .execute();
      expect(t.total_spent).toBe(completed.reduce((a, j) => a + j.cost, 0));
      expect(t.available + t.total_spent).toBe(10_000_000);
      for (const id of ids) {
        const kinds = (await db.kysely.selectFrom("ledger").select("kind").where("job_id", "=", id).execute())
          .map((r) => r.kind)
          .sort();
        expect(["capture,hold", "hold,release"]).toContain(kinds.join(","));
      }
    } finally {
      await db.close();
    }
  }, 180_000);
});
