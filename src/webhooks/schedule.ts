const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Waits after the 1st, 2nd, ... failed attempt: about 17.6 h in all, under 20 h with full jitter. */
const DELAYS_MS = [10 * SECOND, 60 * SECOND, 300 * SECOND, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR];
const JITTER = 0.1;
const MAX_RETRY_AFTER_MS = 24 * HOUR;

/** The first attempt plus one retry per scheduled delay. */
export const MAX_ATTEMPTS = DELAYS_MS.length + 1;

/**
 * How long to wait before the next attempt, given how many attempts have been made (1 after the first
 * failure), or null when none are left. Jitter (±10%) keeps endpoints that failed together from being
 * retried together; a longer Retry-After from the receiver wins, up to 24 h.
 */
export function nextDelayMs(
  attempt: number,
  opts: { retryAfterSec?: number; random?: () => number } = {},
): number | null {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be >= 1, got ${attempt}`);
  const base = DELAYS_MS[attempt - 1];
  if (base === undefined) return null;
  const random = opts.random ?? Math.random;
  const delay = Math.round(base * (1 + JITTER * (2 * random() - 1)));
  const retryAfter = opts.retryAfterSec;
  if (retryAfter !== undefined && Number.isFinite(retryAfter) && retryAfter * SECOND > delay) {
    return Math.min(Math.round(retryAfter * SECOND), MAX_RETRY_AFTER_MS);
  }
  return delay;
}
