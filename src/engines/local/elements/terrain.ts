/** Land and water: mountain ranges, hills, dunes, fields, beaches, and the water surface with reflections. */
import { darken, lighten, mix } from "../color.js";
import type { Rng } from "../rng.js";
import {
  areaUnder,
  ellipse,
  n,
  paint,
  pathTag,
  polygon,
  polyline,
  rect,
  smoothLine,
  type Point,
} from "../svg.js";
import type { Ctx } from "./context.js";

/** Midpoint displacement: a believable ridge line from left to right. */
export function ridge(
  rng: Rng,
  W: number,
  base: number,
  amp: number,
  roughness: number,
  levels = 6,
): Point[] {
  const count = (1 << levels) + 1;
  const ys = new Array<number>(count).fill(base);
  ys[0] = base - rng.range(0, amp);
  ys[count - 1] = base - rng.range(0, amp);
  let step = count - 1;
  let scale = amp;
  while (step > 1) {
    const half = step / 2;
    for (let i = half; i < count; i += step) {
      const a = ys[i - half] ?? base;
      const b = ys[i + half] ?? base;
      ys[i] = (a + b) / 2 + rng.range(-scale, scale);
    }
    scale *= roughness;
    step = half;
  }
  const x0 = -W * 0.05;
  const span = W * 1.1;
  return ys.map((y, i) => [x0 + (span * i) / (count - 1), Math.min(y, base + amp * 0.25)]);
}

function peaksOf(points: Point[]): number[] {
  const out: number[] = [];
  for (let i = 2; i < points.length - 2; i++) {
    const y = (points[i] as Point)[1];
    if (
      y < (points[i - 1] as Point)[1] &&
      y < (points[i + 1] as Point)[1] &&
      y <= (points[i - 2] as Point)[1] &&
      y <= (points[i + 2] as Point)[1]
    )
      out.push(i);
  }
  return out;
}

export interface RangeOptions {
  depth: number;
  base: number;
  amp: number;
  roughness: number;
  snowLine: number | null;
  reflect: boolean;
}

/** One mountain range: hazed body, shaded faces away from the light, snow caps above the snow line. */
export function mountainRange(ctx: Ctx, o: RangeOptions): void {
  const { fg, rng, W, pal } = ctx;
  const pts = ridge(rng, W, o.base, o.amp, o.roughness);
  const body = mix(mix(pal.rock, pal.rockDark, 0.6), pal.distant, Math.pow(o.depth, 0.8) * 0.92);
  const bottom = ctx.hy + 4;
  const line = polyline(pts);
  const d = areaUnder(line, pts, bottom);
  // Near ranges are wooded lower down; far ones just fade into the haze at their feet.
  const foot = o.depth < 0.5 ? mix(pal.foliageDark, pal.distant, o.depth) : mix(body, pal.haze, 0.35);
  const fill = fg.linear([
    [0, body],
    [0.45, body],
    [1, foot],
  ]);
  fg.add(pathTag(d, `fill="${fill}"`));
  if (o.reflect) ctx.reflect.push(pathTag(d, paint(mix(body, pal.haze, 0.2))));

  // Each prominent peak throws its far face into shade: from the peak along the ridge to the valley,
  // then down to the foot. Small bumps are skipped or the range turns into stripes.
  const away = ctx.light.x > W / 2 ? -1 : 1;
  let shade = "";
  let lit = "";
  for (const p of peaksOf(pts)) {
    const peak = pts[p] as Point;
    const faces: Point[][] = [];
    let prominent = true;
    for (const side of [away, -away]) {
      // Walk down the ridge, stepping over small bumps, until it climbs back up noticeably.
      let valley = p;
      for (let k = p + side; pts[k]; k += side) {
        const y = (pts[k] as Point)[1];
        if (y > (pts[valley] as Point)[1]) valley = k;
        else if (y < (pts[valley] as Point)[1] - o.amp * 0.12 || y < peak[1]) break;
      }
      const v = pts[valley] as Point;
      if (v[1] - peak[1] < o.amp * 0.18) prominent = false;
      const face: Point[] = [];
      for (let k = p; k !== valley + side && pts[k]; k += side) face.push(pts[k] as Point);
      // Both lower edges slant in toward the peak: creases, not vertical seams.
      face.push([v[0] - (v[0] - peak[0]) * 0.35, bottom], [peak[0] + (v[0] - peak[0]) * 0.2, bottom]);
      faces.push(face);
    }
    if (!prominent) continue;
    shade += polygon(faces[0] as Point[]);
    lit += polygon(faces[1] as Point[]);
  }
  fg.add(pathTag(shade, paint(darken(body, 0.45), 0.12 + 0.14 * (1 - o.depth))));
  if (!ctx.pal.night)
    fg.add(pathTag(lit, paint(mix(body, pal.sun ?? "#ffffff", 0.6), 0.04 + 0.06 * (1 - o.depth))));

  if (o.snowLine !== null) {
    // Caps follow the ridge wherever it rises above the snow line; the lower edge is ragged.
    const line = o.snowLine;
    let caps = "";
    let run: Point[] = [];
    const flush = (): void => {
      if (run.length >= 3) {
        // Depth below the ridge wanders smoothly (a running average of random steps): gullies, not teeth.
        let f = rng.range(0.55, 0.85);
        const under = run
          .map(([x, y]): Point => {
            f = Math.min(0.9, Math.max(0.4, f * 0.6 + rng.range(0.4, 0.95) * 0.4));
            return [x, Math.min(line, y + (line - y) * f + 3)];
          })
          .reverse();
        caps += polygon([...run, ...under]);
      }
      run = [];
    };
    for (const pt of pts) {
      if (pt[1] < line) run.push(pt);
      else flush();
    }
    flush();
    fg.add(pathTag(caps, paint(mix(pal.tone("#f6f8fc"), pal.distant, o.depth * 0.45), 0.92)));
  }
}

