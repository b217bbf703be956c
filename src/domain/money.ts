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

const DECIMAL = { 4: /^(-)?(\d{1,9})(?:\.(\d{1,4}))?$/, 6: /^(-)?(\d{1,9})(?:\.(\d{1,6}))?$/ };

/**
 * Parses "5", "5.00" or "0.0267" into micro-dollars: up to 6 places, or up to 4 (`places`), as every amount
 * is shown; null when not such a decimal amount.
 */
export function parseMoney(value: unknown, places: 4 | 6 = 6): number | null {
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string") return null;
  const m = DECIMAL[places].exec(text.trim());
  if (!m) return null;
  const micros = Number(m[2]) * MICROS_PER_DOLLAR + Number((m[3] ?? "").padEnd(6, "0"));
  return m[1] ? -micros : micros;
}
