/** The sky and what is in it: gradient, sun, moon, stars, clouds, rainbow, planet, birds. */
import { lighten, mix } from "../color.js";
import { circle, ellipse, n, paint, pathTag, rect } from "../svg.js";
import type { Ctx } from "./context.js";

export function sky(ctx: Ctx): void {
  const { W, H, hy, pal, bg } = ctx;
  if (ctx.flat) {
    // Flat style reads as banded colour, like a screen print.
    const bands = 6;
    for (let i = 0; i < bands; i++) {
      const t = i / (bands - 1);
      const c = t < 0.5 ? mix(pal.skyTop, pal.skyMid, t * 2) : mix(pal.skyMid, pal.skyLow, (t - 0.5) * 2);
      const y = (hy * i) / bands;
      bg.add(pathTag(rect(0, y, W, i === bands - 1 ? H - y : hy / bands + 1), paint(c)));
    }
    return;
  }
  const fill = bg.linear(
    [
      [0, pal.skyTop],
      [0.55, pal.skyMid],
      [1, pal.skyLow],
    ],
    0,
    0,
    0,
    hy,
    true,
  );
  bg.add(`<rect width="${n(W)}" height="${n(H)}" fill="${fill}"/>`);
  // A bright band just above the horizon: air is thickest there.
  const band = bg.linear(
    [
      [0, pal.skyLow, 0],
      [0.75, lighten(pal.skyLow, 0.25), 0.55],
      [1, lighten(pal.skyLow, 0.3), 0.2],
    ],
    0,
    hy - H * 0.22,
    0,
    hy,
    true,
  );
  bg.add(pathTag(rect(0, hy - H * 0.22, W, H * 0.22), `fill="${band}"`));
}

export function sunGlow(ctx: Ctx, x: number, y: number, strength: number): void {
  const { bg, pal, H } = ctx;
  const r = H * (0.35 + strength * 0.35);
  const fill = bg.radial(
    [
      [0, lighten(pal.glow, 0.4), 0.95 * strength],
      [0.18, pal.glow, 0.6 * strength],
      [0.5, pal.glow, 0.22 * strength],
      [1, pal.glow, 0],
    ],
    x,
    y,
    r,
    true,
  );
  if (fill !== "none") bg.add(pathTag(circle(x, y, r), `fill="${fill}"`));
}

export function sun(ctx: Ctx, x: number, y: number, r: number, color: string): void {
  const { fg } = ctx;
  // Clipped at the horizon so a setting sun sinks behind the sea instead of floating over it.
  const clip = fg.id();
  fg.def(`<clipPath id="${clip}"><rect width="${n(ctx.W)}" height="${n(ctx.hy)}"/></clipPath>`);
  let d = "";
  if (!ctx.flat)
    d +=
      pathTag(circle(x, y, r * 2.2), paint(color, 0.08)) +
      pathTag(circle(x, y, r * 1.45), paint(color, 0.16));
  d +=
    pathTag(circle(x, y, r * 1.1), paint(color, 0.5)) + pathTag(circle(x, y, r), paint(lighten(color, 0.35)));
  fg.add(`<g clip-path="url(#${clip})">${d}</g>`);
}

export function moon(ctx: Ctx, x: number, y: number, r: number, color: string, crescent: boolean): void {
  const { fg, bg, rng, pal } = ctx;
  const halo = bg.radial(
    [
      [0, lighten(pal.glow, 0.3), 0.55],
      [0.35, pal.glow, 0.18],
      [1, pal.glow, 0],
    ],
    x,
    y,
    r * 7,
    true,
  );
  if (halo !== "none") bg.add(pathTag(circle(x, y, r * 7), `fill="${halo}"`));
  fg.add(pathTag(circle(x, y, r * 1.5), paint(color, 0.1)));
  if (crescent) {
    // Two equal circles offset by d: the crescent is the outer one minus the inner.
    const d = r * 0.62;
    const yy = Math.sqrt(r * r - (d * d) / 4);
    fg.add(
      pathTag(
        `M${n(x + d / 2)} ${n(y - yy)}A${n(r)} ${n(r)} 0 1 0 ${n(x + d / 2)} ${n(y + yy)}` +
          `A${n(r)} ${n(r)} 0 0 1 ${n(x + d / 2)} ${n(y - yy)}Z`,
        paint(color),
      ),
    );
    return;
  }
  fg.add(pathTag(circle(x, y, r), paint(color)));
  let craters = "";
  for (let i = 0; i < 6; i++) {
    const a = rng.range(0, Math.PI * 2);
    const dist = rng.range(0, r * 0.62);
    craters += circle(x + Math.cos(a) * dist, y + Math.sin(a) * dist, rng.range(r * 0.08, r * 0.22));
  }
  fg.add(pathTag(craters, paint(mix(color, "#8a8fa0", 0.6), 0.28)));
}

