import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { tempDir } from "../helpers/db.js";
import { loadConfig } from "../../src/config.js";
import { createServices } from "../../src/services.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const MAIN = path.join(ROOT, "src/main.ts");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "warn" };
  delete env.DATABASE_URL;
  delete env.ZEKRON_ADMIN_TOKEN;
  return { ...env, ...extra };
}

describe("the process", () => {
  it("stops on a bad setting with one line naming it", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", MAIN], {
      cwd: ROOT,
      env: childEnv({ PORT: "http", ZEKRON_DATA_DIR: tempDir() }),
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("Invalid setting PORT: must be a whole number");
  });

  it.runIf(existsSync("/proc/self"))(
    "stops with one line on a data dir that cannot be made (it hung)",
    () => {
      const r = spawnSync(process.execPath, ["--import", "tsx", MAIN], {
        cwd: ROOT,
        env: childEnv({ PORT: "0", ZEKRON_DATA_DIR: "/proc/zekron-data" }),
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toMatch(
        /^Invalid setting ZEKRON_DATA_DIR: cannot use \/proc\/zekron-data: ENOENT: .*'\/proc\/zekron-data'$/,
      );
    },
  );

  it("stops with one line naming the setting that is wrong only in use: blob dir, database, master key", async () => {
    const start = (extra: Record<string, string>) =>
      spawnSync(process.execPath, ["--import", "tsx", MAIN], {
        cwd: ROOT,
        env: childEnv({ PORT: "0", ZEKRON_DATA_DIR: tempDir(), ...extra }),
        encoding: "utf8",
        timeout: 20_000,
      });
    const cases: [Record<string, string>, RegExp][] = [
      [
        { ZEKRON_BLOB_URL: "file://relative/x" },
        /^Invalid setting ZEKRON_BLOB_URL: a file:\/\/ URL names a path on this machine: file:\/\/\/relative\/x \(three slashes\), not host "relative"$/,
      ],
      [
        { ZEKRON_ADMIN_TOKEN: "correct horse battery staple" },
        /^Invalid setting ZEKRON_ADMIN_TOKEN: must not contain spaces/,
      ],
      [
        { DATABASE_URL: "postgres://nosuchuser:hunter2@127.0.0.1:5432/test" },
        /^Invalid setting DATABASE_URL: cannot connect to postgres:\/\/nosuchuser:\*\*\*@127\.0\.0\.1:5432\/test: .*nosuchuser/,
      ],
    ];
    if (existsSync("/proc/self"))
      cases.push([
        { ZEKRON_BLOB_URL: "file:///proc/zekron-blobs" },
        /^Invalid setting ZEKRON_BLOB_URL: cannot use \/proc\/zekron-blobs: /,
      ]);
    for (const [extra, line] of cases) {
      const r = start(extra);
      expect(r.stderr.trim()).toMatch(line);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).not.toContain("hunter2");
      expect(r.status).toBe(2);
    }

    // A data dir whose keys and images were made with one master key, started with another.
    const dataDir = tempDir();
    const first = await createServices(loadConfig({ ZEKRON_DATA_DIR: dataDir, ZEKRON_DEMO_TENANT: "false" }));
    await first.close();
    const r = spawnSync(process.execPath, ["--import", "tsx", MAIN], {
      cwd: ROOT,
      env: childEnv({
        PORT: "0",
        ZEKRON_DATA_DIR: dataDir,
        ZEKRON_MASTER_KEY: randomBytes(32).toString("base64"),
      }),
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.stderr.trim()).toMatch(
      /^Invalid setting ZEKRON_MASTER_KEY: the database's API keys and images were made with another master key; set it to that key \(when it was not set, it was kept in .*secrets\.json\)$/,
    );
    expect(r.status).toBe(2);
  });

  it("on a first start prints the admin token, the demo key and a curl line that works; stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    const dataDir = tempDir();
    const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
      cwd: ROOT,
      env: childEnv({ PORT: String(port), ZEKRON_DATA_DIR: dataDir }),
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (!out.includes("curl -s") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    try {
      expect(out).toMatch(/Admin token \(kept in the data dir\): zka_\S+/);
      expect(out).toMatch(/Its API key \(shown once\): zk_live_[0-9A-Za-z]{38}/);
      const lines = out.split("\n").filter((l) => l.trim().startsWith("curl -s"));
      expect(lines).toHaveLength(2);
      const work = tempDir();
      execFileSync("bash", ["-c", lines[0]!.trim()], { cwd: work, encoding: "utf8" });
      const response = JSON.parse(
        execFileSync("cat", ["response.json"], { cwd: work, encoding: "utf8" }),
      ) as {
        success: boolean;
        data: { size: string };
      };
      expect(response.success).toBe(true);
      expect(response.data.size).toBe("512x512");
      const balance = JSON.parse(execFileSync("bash", ["-c", lines[1]!.trim()], { encoding: "utf8" })) as {
        data: { balance: string };
      };
      expect(Number(balance.data.balance)).toBeLessThan(10);
      expect(out).not.toMatch(/"level"/); // the banner is plain text, not a log line
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});
