/** Text to image: parse, compose, rasterize the two layers, finish in the prompt's style. */
import type { EngineRequest } from "../types.js";
import type { Guard } from "./guard.js";
import { parsePrompt } from "./prompt.js";
import { renderLayers, type RawImage } from "./raster.js";
import { createRng } from "./rng.js";
import { composeScene } from "./scene.js";
import { finish, pixelGridSize, quantize, upscaleNearest } from "./styles.js";

/** The soft layer is drawn at most this many pixels along its longer side, and at most half size. */
const SOFT_LAYER_SIZE = 224;

export const seedKey = (req: EngineRequest): string =>
  `${req.seed}\u0000${req.prompt}\u0000${req.negativePrompt ?? ""}`;

export async function generateImage(req: EngineRequest, guard: Guard): Promise<RawImage> {
  const spec = parsePrompt(req.prompt, req.negativePrompt);
  const rng = createRng(seedKey(req));
  guard.progress(0.1);

  const pixel = spec.style === "pixel";
  const target = pixel ? pixelGridSize(req.width, req.height) : { width: req.width, height: req.height };
  const scene = composeScene(
    spec,
    rng.fork("scene"),
    req.width / req.height,
    Math.max(target.width, target.height),
  );
  const soft = scene.background.flat
    ? 1
    : Math.min(0.5, SOFT_LAYER_SIZE / Math.max(target.width, target.height));
  const bgW = Math.max(8, Math.round(target.width * soft));
  const bgH = Math.max(8, Math.round(target.height * soft));
  const bgSvg = scene.background.render(scene.unitW, scene.unitH, bgW, bgH);
  const fgSvg = scene.foreground.render(scene.unitW, scene.unitH, target.width, target.height);
  guard.progress(0.4);

  let img = await guard.run(renderLayers(bgSvg, fgSvg, target.width, target.height));
  guard.progress(0.7);

  const noiseSeed = rng.fork("finish").int(1, 0x7fffffff);
  if (pixel) {
    quantize(img, 8);
    img = await guard.run(upscaleNearest(img, req.width, req.height));
    if (spec.palette.mono) img = await finish(img, "minimal", noiseSeed, true);
  } else {
    img = await guard.run(finish(img, spec.style, noiseSeed, spec.palette.mono));
  }
  guard.progress(0.85);
  return img;
}