/** Rolling hills: smooth and green (or snowy, or golden in autumn). */
export function hills(
  ctx: Ctx,
  base: number,
  amp: number,
  depth: number,
  color: string,
  reflect: boolean,
  bottom = ctx.H + 5,
): Point[] {
  const { fg, rng, W, pal } = ctx;
  const count = rng.int(4, 6);
  const pts: Point[] = [];
  for (let i = 0; i <= count; i++) {
    pts.push([-W * 0.1 + (W * 1.2 * i) / count, base - rng.range(0, amp) + (i % 2 ? amp * 0.3 : 0)]);
  }
  const line = smoothLine(pts);
  const d = areaUnder(line, pts, bottom);
  const c = pal.recede(color, depth);
  const fill = fg.linear([
    [0, lighten(c, 0.08)],
    [1, mix(c, darken(c, 0.4), 1 - depth)],
  ]);
  fg.add(pathTag(d, `fill="${fill}"`));
  if (reflect) ctx.reflect.push(pathTag(d, paint(c)));
  return pts;
}

export function dunes(ctx: Ctx): void {
  const { fg, rng, W, H, hy, pal } = ctx;
  const layers = 4;
  const side = ctx.light.x > W / 2 ? 1 : -1;
  for (let i = 0; i < layers; i++) {
    const depth = 1 - i / (layers - 1);
    const base = hy + (H - hy) * (i / layers) * 0.9 + 8;
    const crestX = W * rng.range(0.1, 0.9);
    const crestY = base - rng.range(40, 110) * (1.2 - depth * 0.6);
    const left: Point = [-20, base + rng.range(-10, 30)];
    const right: Point = [W + 20, base + rng.range(-10, 30)];
    const c = pal.tone(mix("#e8b872", "#d79a58", i / layers), depth * 0.7);
    const d =
      `M${n(left[0])} ${n(left[1])}Q${n((left[0] + crestX) / 2)} ${n(crestY + 10)} ${n(crestX)} ${n(crestY)}` +
      `Q${n((crestX + right[0]) / 2)} ${n(crestY + 20)} ${n(right[0])} ${n(right[1])}L${n(W + 20)} ${n(H + 5)}L-20 ${n(H + 5)}Z`;
    fg.add(pathTag(d, paint(c)));
    // The slope facing away from the sun, from the crest down.
    const far = side > 0 ? left : right;
    const shadow =
      `M${n(crestX)} ${n(crestY)}Q${n((far[0] + crestX) / 2 + side * 30)} ${n((crestY + base) / 2 + 20)} ${n(far[0])} ${n(far[1] + 40)}` +
      `L${n(far[0])} ${n(H + 5)}L${n(crestX - side * 60)} ${n(H + 5)}Q${n(crestX - side * 5)} ${n((crestY + H) / 2)} ${n(crestX)} ${n(crestY)}Z`;
    fg.add(pathTag(shadow, paint(darken(c, 0.3), 0.3)));
    fg.add(
      `<path d="M${n((left[0] + crestX) / 2)} ${n(crestY + 12)}Q${n(crestX - side * 20)} ${n(crestY)} ${n(crestX)} ${n(crestY)}" fill="none" stroke="${lighten(c, 0.3)}" stroke-opacity="0.6" stroke-width="2"/>`,
    );
  }
}

