/** Trees, forests, bushes and flowers. */
import { darken, lighten, mix } from "../color.js";
import { circle, ellipse, n, paint, pathTag, polygon, roundRect, type Point } from "../svg.js";
import type { Ctx } from "./context.js";

export interface TreeStyle {
  color: string;
  snowy: boolean;
  /** 0 near ... 1 far: far trees lose detail. */
  depth: number;
  /** Mirror into water. */
  reflect?: boolean;
}

/** A conifer: ragged stacked tiers on a short trunk; returns the path so rows can be batched. */
export function pinePath(
  ctx: Ctx,
  x: number,
  base: number,
  h: number,
): { body: string; lit: string; snow: string } {
  const { rng } = ctx;
  const w = h * rng.range(0.32, 0.42);
  const tiers = 4;
  const pts: Point[] = [[x, base - h]];
  const right: Point[] = [];
  for (let i = 1; i <= tiers; i++) {
    const t = i / tiers;
    const y = base - h + h * 0.86 * t;
    const half = (w / 2) * t * rng.range(0.9, 1.1);
    right.push([x + half * 0.62, y - h * 0.07], [x + half, y]);
  }
  pts.push(...right);
  const trunkW = Math.max(2, w * 0.1);
  pts.push(
    [x + trunkW, base - h * 0.14],
    [x + trunkW, base],
    [x - trunkW, base],
    [x - trunkW, base - h * 0.14],
  );
  for (let i = right.length - 1; i >= 0; i--) {
    const [px, py] = right[i] as Point;
    pts.push([2 * x - px + rng.range(-1, 1), py]);
  }
  const body = polygon(pts);
  const side = ctx.light.x > x ? 1 : -1;
  const litPts: Point[] = [[x, base - h]];
  for (const [px, py] of right) litPts.push([x + (px - x) * side, py]);
  litPts.push([x, base - h * 0.14]);
  let snow = "";
  for (const [px, py] of right) {
    const half = Math.abs(px - x);
    snow += polygon([
      [x - half * 0.9, py - 1],
      [x, py - h * 0.12],
      [x + half * 0.9, py - 1],
      [x, py - h * 0.05],
    ]);
  }
  return { body, lit: polygon(litPts), snow };
}

/** A distant conifer: at that size a notched spike is all the eye reads, and it is far cheaper to render. */
function farPinePath(ctx: Ctx, x: number, base: number, h: number): string {
  const w = h * ctx.rng.range(0.28, 0.38);
  return polygon([
    [x, base - h],
    [x + w * 0.3, base - h * 0.5],
    [x + w * 0.18, base - h * 0.5],
    [x + w * 0.5, base],
    [x - w * 0.5, base],
    [x - w * 0.18, base - h * 0.5],
    [x - w * 0.3, base - h * 0.5],
  ]);
}

export function pines(ctx: Ctx, trees: { x: number; base: number; h: number }[], s: TreeStyle): void {
  const { fg } = ctx;
  let body = "";
  let lit = "";
  let snow = "";
  const far = s.depth >= 0.5;
  for (const t of trees) {
    if (far) {
      body += farPinePath(ctx, t.x, t.base, t.h);
      continue;
    }
    const p = pinePath(ctx, t.x, t.base, t.h);
    body += p.body;
    lit += p.lit;
    snow += p.snow;
  }
  fg.add(pathTag(body, paint(s.color)));
  if (s.reflect && trees.length) {
    // The reflection is drawn small and blurred: an outline through every third treetop is plenty.
    const first = trees[0] as { x: number; base: number; h: number };
    const last = trees[trees.length - 1] as { x: number; base: number; h: number };
    const tops: Point[] = trees.filter((_, i) => i % 3 === 0).map((t) => [t.x, t.base - t.h * 0.8]);
    ctx.reflect.push(pathTag(polygon([[first.x, first.base], ...tops, [last.x, last.base]]), paint(s.color)));
  }
  if (!far && !ctx.flat) fg.add(pathTag(lit, paint(lighten(s.color, 0.35), 0.22 * (1 - s.depth))));
  if (s.snowy && !far) fg.add(pathTag(snow, paint(ctx.pal.tone("#f2f6fb", s.depth * 0.7), 0.9)));
}

