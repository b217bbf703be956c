import type { Lease, Limiter, RateResult } from "./types.js";

interface Window {
  start: number;
  count: number;
}

/** Fixed windows per key; stale windows are dropped as they are met, so memory stays bounded by active keys. */
export class MemoryLimiter implements Limiter {
  private readonly windows = new Map<string, Window>();
  private readonly inFlight = new Map<string, number>();
  private lastSweep = 0;

  hit(key: string, limit: number, windowMs: number, now: number): RateResult {
    this.sweep(now, windowMs);
    const start = now - (now % windowMs);
    let w = this.windows.get(key);
    if (!w || w.start !== start) {
      w = { start, count: 0 };
      this.windows.set(key, w);
    }
    const allowed = w.count < limit;
    if (allowed) w.count++;
    return { allowed, limit, remaining: Math.max(0, limit - w.count), resetAt: start + windowMs };
  }

  acquire(key: string, max: number): Lease | null {
    const n = this.inFlight.get(key) ?? 0;
    if (n >= max) return null;
    this.inFlight.set(key, n + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const left = (this.inFlight.get(key) ?? 1) - 1;
        if (left <= 0) this.inFlight.delete(key);
        else this.inFlight.set(key, left);
      },
    };
  }

  private sweep(now: number, windowMs: number) {
    if (now - this.lastSweep < windowMs) return;
    this.lastSweep = now;
    for (const [k, w] of this.windows) if (w.start + windowMs <= now) this.windows.delete(k);
  }
}