/** The reflected shapes, flipped about the line y = top and clipped to below it. */
export function mirrored(ctx: Ctx, top: number, opacity: number): string {
  const clip = ctx.bg.id();
  ctx.bg.def(
    `<clipPath id="${clip}"><rect y="${n(top)}" width="${n(ctx.W)}" height="${n(ctx.H - top)}"/></clipPath>`,
  );
  return (
    `<g clip-path="url(#${clip})"><g transform="matrix(1 0 0 -1 0 ${n(2 * top)})" opacity="${opacity}">` +
    `${ctx.reflect.join("")}</g></g>`
  );
}

/** The water surface from the horizon down: sky reflection, mirrored landforms, ripples and a sun path. */
export function water(
  ctx: Ctx,
  top: number,
  celestial: { x: number; color: string; strength: number } | null,
): void {
  const { bg, fg, rng, W, H, pal } = ctx;
  // Water mirrors the sky: under cloud it goes grey, whatever its own colour.
  const grey = ctx.has("storm") ? 0.6 : ctx.has("rain") ? 0.4 : 0;
  const dull = (c: string): string => mix(c, "#3c4550", grey);
  const surface = bg.linear(
    [
      [0, dull(mix(pal.skyLow, pal.skyMid, 0.4))],
      [0.35, dull(mix(pal.skyMid, pal.water, 0.5))],
      [1, dull(mix(pal.waterDeep, pal.skyTop, 0.4))],
    ],
    0,
    top,
    0,
    H,
    true,
  );
  bg.add(pathTag(rect(0, top, W, H - top), `fill="${surface}"`));
  if (ctx.reflect.length) {
    bg.add(
      mirrored(ctx, top, 0.8),
      // Reflections lose contrast with distance from the shore line.
      pathTag(
        rect(0, top, W, H - top),
        `fill="${bg.linear(
          [
            [0, pal.water, 0],
            [1, mix(pal.waterDeep, pal.skyTop, 0.4), 0.45],
          ],
          0,
          top,
          0,
          H,
          true,
        )}"`,
      ),
    );
  }
  if (celestial) {
    // The sun's path on the water: a long soft ellipse (soft because bg is drawn small and scaled up).
    const glow = bg.radial([
      [0, lighten(celestial.color, 0.2), 0.75 * celestial.strength],
      [0.5, celestial.color, 0.3 * celestial.strength],
      [1, celestial.color, 0],
    ]);
    if (glow !== "none")
      bg.add(pathTag(ellipse(celestial.x, top, 55 + (H - top) * 0.08, (H - top) * 0.95), `fill="${glow}"`));
  }

  // Ripples: short horizontal strokes, denser and thinner toward the horizon.
  let ripples = "";
  let glints = "";
  const rows = Math.round(42 * (0.4 + 0.6 * ctx.detail));
  for (let i = 0; i < rows; i++) {
    const t = Math.pow((i + rng.next()) / rows, 1.6);
    const y = top + 3 + (H - top) * t;
    const perRow = 3 + Math.round(4 * (1 - t));
    for (let k = 0; k < perRow; k++) {
      const len = (12 + 70 * t) * rng.range(0.5, 1.4);
      const x = rng.range(-20, W);
      ripples += `M${n(x)} ${n(y)}h${n(len)}`;
    }
    if (celestial) {
      const spread = 30 + 110 * t;
      for (let k = 0; k < 3; k++) {
        const len = (6 + 40 * t) * rng.range(0.4, 1.2);
        const x = celestial.x + rng.normal() * spread * 0.5;
        glints += `M${n(x - len / 2)} ${n(y)}h${n(len)}`;
      }
    }
  }
  fg.add(
    pathTag(
      ripples,
      `fill="none" stroke="${lighten(pal.skyLow, 0.2)}" stroke-opacity="0.2" stroke-width="1.6"`,
    ),
  );
  if (ctx.has("storm") || ctx.spec.roughWater) {
    // Whitecaps: short bright crests scattered over a rough sea.
    let caps = "";
    for (let i = 0; i < 90; i++) {
      const t = Math.pow(rng.next(), 1.4);
      const y = top + 6 + (H - top) * t;
      const len = 8 + 40 * t;
      const x = rng.range(0, W);
      caps += `M${n(x)} ${n(y)}q${n(len / 2)} ${n(-len * 0.25)} ${n(len)} 0`;
    }
    fg.add(
      pathTag(
        caps,
        `fill="none" stroke="#f4f6f8" stroke-opacity="0.55" stroke-width="2.2" stroke-linecap="round"`,
      ),
    );
  }
  if (celestial && glints)
    fg.add(
      pathTag(
        glints,
        `fill="none" stroke="${lighten(celestial.color, 0.3)}" stroke-opacity="${n(0.75 * celestial.strength)}" stroke-width="2.4" stroke-linecap="round"`,
      ),
    );
  // A thin bright seam where water meets land.
  fg.add(pathTag(rect(0, top - 0.5, W, 1.5), paint(lighten(pal.skyLow, 0.3), 0.45)));
}

