/** The built-in local engine: a deterministic, CPU-only stand-in for a diffusion model. */
import { EngineError, type Engine, type EngineRequest, type EngineResult } from "../types.js";
import { editImage } from "./edit.js";
import { generateImage } from "./generate.js";
import { Guard } from "./guard.js";
import { encode } from "./raster.js";

export { parsePrompt } from "./prompt.js";
export type { SceneSpec, Style, Subject, TimeOfDay } from "./prompt.js";

export class LocalEngine implements Engine {
  readonly kind = "local";
  readonly supportsEdit = true;
  readonly maxSourceImages = 2;

  async generate(req: EngineRequest): Promise<EngineResult> {
    const guard = new Guard(req);
    guard.check();
    if (!Number.isInteger(req.width) || !Number.isInteger(req.height) || req.width < 1 || req.height < 1)
      throw new EngineError(`invalid size ${req.width}x${req.height}`);
    if (req.images.length > this.maxSourceImages)
      throw new EngineError(`the local engine takes at most ${this.maxSourceImages} source images`);

    try {
      const img = req.images.length ? await editImage(req, guard) : await generateImage(req, guard);
      if (img.width !== req.width || img.height !== req.height)
        throw new EngineError(`rendered ${img.width}x${img.height}, expected ${req.width}x${req.height}`);
      guard.check();
      const bytes = await guard.run(encode(img, req.format));
      guard.progress(1);
      return { bytes, format: req.format, width: req.width, height: req.height };
    } catch (err) {
      if (err instanceof EngineError) throw err;
      // sharp and librsvg failures (say, a source image that decodes badly) are generation failures.
      throw new EngineError(`local engine: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
