/** Time as the services see it; tests inject a clock they can move. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `2026-01-01T12:00:00+00:00`, the shape the API shows. */
export function apiTime(value: string | number): string {
  const d = typeof value === "number" ? new Date(value) : new Date(value);
  return d.toISOString().replace(/\.\d{3}Z$/, "+00:00");
}