/** Foreground ground: a gentle rise toward the viewer with grass blades along the bottom. */
export function field(ctx: Ctx, top: number, color: string, darkColor: string, blades: boolean): Point[] {
  const { fg, rng, W, H } = ctx;
  const pts: Point[] = [];
  const count = 5;
  for (let i = 0; i <= count; i++) pts.push([-W * 0.1 + (W * 1.2 * i) / count, top + rng.range(-18, 18)]);
  const line = smoothLine(pts);
  const fill = fg.linear([
    [0, color],
    [1, darkColor],
  ]);
  fg.add(pathTag(areaUnder(line, pts, H + 5), `fill="${fill}"`));
  if (blades) {
    let d = "";
    const count2 = Math.round((W / 10) * ctx.detail);
    for (let i = 0; i < count2; i++) {
      const x = rng.range(0, W);
      const y = H - Math.pow(rng.next(), 2) * (H - top) * 0.6 + 4;
      const h = rng.range(10, 26) * (0.4 + (0.6 * (y - top)) / (H - top));
      const lean = rng.range(-6, 6);
      d += `M${n(x - 2)} ${n(y)}Q${n(x + lean * 0.3)} ${n(y - h * 0.6)} ${n(x + lean)} ${n(y - h)}Q${n(x + 1)} ${n(y - h * 0.5)} ${n(x + 2)} ${n(y)}Z`;
    }
    fg.add(pathTag(d, paint(darkColor, 0.9)));
    fg.add(
      pathTag(d, `fill="none" stroke="${lighten(color, 0.25)}" stroke-opacity="0.25" stroke-width="0.8"`),
    );
  }
  return pts;
}

