import { describe, expect, it } from "vitest";
import { MAX_ATTEMPTS, nextDelayMs } from "../../src/webhooks/schedule.js";

const S = 1000;
const H = 3600 * S;
const BASE = [10 * S, 60 * S, 300 * S, 1800 * S, 2 * H, 5 * H, 10 * H];
const mid = () => 0.5;

describe("webhook retry schedule", () => {
  it("waits 10 s, 60 s, 300 s, then 30 min, 2 h, 5 h, 10 h, then gives up", () => {
    expect(MAX_ATTEMPTS).toBe(BASE.length + 1);
    const delays = Array.from({ length: MAX_ATTEMPTS }, (_, i) => nextDelayMs(i + 1, { random: mid }));
    expect(delays).toEqual([...BASE, null]);
    expect(nextDelayMs(MAX_ATTEMPTS + 5, { random: mid })).toBeNull();
  });

  it("stays within 24 h in all, even at full jitter", () => {
    const total = (random: () => number) =>
      Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => nextDelayMs(i + 1, { random }) ?? 0).reduce(
        (a, b) => a + b,
      );
    expect(total(() => 0.999999)).toBeLessThan(24 * H);
    expect(total(() => 0)).toBeGreaterThan(12 * H);
  });

  it("jitters by at most 10%, deterministically when given random", () => {
    expect(nextDelayMs(1, { random: () => 0 })).toBe(9 * S);
    expect(nextDelayMs(1, { random: () => 0.999999 })).toBeCloseTo(11 * S, -1);
    expect(nextDelayMs(4, { random: () => 0.25 })).toBe(1800 * S * 0.95);
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      const base = BASE[attempt - 1]!;
      const seen = new Set<number>();
      for (let i = 0; i < 200; i++) {
        const d = nextDelayMs(attempt)!;
        expect(d).toBeGreaterThanOrEqual(base * 0.9);
        expect(d).toBeLessThanOrEqual(base * 1.1);
        seen.add(d);
      }
      expect(seen.size).toBeGreaterThan(1);
    }
  });

  it("lets a longer Retry-After win, capped at 24 h, and ignores a shorter one", () => {
    expect(nextDelayMs(1, { random: mid, retryAfterSec: 120 })).toBe(120 * S);
    expect(nextDelayMs(1, { random: mid, retryAfterSec: 5 })).toBe(10 * S);
    expect(nextDelayMs(5, { random: mid, retryAfterSec: 60 })).toBe(2 * H);
    expect(nextDelayMs(2, { random: mid, retryAfterSec: 7 * 24 * 3600 })).toBe(24 * H);
    expect(nextDelayMs(1, { random: mid, retryAfterSec: Number.NaN })).toBe(10 * S);
  });

  it("returns null when no attempts are left, whatever Retry-After says", () => {
    expect(nextDelayMs(MAX_ATTEMPTS, { retryAfterSec: 30 })).toBeNull();
  });

  it("rejects attempt counts below 1", () => {
    expect(() => nextDelayMs(0)).toThrow(RangeError);
    expect(() => nextDelayMs(1.5)).toThrow(RangeError);
  });
});
