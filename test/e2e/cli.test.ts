import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import sharp from "sharp";
import { ADMIN_TOKEN, samplePng, startTestServer, type TestServer } from "../helpers/server.js";
import { FailingEngine } from "../helpers/engines.js";
import { tempDir } from "../helpers/db.js";
import { writeFile } from "node:fs/promises";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = "src/cli.ts";
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of the child, without the ZEKRON_* settings or DATABASE_URL of the machine running the tests. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("ZEKRON_") && k !== "DATABASE_URL") env[k] = v;
  }
  return { ...env, ...extra };
}

/**
 * Runs `zekron` as a child process. Asynchronously: the server under test runs in this process, and a
 * synchronous spawn would block it. With `cwd` other than the repository, tsx is loaded by its path.
 */
async function zekron(args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<Result> {
  const loader = cwd === ROOT ? "tsx" : pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const script = cwd === ROOT ? CLI : path.join(ROOT, CLI);
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", loader, script, ...args], {
      cwd,
      env: childEnv(env),
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; signal?: string; stdout: string; stderr: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("the zekron command", () => {
  let srv: TestServer;
  let out: string;
  beforeAll(async () => {
    srv = await startTestServer();
    out = tempDir();
  });
  afterAll(() => srv.stop());

  it("--help works on the command and on every subcommand, and exits 0", async () => {
    const helps = [
      ["--help"],
      ["-h"],
      ["help"],
      ["help", "jobs", "list"],
      ["serve", "--help"],
      ["migrate", "--help"],
      ["gen", "--help"],
      ["jobs", "--help"],
      ["jobs", "list", "--help"],
      ["jobs", "get", "--help"],
      ["jobs", "cancel", "--help"],
      ["keys", "--help"],
      ["keys", "list", "--help"],
      ["keys", "create", "--help"],
      ["keys", "revoke", "-h"],
      ["tenants", "--help"],
      ["tenants", "list", "--help"],
      ["tenants", "create", "--help"],
      ["tenants", "credit", "--help"],
    ];
    const results = await Promise.all(helps.map((args) => zekron(args)));
    for (const [i, r] of results.entries()) {
      expect(r.code, helps[i]!.join(" ")).toBe(0);
      expect(r.stdout, helps[i]!.join(" ")).toMatch(/Usage: zekron/);
    }
    const top = results[0]!.stdout;
    for (const line of [
      /0 +success/,
      /1 +API or server error/,
      /2 +usage error/,
      /3 +authentication error/,
      /4 +the job failed/,
      /5 +cannot connect/,
    ]) {
      expect(top).toMatch(line);
    }
    expect(results[3]!.stdout).toBe(results[8]!.stdout);
    expect(results[6]!.stdout).toMatch(/--size <WxH>/);
  });

  it("usage errors exit 2 with a message and where to find help", async () => {
    const cases = [
      ["jobs", "list", "--bogus"],
      ["frob"],
      ["jobs"],
      ["gen"],
      ["gen", "a cat", "--size", "big"],
      ["gen", "a cat", "--format", "gif"],
      ["jobs", "list", "--limit", "0"],
      ["jobs", "get"],
      ["jobs", "get", "a", "b"],
      ["tenants", "create", "--name", "x", "--scopes", "read"],
      ["tenants", "credit", "ten_x", "lots"],
      ["gen", "x", "--image", path.join(out, "missing.png")],
    ];
    const results = await Promise.all(
      cases.map((args) =>
        zekron(args, { ZEKRON_URL: srv.url, ZEKRON_API_KEY: "k", ZEKRON_ADMIN_TOKEN: "t" }),
      ),
    );
    for (const [i, r] of results.entries()) {
      expect(r.code, cases[i]!.join(" ")).toBe(2);
      expect(r.stdout, cases[i]!.join(" ")).toBe("");
    }
    expect(results[0]!.stderr).toMatch(/Unknown option '--bogus'/);
    expect(results[0]!.stderr).toMatch(/zekron --help/);
    expect(results[9]!.stderr).toMatch(/tenants create does not take --scopes/);
    expect(results[9]!.stderr).toMatch(/zekron tenants create --help/);
  });

  it("creates a tenant with the admin token, a key with its key, generates a PNG of the requested size, lists the job", async () => {
    const created = await zekron([
      "tenants",
      "create",
      "--name",
      "CLI Co",
      "--balance",
      "10.00",
      "--json",
      "--url",
      srv.url,
      "--admin-token",
      ADMIN_TOKEN,
    ]);
    expect(created.code).toBe(0);
    const tenant = JSON.parse(created.stdout) as { tenant: { id: string; balance: string }; api_key: string };
    expect(tenant.tenant.balance).toBe("10.0000");
    const admin = { ZEKRON_URL: srv.url, ZEKRON_ADMIN_TOKEN: ADMIN_TOKEN };

    const listed = await zekron(["tenants", "list", "--json"], admin);
    expect(listed.code).toBe(0);
    const tenants = JSON.parse(listed.stdout) as { tenants: { id: string }[] };
    expect(tenants.tenants.map((t) => t.id)).toContain(tenant.tenant.id);
    const table = await zekron(["tenants", "list"], admin);
    expect(table.stdout).toMatch(new RegExp(`^${tenant.tenant.id} +CLI Co +10\\.0000`, "m"));

    const credit = await zekron(
      ["tenants", "credit", tenant.tenant.id, "2.50", "--reason", "welcome"],
      admin,
    );
    expect(credit.code).toBe(0);
    expect(credit.stdout).toMatch(/Credited 2\.5000 .*\(welcome\).*12\.5000/);
    const debit = await zekron(["tenants", "credit", tenant.tenant.id, "-0.50", "--json"], admin);
    expect(JSON.parse(debit.stdout)).toMatchObject({
      amount: "-0.5000",
      reason: "correction",
      balance: "12.0000",
    });

    const newKey = await zekron(["keys", "create", "--name", "ci", "--scopes", "generate,read", "--json"], {
      ZEKRON_URL: srv.url,
      ZEKRON_API_KEY: tenant.api_key,
    });
    expect(newKey.code).toBe(0);
    const key = JSON.parse(newKey.stdout) as { api_key: string; key: { id: string; scopes: string[] } };
    expect(key.key.scopes).toEqual(["generate", "read"]);
    const keys = await zekron(["keys", "list", "--json"], {
      ZEKRON_URL: srv.url,
      ZEKRON_API_KEY: tenant.api_key,
    });
    expect((JSON.parse(keys.stdout) as { id: string }[]).map((k) => k.id)).toContain(key.key.id);

    const api = { ZEKRON_URL: srv.url, ZEKRON_API_KEY: key.api_key };
    const file = path.join(out, "lighthouse.png");
    const gen = await zekron(
      ["gen", "A lighthouse on a cliff at dawn", "--size", "512x384", "-o", file],
      api,
    );
    expect(gen.code).toBe(0);
    expect(gen.stdout).toMatch(
      /^Saved .*lighthouse\.png \(512x384, zekron-image-1, seed \d+, cost 0\.\d{4}\)/,
    );
    // stderr is not a terminal here: the progress comes as plain lines, ending with the final status.
    expect(gen.stderr).toMatch(/^job_\w+ (queued|running)/m);
    expect(gen.stderr.trim().split("\n").at(-1)).toMatch(/^job_\w+ completed$/);
    const m = await sharp(file).metadata();
    expect([m.format, m.width, m.height]).toEqual(["png", 512, 384]);

    const jobs = await zekron(["jobs", "list", "--json"], api);
    expect(jobs.code).toBe(0);
    const page = JSON.parse(jobs.stdout) as { object: string; data: { job_id: string; size: string }[] };
    expect(page.object).toBe("list");
    const job = page.data.find((j) => j.size === "512x384")!;
    expect(job).toBeDefined();
    expect(gen.stderr).toContain(job.job_id);
    const completed = await zekron(["jobs", "list", "--status", "completed", "--limit", "5"], api);
    expect(completed.stdout).toMatch(new RegExp(`^${job.job_id} +completed +100%`, "m"));

    const got = await zekron(["jobs", "get", job.job_id, "--json"], api);
    expect(JSON.parse(got.stdout)).toMatchObject({
      job_id: job.job_id,
      status: "completed",
      size: "512x384",
    });
    const shown = await zekron(["jobs", "get", job.job_id], api);
    expect(shown.stdout).toMatch(/^status: +completed$/m);

    const cancel = await zekron(["jobs", "cancel", job.job_id], api);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toMatch(/Deleted the image of job_\w+ \(completed\)/);

    // An API error: exit 1 with the code and the reference.
    const missing = await zekron(["jobs", "get", "job_nope"], api);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\[not_found, reference NOT_FOUND_[A-Z2-9]{6}_\d+\]/);

    // Revoked: the key stops at once, and the CLI says so with exit 3.
    const revoke = await zekron(["keys", "revoke", key.key.id], {
      ZEKRON_URL: srv.url,
      ZEKRON_API_KEY: tenant.api_key,
    });
    expect(revoke.code).toBe(0);
    const after = await zekron(["jobs", "list"], api);
    expect(after.code).toBe(3);
    expect(after.stderr).toMatch(/invalid_api_key/);
  });

  it("gen: an edit from --image, --format webp, --json, and a default file name from the job id", async () => {
    const { key } = await srv.tenant("5.00");
    const source = path.join(out, "source.png");
    await writeFile(source, await samplePng(64, 48));
    const work = tempDir();
    const r = await zekron(
      [
        "gen",
        "Make it winter",
        "--image",
        source,
        "--format",
        "webp",
        "--size",
        "256x256",
        "--seed",
        "7",
        "--json",
      ],
      { ZEKRON_URL: srv.url, ZEKRON_API_KEY: key },
      work,
    );
    expect(r.code).toBe(0);
    const job = JSON.parse(r.stdout) as { job_id: string; status: string; seed: number; file: string };
    expect(job).toMatchObject({ status: "completed", seed: 7, file: `${job.job_id}.webp` });
    const saved = path.join(work, job.file);
    expect(existsSync(saved)).toBe(true);
    const m = await sharp(saved).metadata();
    expect([m.format, m.width, m.height]).toEqual(["webp", 256, 256]);
  });

  it("a bad key exits 3, a missing one too; an unreachable URL exits 5", async () => {
    const [bad, none, admin, down] = await Promise.all([
      zekron(["jobs", "list"], { ZEKRON_URL: srv.url, ZEKRON_API_KEY: "zk_live_notakey" }),
      zekron(["keys", "list", "--url", srv.url]),
      zekron(["tenants", "list", "--url", srv.url, "--admin-token", "wrong-token-0123456789"]),
      closedPort().then((port) =>
        zekron(["jobs", "list", "--url", `http://127.0.0.1:${port}`, "--key", "zk_live_x"]),
      ),
    ]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/\[invalid_api_key, reference INVALID_API_KEY_/);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/No API key: pass --key or set ZEKRON_API_KEY/);
    expect(admin.code).toBe(3);
    expect(down.code).toBe(5);
    expect(down.stderr).toMatch(/Cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });
});

describe("the zekron command when the job fails", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ engine: new FailingEngine() });
  });
  afterAll(() => srv.stop());

  it("gen exits 4 and says why; nothing is saved", async () => {
    const { key } = await srv.tenant("1.00");
    const file = path.join(tempDir(), "never.png");
    const r = await zekron(["gen", "a cat", "--size", "256x256", "-o", file], {
      ZEKRON_URL: srv.url,
      ZEKRON_API_KEY: key,
    });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/zekron: job job_\w+ failed/);
    expect(existsSync(file)).toBe(false);
  });
});

describe("zekron migrate", () => {
  it("applies the migrations to a fresh data dir and exits 0", async () => {
    const dir = tempDir();
    const r = await zekron(["migrate"], { ZEKRON_DATA_DIR: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /Migrations applied: the database \(SQLite at .*zekron\.db\) is at the latest schema/,
    );
    expect(existsSync(path.join(dir, "zekron.db"))).toBe(true);
    const again = await zekron(["migrate"], { ZEKRON_DATA_DIR: dir });
    expect(again.code).toBe(0);
  });
});
