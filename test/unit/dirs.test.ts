import { describe, expect, it } from "vitest";
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { makeDirSync } from "../../src/dirs.js";
import { tempDir } from "../helpers/db.js";

describe("makeDirSync", () => {
  it("makes a directory and its missing parents, and takes one that is there", () => {
    const root = tempDir();
    try {
      const deep = path.join(root, "a", "b", "c");
      makeDirSync(deep);
      expect(statSync(deep).isDirectory()).toBe(true);
      makeDirSync(deep);
      makeDirSync(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("refuses a path through or onto a file", () => {
    const root = tempDir();
    try {
      writeFileSync(path.join(root, "f"), "a file");
      expect(() => makeDirSync(path.join(root, "f"))).toThrow(/EEXIST/);
      expect(() => makeDirSync(path.join(root, "f", "x"))).toThrow(/ENOTDIR/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  // Node's own recursive mkdir never returns here (this test would hang; startup.test.ts runs the same
  // case in a child process it kills).
  it.runIf(existsSync("/proc/self"))(
    "gives up under /proc, where mkdir says ENOENT below a parent that exists",
    () => {
      expect(() => makeDirSync("/proc/zekron-no-such-dir/x")).toThrow(/ENOENT/);
    },
  );
});
