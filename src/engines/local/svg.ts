/**
 * SVG text builders. A scene is drawn in "units": the canvas is always 1000 units tall and
 * 1000 * aspect wide, so composition is the same at every pixel size.
 */

export type Stop = [offset: number, color: string, opacity?: number];
export type Point = [number, number];

/** One decimal is below a pixel at any supported size and keeps the SVG small. */
export const n = (v: number): string => String(Math.round(v * 10) / 10);

export const paint = (color: string, opacity = 1): string =>
  opacity >= 1 ? `fill="${color}"` : `fill="${color}" fill-opacity="${n2(opacity)}"`;

export const n2 = (v: number): string => String(Math.round(v * 100) / 100);

export class Layer {
  private readonly defs: string[] = [];
  private readonly parts: string[] = [];
  private count = 0;

  constructor(
    private readonly prefix: string,
    /** Flat style: gradients collapse to solid colours and glows disappear. */
    readonly flat: boolean,
  ) {}

  id(): string {
    return `${this.prefix}${this.count++}`;
  }

  def(markup: string): void {
    this.defs.push(markup);
  }

  add(...markup: string[]): void {
    for (const m of markup) this.parts.push(m);
  }

  /** A linear gradient; coordinates are in the shape's bounding box unless userSpace is set. */
  linear(stops: Stop[], x1 = 0, y1 = 0, x2 = 0, y2 = 1, userSpace = false): string {
    if (this.flat) return middle(stops);
    const id = this.id();
    const units = userSpace ? ` gradientUnits="userSpaceOnUse"` : "";
    const c = userSpace ? n : n2;
    this.defs.push(
      `<linearGradient id="${id}"${units} x1="${c(x1)}" y1="${c(y1)}" x2="${c(x2)}" y2="${c(y2)}">${stopTags(stops)}</linearGradient>`,
    );
    return `url(#${id})`;
  }

  /** A radial gradient (returns "none" in flat style, where soft glows are dropped). */
  radial(stops: Stop[], cx = 0.5, cy = 0.5, r = 0.5, userSpace = false): string {
    if (this.flat) return "none";
    const id = this.id();
    const units = userSpace ? ` gradientUnits="userSpaceOnUse"` : "";
    const c = userSpace ? n : n2;
    this.defs.push(
      `<radialGradient id="${id}"${units} cx="${c(cx)}" cy="${c(cy)}" r="${c(r)}">${stopTags(stops)}</radialGradient>`,
    );
    return `url(#${id})`;
  }

  get empty(): boolean {
    return this.parts.length === 0;
  }

  render(unitW: number, unitH: number, pxW: number, pxH: number): string {
    return (
      `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${pxW}" height="${pxH}" ` +
      `viewBox="0 0 ${n(unitW)} ${n(unitH)}" preserveAspectRatio="none">` +
      `<defs>${this.defs.join("")}</defs>${this.parts.join("")}</svg>`
    );
  }
}

function stopTags(stops: Stop[]): string {
  return stops
    .map(([o, c, a]) => {
      const alpha = a === undefined || a >= 1 ? "" : ` stop-opacity="${n2(a)}"`;
      return `<stop offset="${n2(o)}" stop-color="${c}"${alpha}/>`;
    })
    .join("");
}

/**
 * A gradient's flat stand-in: its middle stop's colour at the gradient's average opacity, so that a wash
 * that fades in or out (fog, a reflection's fade) stays a wash rather than an opaque slab.
 */
function middle(stops: Stop[]): string {
  const first = stops[0];
  const last = stops.at(-1);
  const mid = stops[Math.floor(stops.length / 2)];
  if (!first || !last || !mid) return "#000000";
  const alpha = (stop: Stop) => stop[2] ?? 1;
  // The mean over 0..1: the end stops' opacity before the first and after the last, straight between.
  let opacity = first[0] * alpha(first) + (1 - last[0]) * alpha(last);
  for (let i = 1; i < stops.length; i++) {
    const a = stops[i - 1] as Stop;
    const b = stops[i] as Stop;
    opacity += ((b[0] - a[0]) * (alpha(a) + alpha(b))) / 2;
  }
  const hex = /^#([0-9a-f]{6})$/i.exec(mid[1]);
  if (opacity >= 0.995 || !hex) return mid[1];
  const v = parseInt(hex[1]!, 16);
  return `rgba(${(v >> 16) & 255},${(v >> 8) & 255},${v & 255},${n2(opacity)})`;
}

export function polyline(points: Point[]): string {
  return points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${n(x)} ${n(y)}`).join("");
}

/** A closed polygon path. */
export function polygon(points: Point[]): string {
  return polyline(points) + "Z";
}

/** Catmull-Rom through the points, as cubic Béziers: smooth hills, dunes and waves. */
export function smoothLine(points: Point[], tension = 1): string {
  if (points.length < 2) return "";
  const first = points[0] as Point;
  let d = `M${n(first[0])} ${n(first[1])}`;
  for (let i = 0; i < points.length - 1; i++) {
    const p0 = (points[i - 1] ?? points[i]) as Point;
    const p1 = points[i] as Point;
    const p2 = points[i + 1] as Point;
    const p3 = (points[i + 2] ?? p2) as Point;
    const k = tension / 6;
    d +=
      `C${n(p1[0] + (p2[0] - p0[0]) * k)} ${n(p1[1] + (p2[1] - p0[1]) * k)} ` +
      `${n(p2[0] - (p3[0] - p1[0]) * k)} ${n(p2[1] - (p3[1] - p1[1]) * k)} ${n(p2[0])} ${n(p2[1])}`;
  }
  return d;
}

/** The area under a ridge line down to `bottom`, closed. */
export function areaUnder(ridge: string, points: Point[], bottom: number): string {
  const first = points[0] as Point;
  const last = points[points.length - 1] as Point;
  return `${ridge}L${n(last[0])} ${n(bottom)}L${n(first[0])} ${n(bottom)}Z`;
}

export function circle(cx: number, cy: number, r: number): string {
  return `M${n(cx - r)} ${n(cy)}a${n(r)} ${n(r)} 0 1 0 ${n(2 * r)} 0a${n(r)} ${n(r)} 0 1 0 ${n(-2 * r)} 0Z`;
}

export function ellipse(cx: number, cy: number, rx: number, ry: number): string {
  return `M${n(cx - rx)} ${n(cy)}a${n(rx)} ${n(ry)} 0 1 0 ${n(2 * rx)} 0a${n(rx)} ${n(ry)} 0 1 0 ${n(-2 * rx)} 0Z`;
}

export function rect(x: number, y: number, w: number, h: number): string {
  return `M${n(x)} ${n(y)}h${n(w)}v${n(h)}h${n(-w)}Z`;
}

export function roundRect(x: number, y: number, w: number, h: number, r: number): string {
  const rr = Math.min(r, w / 2, h / 2);
  return (
    `M${n(x + rr)} ${n(y)}h${n(w - 2 * rr)}a${n(rr)} ${n(rr)} 0 0 1 ${n(rr)} ${n(rr)}v${n(h - 2 * rr)}` +
    `a${n(rr)} ${n(rr)} 0 0 1 ${n(-rr)} ${n(rr)}h${n(-(w - 2 * rr))}a${n(rr)} ${n(rr)} 0 0 1 ${n(-rr)} ${n(-rr)}` +
    `v${n(-(h - 2 * rr))}a${n(rr)} ${n(rr)} 0 0 1 ${n(rr)} ${n(-rr)}Z`
  );
}

export const pathTag = (d: string, attrs: string): string => (d ? `<path d="${d}" ${attrs}/>` : "");