/** A broadleaf tree: tapered trunk and a cloud of foliage, lit on the sun's side. */
export function broadleaf(ctx: Ctx, x: number, base: number, h: number, s: TreeStyle): void {
  const { fg, rng, pal } = ctx;
  const trunkH = h * 0.42;
  const tw = h * 0.05;
  const trunkColor = mix(pal.trunk, s.color, 0.25);
  fg.add(
    pathTag(
      `M${n(x - tw)} ${n(base)}Q${n(x - tw * 0.4)} ${n(base - trunkH * 0.5)} ${n(x - tw * 0.5)} ${n(base - trunkH)}L${n(x + tw * 0.5)} ${n(base - trunkH)}Q${n(x + tw * 0.5)} ${n(base - trunkH * 0.5)} ${n(x + tw)} ${n(base)}Z` +
        `M${n(x)} ${n(base - trunkH * 0.7)}L${n(x + h * 0.16)} ${n(base - trunkH * 1.25)}L${n(x + h * 0.14)} ${n(base - trunkH * 1.3)}L${n(x - 1)} ${n(base - trunkH * 0.85)}Z`,
      paint(trunkColor),
    ),
  );
  const cx = x;
  const cy = base - trunkH - h * 0.22;
  const rw = h * 0.34;
  let crown = "";
  let hi = "";
  let lo = "";
  const side = ctx.light.x > x ? 1 : -1;
  const blobs = rng.int(7, 10);
  for (let i = 0; i < blobs; i++) {
    const a = (i / blobs) * Math.PI * 2 + rng.range(-0.3, 0.3);
    const rr = rw * rng.range(0.35, 0.55);
    const bx = cx + Math.cos(a) * rw * 0.55;
    const by = cy + Math.sin(a) * rw * 0.42;
    crown += circle(bx, by, rr);
    if (Math.cos(a) * side > 0.1 && Math.sin(a) < 0.3)
      hi += circle(bx + side * rr * 0.15, by - rr * 0.2, rr * 0.7);
    if (Math.sin(a) > 0.3) lo += circle(bx, by + rr * 0.15, rr * 0.75);
  }
  crown += circle(cx, cy, rw * 0.6);
  fg.add(pathTag(crown, paint(s.color)));
  if (!ctx.flat) {
    fg.add(pathTag(lo, paint(darken(s.color, 0.35), 0.45)));
    fg.add(pathTag(hi, paint(lighten(s.color, 0.3), 0.35 * (1 - s.depth))));
  }
  if (s.snowy) {
    fg.add(
      pathTag(ellipse(cx, cy - rw * 0.45, rw * 0.7, rw * 0.22), paint(pal.tone("#f4f7fb", s.depth), 0.85)),
    );
  }
  if (ctx.spec.season === "spring" || (ctx.has("flowers") && rng.chance(0.3))) {
    let blossoms = "";
    for (let i = 0; i < 30; i++)
      blossoms += circle(cx + rng.normal() * rw * 0.45, cy + rng.normal() * rw * 0.32, rng.range(2, 4.5));
    fg.add(pathTag(blossoms, paint(pal.tone("#f6b6cc"), 0.9)));
  }
}

export function palm(ctx: Ctx, x: number, base: number, h: number, color: string): void {
  const { fg, rng, pal } = ctx;
  const lean = rng.range(0.12, 0.3) * (rng.chance(0.5) ? 1 : -1) * h;
  const topX = x + lean;
  const topY = base - h;
  fg.add(
    `<path d="M${n(x)} ${n(base)}Q${n(x + lean * 0.2)} ${n(base - h * 0.6)} ${n(topX)} ${n(topY)}" fill="none" stroke="${mix(pal.trunk, color, 0.2)}" stroke-width="${n(h * 0.045)}" stroke-linecap="round"/>`,
  );
  let fronds = "";
  const count = 7;
  for (let i = 0; i < count; i++) {
    const a = Math.PI * (1.05 + (0.9 * i) / (count - 1)) + rng.range(-0.1, 0.1);
    const len = h * rng.range(0.38, 0.5);
    const ex = topX + Math.cos(a) * len;
    const ey = topY + Math.sin(a) * len * 0.55 + len * 0.35;
    const mx = topX + Math.cos(a) * len * 0.5;
    const my = topY + Math.sin(a) * len * 0.5 - len * 0.12;
    const w = len * 0.12;
    fronds += `M${n(topX)} ${n(topY)}Q${n(mx)} ${n(my - w)} ${n(ex)} ${n(ey)}Q${n(mx)} ${n(my + w)} ${n(topX)} ${n(topY)}Z`;
  }
  fg.add(pathTag(fronds, paint(color)));
  fg.add(
    pathTag(
      circle(topX, topY + 4, h * 0.025) + circle(topX + 7, topY + 6, h * 0.022),
      paint(darken(pal.trunk, 0.2)),
    ),
  );
}

