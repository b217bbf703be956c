/** What every element drawer receives: the canvas in units, the layers, colours and randomness. */
import type { Palette } from "../palette.js";
import type { SceneSpec, Subject } from "../prompt.js";
import type { Rng } from "../rng.js";
import type { Layer } from "../svg.js";

export interface Ctx {
  /** Canvas size in units (H is always 1000). */
  W: number;
  H: number;
  /** Horizon line, in units from the top. */
  hy: number;
  spec: SceneSpec;
  pal: Palette;
  rng: Rng;
  /** Rendered small and upscaled, so everything on it is soft: sky, glows, clouds, reflections. */
  bg: Layer;
  /** Rendered at full size over bg. */
  fg: Layer;
  flat: boolean;
  /** Where the light comes from (the sun or moon), in units; drives highlights and shadows. */
  light: { x: number; y: number };
  /**
   * 0.35..1: how much fine texture (stars, grass blades, ripples, rain) to draw. Small outputs cannot
   * show it, and every extra path costs render time whatever the pixel size.
   */
  detail: number;
  /** Solid-fill markup mirrored into the water by the water drawer. */
  reflect: string[];
  has(subject: Subject): boolean;
}

/** +1 when the light is to the right of x, -1 when to the left. */
export const lightSide = (ctx: Ctx, x: number): number => (ctx.light.x >= x ? 1 : -1);
