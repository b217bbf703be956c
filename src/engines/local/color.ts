/** Colour arithmetic on "#rrggbb" strings, which is what the SVG builders emit. */

export type Rgb = [number, number, number];

const clamp255 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

export function parseHex(color: string): Rgb {
  const h = color.startsWith("#") ? color.slice(1) : color;
  const full =
    h.length === 3
      ? h
          .split("")
          .map((c) => c + c)
          .join("")
      : h;
  const n = Number.parseInt(full, 16);
  if (full.length !== 6 || Number.isNaN(n)) throw new Error(`not a hex colour: ${color}`);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export function toHex([r, g, b]: Rgb): string {
  return "#" + ((1 << 24) | (clamp255(r) << 16) | (clamp255(g) << 8) | clamp255(b)).toString(16).slice(1);
}

export function mix(a: string, b: string, t: number): string {
  const x = parseHex(a);
  const y = parseHex(b);
  const k = clamp01(t);
  return toHex([x[0] + (y[0] - x[0]) * k, x[1] + (y[1] - x[1]) * k, x[2] + (y[2] - x[2]) * k]);
}

export const lighten = (c: string, t: number): string => mix(c, "#ffffff", t);
export const darken = (c: string, t: number): string => mix(c, "#000000", t);

export function luminance(c: string): number {
  const [r, g, b] = parseHex(c);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

/** h in degrees, s and l in [0, 1]. */
export function rgbToHsl([r, g, b]: Rgb): [number, number, number] {
  const rn = r / 255;
  const gn = g / 255;
  const bn = b / 255;
  const max = Math.max(rn, gn, bn);
  const min = Math.min(rn, gn, bn);
  const l = (max + min) / 2;
  if (max === min) return [0, 0, l];
  const d = max - min;
  const s = l > 0.5 ? d / (2 - max - min) : d / (max + min);
  let h: number;
  if (max === rn) h = (gn - bn) / d + (gn < bn ? 6 : 0);
  else if (max === gn) h = (bn - rn) / d + 2;
  else h = (rn - gn) / d + 4;
  return [h * 60, s, l];
}

export function hslToRgb(h: number, s: number, l: number): Rgb {
  const hh = (((h % 360) + 360) % 360) / 360;
  if (s === 0) return [l * 255, l * 255, l * 255];
  const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
  const p = 2 * l - q;
  const channel = (t0: number): number => {
    let t = t0;
    if (t < 0) t += 1;
    if (t > 1) t -= 1;
    if (t < 1 / 6) return p + (q - p) * 6 * t;
    if (t < 1 / 2) return q;
    if (t < 2 / 3) return p + (q - p) * (2 / 3 - t) * 6;
    return p;
  };
  return [channel(hh + 1 / 3) * 255, channel(hh) * 255, channel(hh - 1 / 3) * 255];
}

export const hsl = (h: number, s: number, l: number): string => toHex(hslToRgb(h, clamp01(s), clamp01(l)));

/** Signed shortest angular distance from a to b, in degrees. */
export function hueDelta(a: number, b: number): number {
  return ((((b - a) % 360) + 540) % 360) - 180;
}

/** Pull a colour's hue and saturation toward a target while mostly keeping its lightness (value structure). */
export function toward(c: string, target: string, amount: number): string {
  const [h, s, l] = rgbToHsl(parseHex(c));
  const [th, ts, tl] = rgbToHsl(parseHex(target));
  const k = clamp01(amount);
  const hueFrom = s < 0.04 ? th : h;
  return hsl(hueFrom + hueDelta(hueFrom, th) * k, s + (ts - s) * k * 0.8, l + (tl - l) * k * 0.25);
}

export function saturate(c: string, factor: number): string {
  const [h, s, l] = rgbToHsl(parseHex(c));
  return hsl(h, s * factor, l);
}

export function shiftHue(c: string, degrees: number): string {
  const [h, s, l] = rgbToHsl(parseHex(c));
  return hsl(h + degrees, s, l);
}

/**
 * Colour words a prompt may use, mapped to the hue a painter would reach for. Without a prototype, so that
 * a prompt's word looked up here ("constructor", "toString") is a colour or nothing, never an inherited
 * function.
 */
export const NAMED_COLORS: Record<string, string> = Object.assign(
  Object.create(null) as Record<string, string>,
  {
    red: "#d83a34",
    crimson: "#b3142e",
    scarlet: "#e0301e",
    orange: "#f08a24",
    amber: "#f2a900",
    yellow: "#f4d03f",
    gold: "#e0b43c",
    green: "#3fa34d",
    emerald: "#1f9e6e",
    lime: "#9bd531",
    mint: "#8fe3c4",
    olive: "#7d8a2e",
    teal: "#1b998b",
    turquoise: "#2ec4b6",
    cyan: "#22c7e0",
    aqua: "#3fd0d4",
    blue: "#2f6fdb",
    azure: "#3a8ee6",
    navy: "#1b2a6b",
    indigo: "#4b3fa8",
    purple: "#8a3fb8",
    violet: "#7f52d6",
    lavender: "#b59ce6",
    magenta: "#d6339b",
    pink: "#f27aa8",
    coral: "#f47c5f",
    peach: "#f6b38a",
    brown: "#8a5a36",
    silver: "#b8bec8",
    grey: "#8a8f98",
    gray: "#8a8f98",
    white: "#f4f4f0",
    black: "#15151a",
  },
);