/** A row of conifers along a line, e.g. a treeline in the distance or a forest edge. */
export function treeline(
  ctx: Ctx,
  base: number,
  height: number,
  depth: number,
  density: number,
  snowy: boolean,
  reflect: boolean,
): void {
  const { rng, W, pal } = ctx;
  const trees: { x: number; base: number; h: number }[] = [];
  let x = -20;
  while (x < W + 20) {
    trees.push({ x, base: base + rng.range(-4, 10), h: height * rng.range(0.6, 1.25) });
    x += (height * rng.range(0.18, 0.35)) / density;
  }
  const color = mix(mix(pal.foliageDark, pal.foliage, 0.3), pal.distant, depth * 0.7);
  pines(ctx, trees, { color, snowy, depth, reflect });
}

/** Flowers scattered through a foreground band, larger toward the viewer. */
export function flowers(ctx: Ctx, top: number, count: number, avoid: { x: number; w: number } | null): void {
  const { fg, rng, W, H, pal } = ctx;
  const bound = ctx.spec.palette.bound.flowers;
  const colors = bound ? [pal.accents[0] ?? "#e94f64"] : pal.accents.slice(0, 5);
  const petals = colors.map(() => "");
  let centres = "";
  let stems = "";
  let leaves = "";
  for (let i = 0; i < count; i++) {
    const t = Math.pow(rng.next(), 0.7);
    const y = top + (H - top) * t + 6;
    let x = rng.range(-10, W + 10);
    if (avoid && Math.abs(x - avoid.x) < avoid.w * 0.35 && rng.chance(0.7))
      x += avoid.w * (x > avoid.x ? 0.4 : -0.4);
    const size = 4 + 16 * t * rng.range(0.7, 1.2);
    const stemH = size * rng.range(1.6, 2.6);
    const ci = rng.int(0, colors.length - 1);
    stems += `M${n(x)} ${n(y)}Q${n(x + rng.range(-3, 3))} ${n(y - stemH / 2)} ${n(x)} ${n(y - stemH)}`;
    leaves += ellipse(x + size * 0.35, y - stemH * 0.4, size * 0.35, size * 0.14);
    const fy = y - stemH;
    const k = 5;
    let p = "";
    const rot = rng.range(0, Math.PI);
    for (let j = 0; j < k; j++) {
      const a = rot + (j / k) * Math.PI * 2;
      p += circle(x + Math.cos(a) * size * 0.42, fy + Math.sin(a) * size * 0.32, size * 0.34);
    }
    petals[ci] += p;
    centres += circle(x, fy, size * 0.2);
  }
  const stemColor = pal.tone("#3b7a2a");
  fg.add(pathTag(stems, `fill="none" stroke="${stemColor}" stroke-width="1.6"`));
  fg.add(pathTag(leaves, paint(stemColor)));
  petals.forEach((d, i) => fg.add(pathTag(d, paint(pal.tone(colors[i] ?? "#e94f64")))));
  fg.add(pathTag(centres, paint(pal.tone("#f6d04d"))));
}

export function bushes(ctx: Ctx, base: number, count: number): void {
  const { fg, rng, W, pal } = ctx;
  let d = "";
  let hi = "";
  for (let i = 0; i < count; i++) {
    const x = rng.range(0, W);
    const r = rng.range(25, 55);
    for (let k = 0; k < 4; k++) {
      const bx = x + (k - 1.5) * r * 0.55;
      const by = base - r * rng.range(0.3, 0.7);
      d += circle(bx, by, r * rng.range(0.5, 0.75));
      hi += circle(bx - r * 0.1, by - r * 0.15, r * 0.35);
    }
  }
  const c = mix(pal.foliage, pal.foliageDark, 0.3);
  fg.add(pathTag(d, paint(c)));
  if (!ctx.flat) fg.add(pathTag(hi, paint(lighten(c, 0.25), 0.3)));
}

