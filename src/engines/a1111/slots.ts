/**
 * A small counting semaphore. The router already limits each instance, but an sdapi server runs one job at
 * a time and overlapping calls are not safe, so the engine holds its own limit as well: a second router,
 * a retry racing a late answer or a test calling the engine directly still cannot overlap jobs.
 */
import { abortError } from "../shared/upstream.js";

interface Waiter {
  grant(): void;
}

export class Slots {
  private free: number;
  private readonly waiters: Waiter[] = [];

  constructor(size: number) {
    this.free = Number.isFinite(size) && size >= 1 ? Math.floor(size) : 1;
  }

  /** Resolves with a release function once a slot is free; rejects if the signal aborts first. */
  acquire(signal: AbortSignal, what: string): Promise<() => void> {
    if (signal.aborted) return Promise.reject(abortError(signal, what));
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal.removeEventListener("abort", onAbort);
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortError(signal, what));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiters.shift();
      // The slot passes straight to the next waiter, so a newcomer cannot slip in between.
      if (next) next.grant();
      else this.free++;
    };
  }
}
