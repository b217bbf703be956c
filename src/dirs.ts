import { mkdirSync, statSync } from "node:fs";
import path from "node:path";

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

/**
 * `mkdir -p`: makes `dir` and each missing parent once, then gives the error. Node 20's own recursive
 * mkdir loops for ever where a directory cannot be made under a parent that exists (mkdir says ENOENT
 * under /proc, the parent is there, and it tries again), so that a data dir of `/proc/x` hung the start
 * with nothing said.
 */
export function makeDirSync(dir: string): void {
  const err = mkdirOnce(dir);
  if (!err) return;
  const parent = path.dirname(dir);
  if (code(err) !== "ENOENT" || parent === dir) throw err;
  makeDirSync(parent);
  const again = mkdirOnce(dir);
  if (again) throw again;
}

/** One mkdir: undefined when `dir` is a directory afterwards (made now, or already there), else the error. */
function mkdirOnce(dir: string): unknown {
  try {
    mkdirSync(dir);
    return undefined;
  } catch (err) {
    return code(err) === "EEXIST" && statSync(dir).isDirectory() ? undefined : err;
  }
}
