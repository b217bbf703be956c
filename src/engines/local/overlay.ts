/** Drawn additions for edits ("add a rainbow", snow, stars): the scene's element drawers over a photo. */
import type { Ctx } from "./elements/context.js";
import { broadleaf, flowers, pines } from "./elements/flora.js";
import { castle, house } from "./elements/buildings.js";
import { cat, dog, person, robot } from "./elements/figures.js";
import { ANIMAL_HEIGHT, animalGroup } from "./elements/animals.js";
import { birds, cloudField, moon, rainbow, stars, sun, sunGlow } from "./elements/sky.js";
import { car, sailboat } from "./elements/vehicles.js";
import { fireflies, fogBand, lightning, rain, snowfall } from "./elements/weather.js";
import type { Overlay } from "./edit-plan.js";
import { buildPalette } from "./palette.js";
import { ANIMALS, parsePrompt } from "./prompt.js";
import { blendOver, renderRgba, type RawImage } from "./raster.js";
import type { Rng } from "./rng.js";
import { ellipse, Layer, pathTag, rect } from "./svg.js";

/** Soft layers are drawn at this size along the longer side, then scaled up. */
const SOFT_SIZE = 256;

export async function drawOverlays(
  img: RawImage,
  overlays: Overlay[],
  prompt: string,
  rng: Rng,
): Promise<void> {
  if (overlays.length === 0) return;
  const H = 1000;
  const W = (H * img.width) / img.height;
  const spec = parsePrompt(prompt);
  const pal = buildPalette(spec, rng.fork("palette"));
  const bg = new Layer("b", false);
  const fg = new Layer("f", false);
  const light = { x: W * rng.range(0.18, 0.32), y: H * rng.range(0.14, 0.22) };
  const ctx: Ctx = {
    W,
    H,
    hy: H * 0.62,
    spec,
    pal,
    rng,
    bg,
    fg,
    flat: false,
    light,
    detail: Math.min(1, Math.max(0.35, Math.max(img.width, img.height) / 1024)),
    reflect: [],
    has: (s) => spec.subjects.has(s),
  };
  const want = new Set(overlays);
  const side = rng.chance(0.5) ? 1 : -1;
  // Figures stand in the lower third, away from the centre where the photo's own subject usually is, on
  // one side and then the other, so that two of them do not stand in each other.
  let slot = 0;
  const spot = (): number => {
    const k = slot++;
    // Three spots a side, nearest the middle first, then round again: a long list stays in the picture.
    return W * (0.5 + (k % 2 === 0 ? side : -side) * (0.25 + 0.08 * (Math.floor(k / 2) % 3)));
  };

  if (want.has("sun")) {
    sunGlow({ ...ctx, hy: H }, light.x, light.y, 0.7);
    sun({ ...ctx, hy: H }, light.x, light.y, 34, "#fff3c8");
  }
  if (want.has("stars")) stars({ ...ctx, hy: H * 0.55 }, 0.9);
  if (want.has("moon")) moon(ctx, W - light.x, light.y + 20, 34, "#f4f1de", rng.chance(0.5));
  if (want.has("clouds")) cloudField({ ...ctx, hy: H * 0.55 }, rng.int(3, 5), false);
  if (want.has("rainbow")) rainbow({ ...ctx, hy: H * 0.7 });
  if (want.has("birds")) birds(ctx);
  if (want.has("fog")) {
    fogBand(ctx, H * 0.7, 320, 0.7);
    fogBand(ctx, H * 0.45, 200, 0.45);
  }
  if (want.has("castle")) castle(ctx, spot(), H * 0.75, 150, 0.2);
  if (want.has("house")) house(ctx, spot() - 60, H * 0.95, 160, 0);
  if (want.has("tree")) {
    const x = W * (0.5 - side * 0.36);
    if (rng.chance(0.5))
      broadleaf(ctx, x, H * 1.02, 620, { color: "#3f7d36", snowy: want.has("snow"), depth: 0 });
    else pines(ctx, [{ x, base: H * 1.02, h: 620 }], { color: "#2f5e34", snowy: want.has("snow"), depth: 0 });
  }
  if (want.has("boat")) sailboat(ctx, spot(), H * 0.8, 170, 0);
  if (want.has("car")) car(ctx, spot(), H * 0.96, 300, -side);
  if (want.has("robot")) robot(ctx, spot(), H * 0.97, 420);
  if (want.has("person")) person(ctx, spot(), H * 0.97, 420);
  if (want.has("dog")) dog(ctx, spot(), H * 0.97, 300);
  if (want.has("cat")) cat(ctx, spot(), H * 0.97, 270);
  for (const animal of ANIMALS) {
    if (want.has(animal)) animalGroup(ctx, animal, spot(), H * 0.97, ANIMAL_HEIGHT[animal] * 1.1, W * 0.3);
  }
  if (want.has("flowers")) flowers(ctx, H * 0.82, 70, null);
  if (want.has("snow")) {
    // Snow lying along the bottom edge as well as falling.
    const drift = fg.linear([
      [0, "#ffffff", 0],
      [0.6, "#f4f8ff", 0.55],
      [1, "#ffffff", 0.9],
    ]);
    fg.add(pathTag(rect(0, H * 0.84, W, H * 0.16 + 2), `fill="${drift}"`));
    fg.add(
      pathTag(
        ellipse(W * 0.3, H * 1.0, W * 0.4, H * 0.06) + ellipse(W * 0.8, H * 1.01, W * 0.35, H * 0.05),
        `fill="#ffffff" fill-opacity="0.8"`,
      ),
    );
    snowfall(ctx, 1.2);
  }
  if (want.has("rain")) rain(ctx, want.has("lightning"));
  if (want.has("lightning")) lightning({ ...ctx, hy: H * 0.7 });
  if (want.has("sparkles")) fireflies(ctx, 60, H * 0.1, H * 0.95);

  const { width, height } = img;
  const scale = Math.min(1, SOFT_SIZE / Math.max(width, height));
  const layers: Promise<Buffer>[] = [];
  if (!bg.empty)
    layers.push(
      renderRgba(
        bg.render(W, H, Math.max(8, Math.round(width * scale)), Math.max(8, Math.round(height * scale))),
        width,
        height,
        true,
      ),
    );
  if (!fg.empty) layers.push(renderRgba(fg.render(W, H, width, height), width, height, false));
  for (const layer of await Promise.all(layers)) blendOver(img, layer);
}