export function stars(ctx: Ctx, amount: number): void {
  const { fg, rng, W, hy } = ctx;
  const count = Math.round((W / 1000) * 230 * amount * (0.5 + 0.5 * ctx.detail));
  const groups = ["", "", ""];
  let sparkles = "";
  for (let i = 0; i < count; i++) {
    const x = rng.range(0, W);
    const y = hy * 0.95 * Math.pow(rng.next(), 1.5);
    const b = rng.next();
    const g = b < 0.55 ? 0 : b < 0.88 ? 1 : 2;
    const r = 0.7 + g * 0.55 + rng.range(0, 0.5);
    // Faint stars are squares: identical at that size, and much cheaper to rasterize than arcs.
    groups[g] += g === 2 ? circle(x, y, r) : rect(x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8);
    if (g === 2 && rng.chance(0.25)) {
      const s = rng.range(5, 9);
      sparkles += `M${n(x - s)} ${n(y)}h${n(2 * s)}M${n(x)} ${n(y - s)}v${n(2 * s)}`;
    }
  }
  fg.add(pathTag(groups[0] ?? "", paint("#dfe6ff", 0.45 * amount)));
  fg.add(pathTag(groups[1] ?? "", paint("#f4f2ff", 0.7 * amount)));
  fg.add(pathTag(groups[2] ?? "", paint("#ffffff", 0.95 * amount)));
  if (sparkles)
    fg.add(pathTag(sparkles, `stroke="#ffffff" stroke-opacity="0.5" stroke-width="0.9" fill="none"`));
}

/** One soft cumulus: overlapping puffs over a flattened base, lit from above. */
export function cloud(
  ctx: Ctx,
  cx: number,
  cy: number,
  w: number,
  h: number,
  lit: string,
  shade: string,
): void {
  const { bg, rng } = ctx;
  const puffs = rng.int(5, 8);
  let d = ellipse(cx, cy + h * 0.18, w * 0.5, h * 0.3);
  for (let i = 0; i < puffs; i++) {
    const t = (i + 0.5) / puffs;
    const px = cx - w * 0.45 + w * 0.9 * t + rng.range(-w, w) * 0.04;
    const bulge = Math.sin(Math.PI * t);
    const r = h * (0.28 + 0.42 * bulge) * rng.range(0.8, 1.15);
    d += circle(px, cy + h * 0.15 - r * 0.6, r);
  }
  const fill = bg.linear([
    [0, lit],
    [0.55, mix(lit, shade, 0.35)],
    [1, shade],
  ]);
  bg.add(pathTag(d, `fill="${fill}"`));
}

/** Long thin lit streaks, the way clouds look near a low sun; each fades out at both ends. */
export function streakClouds(ctx: Ctx, count: number): void {
  const { bg, rng, W, hy, pal } = ctx;
  const fade = (c: string, a: number): string =>
    bg.linear(
      [
        [0, c, 0],
        [0.3, c, a],
        [0.7, c, a],
        [1, c, 0],
      ],
      0,
      0,
      1,
      0,
    );
  const shade = fade(pal.cloudShade, 0.5);
  const lit = fade(pal.cloudLit, 0.8);
  for (let i = 0; i < count; i++) {
    const y = hy * rng.range(0.25, 0.85);
    const w = rng.range(W * 0.25, W * 0.6);
    const x = rng.range(-W * 0.15, W * 1.15 - w);
    const h = rng.range(5, 12) * (0.6 + y / hy);
    bg.add(pathTag(ellipse(x + w / 2, y, w / 2, h), `fill="${shade}"`));
    bg.add(pathTag(ellipse(x + w / 2 + rng.range(-20, 20), y + h * 0.45, w * 0.4, h * 0.5), `fill="${lit}"`));
  }
}

export function cloudField(ctx: Ctx, count: number, dark: boolean): void {
  const { rng, W, hy, pal } = ctx;
  const lit = dark ? mix(pal.cloudShade, pal.cloudLit, 0.35) : pal.cloudLit;
  const shade = dark ? mix(pal.cloudShade, "#202430", 0.4) : pal.cloudShade;
  for (let i = 0; i < count; i++) {
    const t = (i + rng.range(0.1, 0.9)) / count;
    const far = rng.next();
    const w = W * rng.range(0.18, 0.34) * (1.2 - far * 0.5);
    const y = hy * (0.2 + far * 0.55);
    cloud(ctx, W * (t * 1.1 - 0.05), y, w, w * rng.range(0.3, 0.42), mix(lit, pal.haze, far * 0.3), shade);
  }
}

