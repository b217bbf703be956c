/** Image editing: the source pixels, adjusted as the instruction asks, with drawn additions on top. */
import type { EngineRequest } from "../types.js";
import { bloom, invert, recolor, seasonalFoliage, settleSnow, verticalWash } from "./adjust.js";
import { combine, loadCover } from "./combine.js";
import { planEdit, type EditPlan, type Overlay } from "./edit-plan.js";
import { seedKey } from "./generate.js";
import type { Guard } from "./guard.js";
import { drawOverlays } from "./overlay.js";
import { applyGrade, fromRaw, toRaw, type Grade, type RawImage } from "./raster.js";
import { createRng } from "./rng.js";
import { finish, pixelGridSize, quantize, upscaleNearest } from "./styles.js";

export async function editImage(req: EngineRequest, guard: Guard): Promise<RawImage> {
  const plan = planEdit(req.prompt, req.images.length);
  const rng = createRng(`edit\u0000${seedKey(req)}`);
  const noiseSeed = rng.fork("noise").int(1, 0x7fffffff);
  const { width: W, height: H } = req;
  guard.progress(0.1);

  const first = req.images[0];
  if (!first) throw new Error("an edit needs a source image");
  let img = await guard.run(plan.combine ? combine(req.images, plan.combine, W, H) : loadCover(first, W, H));
  guard.progress(0.35);

  if (plan.flip) img = await guard.run(toRaw(fromRaw(img)[plan.flip === "vertical" ? "flip" : "flop"]()));
  adjustColours(img, plan, noiseSeed);
  if (plan.blur) img = await guard.run(toRaw(fromRaw(img).blur(Math.max(1.2, Math.max(W, H) / 220))));
  if (plan.sharpen) img = await guard.run(toRaw(fromRaw(img).sharpen({ sigma: 1.1 })));
  if (plan.fallback) img = await guard.run(bloom(img, 0.3));
  guard.progress(0.6);

  await guard.run(drawOverlays(img, overlaysFor(plan), req.prompt, rng.fork("overlays")));
  guard.progress(0.75);

  if (plan.style === "pixel") {
    const grid = pixelGridSize(W, H);
    const small = await guard.run(
      toRaw(fromRaw(img).resize(grid.width, grid.height, { fit: "fill", kernel: "linear" })),
    );
    quantize(small, 12);
    img = await guard.run(upscaleNearest(small, W, H));
    if (plan.gray) applyGrade(img, { gray: true });
  } else if (plan.style || plan.gray) {
    img = await guard.run(finish(img, plan.style ?? "minimal", noiseSeed, plan.gray));
  }
  guard.progress(0.85);
  return img;
}

/** Weather and time of day bring their own drawn parts; explicit "add ..." requests come on top. */
function overlaysFor(plan: EditPlan): Overlay[] {
  const out = new Set<Overlay>(plan.overlays);
  if (plan.season === "winter") out.add("snow");
  for (const a of plan.atmospheres) {
    if (a === "night") {
      out.add("stars");
      if (!out.has("sun")) out.add("moon");
    }
    if (a === "rain") out.add("rain");
    if (a === "storm") out.add("rain").add("lightning");
  }
  return [...out];
}

function adjustColours(img: RawImage, plan: EditPlan, seed: number): void {
  const grade: Grade = { brightness: plan.brightness, contrast: plan.contrast, saturation: plan.saturation };
  const lift: [number, number, number] = [0, 0, 0];
  const addLift = (r: number, g: number, b: number): void => {
    lift[0] += r;
    lift[1] += g;
    lift[2] += b;
  };
  if (plan.warmth > 0) addLift(16, 5, -12);
  if (plan.warmth < 0) addLift(-10, 0, 16);

  if (plan.season === "autumn") {
    seasonalFoliage(img, "autumn", seed);
    addLift(10, 3, -8);
  } else if (plan.season === "spring") {
    seasonalFoliage(img, "spring", seed);
    grade.saturation = (grade.saturation ?? 1) * 1.12;
    addLift(6, 2, 6);
  } else if (plan.season === "summer") {
    grade.saturation = (grade.saturation ?? 1) * 1.15;
    grade.brightness = (grade.brightness ?? 1) * 1.05;
    addLift(8, 4, -6);
  } else if (plan.season === "winter") {
    grade.saturation = (grade.saturation ?? 1) * 0.7;
    grade.brightness = (grade.brightness ?? 1) * 1.08;
    addLift(-8, 2, 16);
  }

  for (const a of plan.atmospheres) {
    if (a === "night") {
      grade.brightness = (grade.brightness ?? 1) * 0.5;
      grade.saturation = (grade.saturation ?? 1) * 0.6;
      addLift(-6, 0, 22);
    } else if (a === "sunset") {
      grade.saturation = (grade.saturation ?? 1) * 1.1;
      addLift(14, 2, -10);
    } else if (a === "rain") {
      grade.brightness = (grade.brightness ?? 1) * 0.82;
      grade.saturation = (grade.saturation ?? 1) * 0.75;
      addLift(-4, 0, 6);
    } else if (a === "storm") {
      grade.brightness = (grade.brightness ?? 1) * 0.68;
      grade.saturation = (grade.saturation ?? 1) * 0.6;
      grade.contrast = (grade.contrast ?? 1) * 1.1;
      addLift(-4, 0, 8);
    }
  }
  if (plan.fallback) {
    // Nothing recognized: a gentle film look, so the edit visibly did something.
    grade.contrast = 1.12;
    grade.saturation = 1.25;
    grade.vignette = 0.55;
    addLift(12, 4, -8);
  }
  grade.lift = lift;
  applyGrade(img, grade);

  if (plan.recolor) recolor(img, plan.recolor.color, plan.recolor.skyOnly ? 0.85 : 0.7, plan.recolor.skyOnly);
  if (plan.season === "winter") settleSnow(img);
  for (const a of plan.atmospheres) {
    if (a === "night") verticalWash(img, "#0a1230", (t) => 0.55 * (1 - t) + 0.1, "multiply");
    if (a === "sunset") {
      verticalWash(img, "#ff8a3c", (t) => 0.45 * Math.pow(1 - t, 1.5), "screen");
      verticalWash(img, "#7a2e6a", (t) => 0.25 * Math.pow(1 - t, 3), "multiply");
    }
    if (a === "fog")
      verticalWash(img, "#dfe4ea", (t) => 0.15 + 0.45 * Math.sin(Math.PI * Math.min(1, t * 1.1)), "mix");
  }
  if (plan.invert) invert(img);
}
