import { describe, expect, it } from "vitest";
import { andThen, settle } from "../../src/maybe.js";

describe("MaybePromise steps", () => {
  it("andThen runs at once on a value, later on a promise or any thenable", async () => {
    expect(andThen(2, (n) => n * 3)).toBe(6);
    const later = andThen(Promise.resolve(2), (n) => n * 3);
    expect(later).toBeInstanceOf(Promise);
    expect(await later).toBe(6);
    const thenable = { then: (ok: (n: number) => void) => ok(5) } as unknown as Promise<number>;
    expect(await andThen(thenable, (n) => n + 1)).toBe(6);
  });

  it("settle reports once: in the same turn for a value, after a promise; a throw and a rejection as errors", async () => {
    const calls: unknown[] = [];
    settle(
      () => 1,
      (err) => calls.push(err ?? "ok"),
    );
    expect(calls).toEqual(["ok"]);
    const boom = new Error("boom");
    settle(
      () => {
        throw boom;
      },
      (err) => calls.push(err),
    );
    expect(calls).toEqual(["ok", boom]);
    await new Promise<void>((r) =>
      settle(
        () => Promise.reject(boom),
        (err) => (calls.push(err), r()),
      ),
    );
    expect(calls).toEqual(["ok", boom, boom]);
    // A failure without an error must not read as success.
    const errs: (Error | undefined)[] = [];
    settle(
      () => {
        throw undefined;
      },
      (err) => errs.push(err),
    );
    await new Promise<void>((r) =>
      settle(
        () => Promise.reject(undefined),
        (err) => (errs.push(err), r()),
      ),
    );
    expect(errs.map((e) => e instanceof Error)).toEqual([true, true]);
  });
});
