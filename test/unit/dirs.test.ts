import { describe, expect, it } from "vitest";
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { makeDirSync } from "../../src/dirs.js";
import { tempDir } from "../helpers/db.js";

describe("makeDirSync", () => {
  const make = async (d: string) => makeDirSync(d);
  it("makes a directory and its missing parents, and takes one that is there", async () => {
    const root = tempDir();
    try {
      const deep = path.join(root, "a", "b", "c");
      await make(deep);
      expect(statSync(deep).isDirectory()).toBe(true);
      await make(deep);
      await make(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("refuses a path through or onto a file", async () => {
    const root = tempDir();
    try {
      writeFileSync(path.join(root, "f"), "a file");
      await expect(make(path.join(root, "f"))).rejects.toThrow(/EEXIST/);
      await expect(make(path.join(root, "f", "x"))).rejects.toThrow(/ENOTDIR/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  // Node's own recursive mkdir never returns here.
  it.runIf(existsSync("/proc/self"))(
    "gives up under /proc, where mkdir says ENOENT below a parent that exists",
    async () => {
      await expect(make("/proc/zekron-no-such-dir/x")).rejects.toThrow(/ENOENT/);
    },
  );
});