/** Glowing mushrooms at the foot of a magical forest. */
export function mushrooms(ctx: Ctx, base: number, count: number): void {
  const { fg, rng, W, pal } = ctx;
  let stems = "";
  let caps = "";
  let glow = "";
  for (let i = 0; i < count; i++) {
    const x = rng.range(W * 0.05, W * 0.95);
    const y = base + rng.range(-10, 40);
    const s = rng.range(8, 20);
    stems += `M${n(x - s * 0.18)} ${n(y)}L${n(x - s * 0.12)} ${n(y - s)}L${n(x + s * 0.12)} ${n(y - s)}L${n(x + s * 0.18)} ${n(y)}Z`;
    caps += `M${n(x - s * 0.7)} ${n(y - s)}Q${n(x)} ${n(y - s * 2)} ${n(x + s * 0.7)} ${n(y - s)}Z`;
    glow += circle(x, y - s * 1.1, s * 1.6);
  }
  const capColor = pal.neon[1] ?? "#22e6ff";
  fg.add(pathTag(glow, paint(capColor, 0.12)));
  fg.add(pathTag(stems, paint(pal.tone("#e8e0d0"))));
  fg.add(pathTag(caps, paint(capColor, 0.95)));
}

/** A saguaro: a ribbed column with one or two upturned arms. */
export function cactus(ctx: Ctx, x: number, base: number, h: number): void {
  const { fg, rng, pal } = ctx;
  const w = h * 0.13;
  const color = pal.tone("#4f7f3a");
  let d = roundRect(x - w / 2, base - h, w, h + 2, w / 2);
  const arms = rng.chance(0.5) ? [-1, 1] : [rng.chance(0.5) ? -1 : 1];
  for (const side of arms) {
    const ay = base - h * rng.range(0.35, 0.55);
    const reach = w * rng.range(1.1, 1.6);
    const up = h * rng.range(0.2, 0.35);
    const ax = side > 0 ? x + w / 2 - 2 : x - w / 2 - reach + 2;
    d += roundRect(ax, ay, reach, w * 0.7, w * 0.35);
    d += roundRect(
      side > 0 ? x + w / 2 + reach - w * 0.75 : x - w / 2 - reach,
      ay - up,
      w * 0.75,
      up + w * 0.7,
      w * 0.37,
    );
  }
  fg.add(pathTag(d, paint(color)));
  let ribs = "";
  for (const k of [-0.2, 0.15]) ribs += `M${n(x + k * w)} ${n(base - h + w * 0.4)}V${n(base)}`;
  fg.add(pathTag(ribs, `fill="none" stroke="${darken(color, 0.3)}" stroke-width="${n(w * 0.08)}"`));
  const side = ctx.light.x > x ? 1 : -1;
  fg.add(
    pathTag(
      roundRect(x + side * w * 0.1, base - h + w * 0.3, w * 0.25, h - w * 0.6, w * 0.12),
      paint(lighten(color, 0.3), 0.35),
    ),
  );
}

/** Big trunks at the edges and a canopy overhead make the view read as standing inside a forest. */
export function forestFrame(ctx: Ctx, snowy: boolean): void {
  const { fg, rng, W, H, pal } = ctx;
  const bark = darken(pal.trunk, 0.35);
  const canopy = darken(pal.foliageDark, 0.35);
  const edge = lighten(bark, 0.25);
  let trunks = "";
  let rims = "";
  const xs = [
    W * rng.range(0.02, 0.08),
    W * rng.range(0.15, 0.2),
    W * rng.range(0.82, 0.86),
    W * rng.range(0.93, 0.98),
  ];
  xs.forEach((x, i) => {
    const w = (i === 0 || i === 3 ? 70 : 34) * rng.range(0.8, 1.2);
    const base = H + 10;
    trunks += `M${n(x - w * 0.65)} ${n(base)}Q${n(x - w * 0.45)} ${n(H * 0.5)} ${n(x - w * 0.4)} -10L${n(x + w * 0.4)} -10Q${n(x + w * 0.45)} ${n(H * 0.5)} ${n(x + w * 0.65)} ${n(base)}Z`;
    const s = ctx.light.x > x ? 1 : -1;
    rims += `M${n(x + s * w * 0.36)} -10Q${n(x + s * w * 0.42)} ${n(H * 0.5)} ${n(x + s * w * 0.6)} ${n(base)}`;
  });
  fg.add(pathTag(trunks, paint(bark)));
  fg.add(pathTag(rims, `fill="none" stroke="${edge}" stroke-opacity="0.5" stroke-width="4"`));
  let leaves = "";
  for (let i = 0; i < 26; i++) {
    const x = rng.range(-40, W + 40);
    const edgeBias = Math.abs(x - W / 2) / (W / 2);
    leaves += circle(x, rng.range(-60, 40 + 90 * edgeBias), rng.range(40, 90));
  }
  fg.add(pathTag(leaves, paint(canopy)));
  if (snowy) fg.add(pathTag(leaves, paint("#ffffff", 0.15)));
}
