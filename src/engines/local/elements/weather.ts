/** Things in the air in front of the scene: rain, snow, fog, lightning, fireflies and light rays. */
import { lighten, mix } from "../color.js";
import { circle, n, paint, pathTag, polygon, rect } from "../svg.js";
import type { Ctx } from "./context.js";

export function rain(ctx: Ctx, heavy: boolean): void {
  const { fg, rng, W, H, pal } = ctx;
  const slant = rng.range(-0.25, 0.1);
  for (const [count, len, width, alpha] of [
    [heavy ? 420 : 260, 22, 0.9, 0.28],
    [heavy ? 160 : 90, 42, 1.5, 0.35],
  ] as const) {
    let d = "";
    const total = Math.round((count * W * (0.5 + 0.5 * ctx.detail)) / 1000);
    for (let i = 0; i < total; i++) {
      const x = rng.range(-60, W + 60);
      const y = rng.range(-40, H);
      const l = len * rng.range(0.7, 1.3);
      d += `M${n(x)} ${n(y)}l${n(l * slant)} ${n(l)}`;
    }
    fg.add(
      pathTag(
        d,
        `fill="none" stroke="${lighten(pal.skyLow, 0.4)}" stroke-opacity="${alpha}" stroke-width="${width}"`,
      ),
    );
  }
}

export function snowfall(ctx: Ctx, amount: number): void {
  const { fg, rng, W, H } = ctx;
  const layers: [number, number, number][] = [
    [320, 1.6, 0.6],
    [120, 3.2, 0.8],
    [35, 5.5, 0.9],
  ];
  for (const [count, size, alpha] of layers) {
    let d = "";
    const total = Math.round((count * amount * W * (0.5 + 0.5 * ctx.detail)) / 1000);
    for (let i = 0; i < total; i++) d += circle(rng.range(0, W), rng.range(0, H), size * rng.range(0.6, 1.3));
    fg.add(pathTag(d, paint("#ffffff", alpha)));
  }
}

/** A horizontal band of fog centred on y: linear gradients are cheap to rasterize, blur filters are not. */
export function fogBand(ctx: Ctx, y: number, height: number, strength: number): void {
  const { fg, W, pal } = ctx;
  const color = mix(pal.haze, "#ffffff", pal.night ? 0.1 : 0.35);
  const fill = fg.linear([
    [0, color, 0],
    [0.5, color, 0.75 * strength],
    [1, color, 0],
  ]);
  fg.add(pathTag(rect(-5, y - height / 2, W + 10, height), `fill="${fill}"`));
}

export function lightning(ctx: Ctx): void {
  const { fg, rng, W, hy } = ctx;
  let x = W * rng.range(0.2, 0.8);
  let y = hy * 0.15;
  let d = `M${n(x)} ${n(y)}`;
  while (y < hy * 0.95) {
    x += rng.range(-35, 35);
    y += rng.range(25, 60);
    d += `L${n(x)} ${n(y)}`;
  }
  fg.add(
    `<path d="${d}" fill="none" stroke="#c9d8ff" stroke-opacity="0.25" stroke-width="12" stroke-linejoin="round"/>`,
  );
  fg.add(`<path d="${d}" fill="none" stroke="#ffffff" stroke-width="3" stroke-linejoin="round"/>`);
}

export function fireflies(ctx: Ctx, count: number, top: number, bottom: number): void {
  const { fg, rng, W } = ctx;
  const color = "#e9ff8a";
  let halo = "";
  let core = "";
  for (let i = 0; i < count; i++) {
    const x = rng.range(0, W);
    const y = rng.range(top, bottom);
    const r = rng.range(1.5, 3.5);
    halo += circle(x, y, r * 4);
    core += circle(x, y, r);
  }
  fg.add(pathTag(halo, paint(color, 0.12)));
  fg.add(pathTag(core, paint(lighten(color, 0.4), 0.95)));
}

/** Shafts of light slanting down from the light source, e.g. through a forest canopy. */
export function lightRays(ctx: Ctx, fromX: number, count: number, color: string): void {
  const { fg, rng, H } = ctx;
  const fill = fg.linear([
    [0, color, 0.3],
    [1, color, 0],
  ]);
  let d = "";
  for (let i = 0; i < count; i++) {
    const x = fromX + rng.range(-150, 150);
    const spread = rng.range(40, 110);
    const dx = rng.range(-0.35, 0.35) * H;
    d += polygon([
      [x - 8, -10],
      [x + 8, -10],
      [x + dx + spread, H],
      [x + dx - spread * 0.3, H],
    ]);
  }
  fg.add(pathTag(d, `fill="${fill}"`));
}
