/** Money is integer micro-dollars inside, a 4-place decimal string outside. */
export const MICROS_PER_DOLLAR = 1_000_000;

export function formatMoney(micros: number): string {
  const sign = micros < 0 ? "-" : "";
  const abs = Math.abs(micros);
  // Round half up to 4 places (100 micro-dollars).
  const units = Math.floor((abs + 50) / 100);
  const whole = Math.floor(units / 10_000);
  const frac = String(units % 10_000).padStart(4, "0");
  return `${sign}${whole}.${frac}`;
}

/** Parses "5", "5.00" or "0.0267" (up to 6 places) into micro-dollars; null when not a decimal amount. */
export function parseMoney(value: unknown): number | null {
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string") return null;
  const m = /^(-)?(\d{1,9})(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!m) return null;
  const micros = Number(m[2]) * MICROS_PER_DOLLAR + Number((m[3] ?? "").padEnd(6, "0"));
  return m[1] ? -micros : micros;
}
