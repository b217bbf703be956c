/**
 * A value now, or a promise of it. Steps on the request path return this when they usually finish without
 * waiting (a key looked up in the last second, an in-memory count, an SQLite read while no transaction
 * holds the connection): a request whose steps all finish at once is answered in the same turn of the
 * event loop that read it, as a bare route is, without a promise and a queued callback per step.
 * Failures may come either way (a throw or a rejection); `andThen` and `settle` carry both alike.
 */
export type MaybePromise<T> = T | Promise<T>;

/** Whether a step's result is still to come: any thenable, not only this realm's Promise. */
export function isPending<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === "function";
}

/** `fn` applied to `value`: at once when the value is here, or when it arrives. */
export function andThen<T, U>(value: MaybePromise<T>, fn: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return isPending(value) ? value.then(fn) : fn(value);
}

/**
 * Runs `step` and reports to a Node-style callback: in the same turn when the step finished at once,
 * after it settles otherwise; a throw and a rejection both reach `done` as its error.
 */
export function settle(step: () => MaybePromise<unknown>, done: (err?: Error) => void): void {
  // A failure without an error (`throw undefined`) must not read as success.
  const fail = (err: unknown) =>
    done(err instanceof Error ? err : new Error(`a step failed with ${String(err)}`));
  let result: MaybePromise<unknown>;
  try {
    result = step();
  } catch (err) {
    return fail(err);
  }
  if (isPending(result)) result.then(() => done(), fail);
  else done();
}