/** An overcast sky for storms and rain: the blue greyed out, a dark ceiling with a lumpy underside. */
export function overcast(ctx: Ctx, darkness: number): void {
  const { bg, W, hy, rng, pal } = ctx;
  const base = mix(pal.cloudShade, "#2a2e38", darkness);
  const veil = bg.linear(
    [
      [0, base, 0.95],
      [1, mix(base, pal.skyLow, 0.5), 0.75],
    ],
    0,
    0,
    0,
    hy,
    true,
  );
  bg.add(pathTag(rect(0, 0, W, hy + 2), `fill="${veil}"`));
  let d = "";
  for (let x = -40; x < W + 80; x += rng.range(60, 120)) {
    d += ellipse(x, hy * rng.range(0.3, 0.5), rng.range(70, 130), rng.range(35, 70));
  }
  bg.add(pathTag(d, paint(mix(base, "#000000", 0.15), 0.6)));
}

export function rainbow(ctx: Ctx): void {
  const { bg, rng, W, hy } = ctx;
  const cx = W * rng.range(0.35, 0.65);
  const cy = hy + rng.range(40, 120);
  const r = Math.min(W * 0.42, hy * 0.85);
  const colors = ["#ff4b4b", "#ff9a3c", "#ffe14b", "#56d364", "#3ea0ff", "#5b5bd6", "#9b59d0"];
  const width = r * 0.028;
  colors.forEach((c, i) => {
    const rr = r - i * width;
    bg.add(
      `<path d="M${n(cx - rr)} ${n(cy)}A${n(rr)} ${n(rr)} 0 0 1 ${n(cx + rr)} ${n(cy)}" fill="none" stroke="${c}" ` +
        `stroke-opacity="0.42" stroke-width="${n(width * 1.25)}"/>`,
    );
  });
}

export function planet(ctx: Ctx): void {
  const { fg, rng, W, hy, pal } = ctx;
  const x = W * rng.pick([0.25, 0.72]) + rng.range(-40, 40);
  const y = hy * rng.range(0.25, 0.4);
  const r = rng.range(55, 95);
  const hue = pal.accents[1] ?? "#f0b060";
  const body = fg.linear(
    [
      [0, lighten(hue, 0.35)],
      [0.5, hue],
      [1, mix(hue, "#000000", 0.55)],
    ],
    0,
    0,
    1,
    1,
  );
  const tilt = rng.range(-22, -8);
  const ringBack = `<ellipse cx="${n(x)}" cy="${n(y)}" rx="${n(r * 1.9)}" ry="${n(r * 0.45)}" transform="rotate(${n(tilt)} ${n(x)} ${n(y)})" fill="none" stroke="${lighten(hue, 0.5)}" stroke-opacity="0.55" stroke-width="${n(r * 0.14)}"/>`;
  fg.add(ringBack);
  fg.add(pathTag(circle(x, y, r), `fill="${body}"`));
  // Redraw the ring's front half over the planet.
  fg.add(
    `<path d="M${n(x - r * 1.9)} ${n(y)}A${n(r * 1.9)} ${n(r * 0.45)} 0 0 0 ${n(x + r * 1.9)} ${n(y)}" transform="rotate(${n(tilt)} ${n(x)} ${n(y)})" fill="none" stroke="${lighten(hue, 0.55)}" stroke-opacity="0.75" stroke-width="${n(r * 0.14)}"/>`,
  );
}

export function birds(ctx: Ctx): void {
  const { fg, rng, W, hy, pal } = ctx;
  const cx = W * rng.range(0.2, 0.8);
  const cy = hy * rng.range(0.25, 0.55);
  let d = "";
  const count = rng.int(4, 9);
  for (let i = 0; i < count; i++) {
    const x = cx + rng.range(-W * 0.12, W * 0.12);
    const y = cy + rng.range(-60, 60);
    const s = rng.range(6, 13);
    const flap = rng.range(0.2, 0.7);
    d += `M${n(x - s)} ${n(y - s * flap)}Q${n(x - s * 0.4)} ${n(y - s * 0.2)} ${n(x)} ${n(y)}Q${n(x + s * 0.4)} ${n(y - s * 0.2)} ${n(x + s)} ${n(y - s * flap)}`;
  }
  const color = pal.night ? "#0a0c14" : mix(pal.rockDark, "#101015", 0.5);
  fg.add(pathTag(d, `fill="none" stroke="${color}" stroke-width="2.2" stroke-linecap="round"`));
}
