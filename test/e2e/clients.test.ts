import { describe, expect, it } from "vitest";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { serverFixture, samplePng, type TestServer } from "../helpers/server.js";
import { tempDir } from "../helpers/db.js";

// Async on purpose: the server runs in this process, so a synchronous child would block it.
const run = promisify(execFile);
const CLIENTS = path.resolve(import.meta.dirname, "../clients");

/** Seed 000's examples, copied verbatim into test/clients/, with only the base URL and key swapped. */
function prepare(file: string, url: string, key: string, dir: string): string {
  const src = readFileSync(path.join(CLIENTS, file), "utf8")
    .replace("https://api.zekron.codes", url)
    .replace("zk_live_abc123...", key);
  const out = path.join(dir, file);
  writeFileSync(out, src);
  return out;
}

function python(): string {
  for (const exe of ["python3", "/usr/bin/python3"]) {
    if (spawnSync(exe, ["-c", "import requests"]).status === 0) return exe;
  }
  throw new Error("no python3 with the requests module (apt-get install python3-requests)");
}

describe("seed 000's client examples run unchanged against a real server", () => {
  let srv: TestServer;
  let key: string;
  serverFixture("10.00", (f) => ({ srv, key } = f));

  it("Python: generate", async () => {
    const dir = tempDir();
    const { stdout: out } = await run(python(), [prepare("seed000_generate.py", srv.url, key, dir)], {
      cwd: dir,
    });
    expect(out).toMatch(/^Image saved! Cost: \$0\.02\d\d$/m);
    const meta = await sharp(path.join(dir, "robot.png")).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 1024, 1024]);
  });

  it("Python: edit", async () => {
    const dir = tempDir();
    writeFileSync(
      path.join(dir, "original.jpg"),
      await sharp(await samplePng(200, 150))
        .jpeg()
        .toBuffer(),
    );
    await run(python(), [prepare("seed000_edit.py", srv.url, key, dir)], { cwd: dir });
    const meta = await sharp(path.join(dir, "winter_version.png")).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 1024, 1024]);
  });

  it("Node: generate", async () => {
    const dir = tempDir();
    const { stdout: out } = await run(
      process.execPath,
      [prepare("seed000_generate.cjs", srv.url, key, dir)],
      {
        cwd: dir,
      },
    );
    expect(out).toMatch(/^Image saved! Cost: \$0\.02\d\d$/m);
    const meta = await sharp(path.join(dir, "output.png")).metadata();
    expect([meta.format, meta.width]).toEqual(["png", 1024]);
  });
});