/** A sandy beach in the corner of the frame, with wet sand and a foam line; returns the shore's points. */
export function beach(ctx: Ctx): Point[] {
  const { fg, rng, W, H, pal } = ctx;
  const fromLeft = ctx.light.x > W / 2;
  const y0 = H * rng.range(0.78, 0.86);
  const y1 = H * rng.range(0.9, 1.02);
  const a: Point = fromLeft ? [-10, y0] : [W + 10, y0];
  const b: Point = fromLeft ? [W + 10, y1] : [-10, y1];
  const mid: Point = [W / 2, (y0 + y1) / 2 + rng.range(-15, 15)];
  const shore = smoothLine([a, mid, b]);
  const sand = fg.linear([
    [0, pal.sand],
    [1, pal.sandShade],
  ]);
  fg.add(`<path d="${shore}L${n(b[0])} ${n(H + 5)}L${n(a[0])} ${n(H + 5)}Z" fill="${sand}"/>`);
  const wet = smoothLine([
    [a[0], a[1] + 8],
    [mid[0], mid[1] + 9],
    [b[0], b[1] + 8],
  ]);
  fg.add(`<path d="${shore}${wet.replace(/^M/, "L")}Z" ${paint(darken(pal.sandShade, 0.15), 0.35)}/>`);
  fg.add(
    `<path d="${shore}" fill="none" stroke="#ffffff" stroke-opacity="0.7" stroke-width="3.5" stroke-linecap="round"/>`,
  );
  const foam = smoothLine([
    [a[0], a[1] - 10],
    [mid[0], mid[1] - 12],
    [b[0], b[1] - 10],
  ]);
  fg.add(
    `<path d="${foam}" fill="none" stroke="#ffffff" stroke-opacity="0.3" stroke-width="2" stroke-dasharray="40 18 70 24"/>`,
  );
  return [a, mid, b];
}

/** The height of a shore line (points in any x order) at x, straight between its points. */
export function shoreY(shore: Point[], x: number): number {
  const pts = [...shore].sort((p, q) => p[0] - q[0]);
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0] = pts[i - 1] as Point;
    const [x1, y1] = pts[i] as Point;
    if (x <= x1 || i === pts.length - 1)
      return y0 + ((y1 - y0) * (Math.min(Math.max(x, x0), x1) - x0)) / (x1 - x0 || 1);
  }
  return (pts[0] as Point)[1];
}

/** Rocks and reeds along a shore line, so the near bank is not a bare strip. */
export function shoreDetails(ctx: Ctx, shore: number): void {
  const { fg, rng, W, pal } = ctx;
  let rocks = "";
  let rockLit = "";
  const count = rng.int(3, 6);
  for (let i = 0; i < count; i++) {
    const x = rng.range(0, W);
    const w = rng.range(25, 70);
    const h = w * rng.range(0.35, 0.6);
    const y = shore + rng.range(-6, 14);
    rocks += `M${n(x - w / 2)} ${n(y)}Q${n(x - w * 0.45)} ${n(y - h)} ${n(x)} ${n(y - h)}Q${n(x + w * 0.5)} ${n(y - h * 0.9)} ${n(x + w / 2)} ${n(y)}Z`;
    rockLit += ellipse(x - w * 0.12, y - h * 0.7, w * 0.22, h * 0.18);
  }
  fg.add(pathTag(rocks, paint(mix(pal.rockDark, pal.rock, 0.3))));
  if (!ctx.flat) fg.add(pathTag(rockLit, paint(lighten(pal.rock, 0.3), 0.35)));
  let reeds = "";
  const clumps = rng.int(3, 6);
  for (let c = 0; c < clumps; c++) {
    const cx = rng.range(0, W);
    for (let i = 0; i < 9; i++) {
      const x = cx + rng.range(-22, 22);
      const h = rng.range(40, 95);
      const lean = rng.range(-14, 14);
      reeds += `M${n(x)} ${n(shore + 12)}Q${n(x + lean * 0.3)} ${n(shore - h * 0.6)} ${n(x + lean)} ${n(shore - h)}`;
    }
  }
  fg.add(pathTag(reeds, `fill="none" stroke="${pal.grassDark}" stroke-width="2.4" stroke-linecap="round"`));
}
