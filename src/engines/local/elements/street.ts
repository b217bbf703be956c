/** A city street: wet asphalt that mirrors the lights (on the soft layer), kerb, lane markings, cars. */
import { darken, mix } from "../color.js";
import { ellipse, paint, pathTag, rect } from "../svg.js";
import type { Ctx } from "./context.js";
import { mirrored } from "./terrain.js";
import { car } from "./vehicles.js";

export function streetScene(
  ctx: Ctx,
  celestial: { x: number; color: string; strength: number } | null,
): void {
  const { bg, fg, W, H, hy, pal, rng, spec } = ctx;
  const asphalt = pal.tone("#2a2c33");
  const fill = bg.linear(
    [
      [0, mix(asphalt, pal.skyLow, 0.25)],
      [1, darken(asphalt, 0.4)],
    ],
    0,
    hy,
    0,
    H,
    true,
  );
  bg.add(pathTag(rect(0, hy, W, H - hy), `fill="${fill}"`));
  const wet = spec.subjects.has("rain") || spec.style === "cyberpunk" || pal.night;
  if (wet && ctx.reflect.length) bg.add(mirrored(ctx, hy, pal.night ? 0.55 : 0.3));
  if (celestial && wet) {
    const sheen = bg.radial([
      [0, celestial.color, 0.3 * celestial.strength],
      [1, celestial.color, 0],
    ]);
    if (sheen !== "none") bg.add(pathTag(ellipse(celestial.x, hy + 90, 70, 140), `fill="${sheen}"`));
  }
  fg.add(pathTag(rect(0, hy, W, 10), paint(pal.tone("#5a5c66"))));
  const roadY = hy + (H - hy) * 0.55;
  let dashes = "";
  for (let x = rng.range(-60, 0); x < W; x += 110) dashes += rect(x, roadY, 60, 5);
  fg.add(pathTag(dashes, paint(pal.tone("#e8e2c8"), 0.7)));
  fg.add(pathTag(rect(0, hy + (H - hy) * 0.18, W, 4), paint(pal.tone("#8a8c96"), 0.6)));
  if (spec.subjects.has("car")) {
    const count = rng.int(2, 3);
    for (let i = 0; i < count; i++) {
      car(
        ctx,
        W * (0.2 + (0.6 * i) / Math.max(1, count - 1)) + rng.range(-40, 40),
        roadY + (i % 2 ? 70 : 30),
        230,
        i % 2 ? -1 : 1,
      );
    }
  }
}
