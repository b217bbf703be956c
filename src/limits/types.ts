import type { MaybePromise } from "../maybe.js";

export interface RateResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch milliseconds when the current window ends. */
  resetAt: number;
}

export interface Lease {
  /** Idempotent. */
  release(): void;
}

/**
 * Rate and concurrency limits per key. The in-memory implementation serves one process and answers at
 * once; a Redis one replaces it when several processes must share the counts, and answers with promises.
 */
export interface Limiter {
  hit(key: string, limit: number, windowMs: number, now: number): MaybePromise<RateResult>;
  /** A concurrency slot, or null when `max` are already taken. */
  acquire(key: string, max: number): MaybePromise<Lease | null>;
}
