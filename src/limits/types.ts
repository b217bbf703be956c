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
 * Rate and concurrency limits per key. The in-memory implementation serves one process; a Redis one
 * replaces it when several processes must share the counts.
 */
export interface Limiter {
  hit(key: string, limit: number, windowMs: number, now: number): Promise<RateResult>;
  /** A concurrency slot, or null when `max` are already taken. */
  acquire(key: string, max: number): Promise<Lease | null>;
}
