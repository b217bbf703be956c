/** When the prompt names nothing drawable: layered waves and orbs in a harmonious palette. */
import { darken, lighten, mix } from "../color.js";
import { abstractColors } from "../palette.js";
import type { SceneSpec } from "../prompt.js";
import type { Rng } from "../rng.js";
import { circle, Layer, n, paint, pathTag, rect, smoothLine, type Point } from "../svg.js";

export function abstractPiece(spec: SceneSpec, rng: Rng, bg: Layer, fg: Layer, W: number, H: number): void {
  const colors = abstractColors(spec, rng);
  const c0 = colors[0] ?? "#3a4a8a";
  const c1 = colors[1] ?? "#d98a5a";
  const c2 = colors[2] ?? "#e8d8b0";
  const dark = spec.time === "night" || spec.time === "midnight";
  bg.add(
    pathTag(
      rect(0, 0, W, H),
      `fill="${bg.linear(
        [
          [0, dark ? darken(c0, 0.6) : lighten(c0, 0.1)],
          [1, dark ? darken(c1, 0.5) : lighten(c1, 0.35)],
        ],
        0,
        0,
        1,
        1,
      )}"`,
    ),
  );
  for (let i = 0; i < 3; i++) {
    const x = rng.range(0, W);
    const y = rng.range(0, H * 0.7);
    const r = rng.range(150, 350);
    const c = rng.pick(colors);
    const glow = bg.radial(
      [
        [0, lighten(c, 0.3), 0.8],
        [1, c, 0],
      ],
      x,
      y,
      r,
      true,
    );
    if (glow !== "none") bg.add(pathTag(circle(x, y, r), `fill="${glow}"`));
  }
  const orb = rng.pick(colors);
  const ox = W * rng.range(0.25, 0.75);
  const oy = H * rng.range(0.25, 0.45);
  const or = rng.range(90, 170);
  fg.add(pathTag(circle(ox, oy, or), paint(lighten(orb, 0.35), 0.9)));
  const bands = rng.int(4, 6);
  for (let i = 0; i < bands; i++) {
    const t = i / (bands - 1);
    const baseY = H * (0.42 + 0.5 * t);
    const pts: Point[] = [];
    const steps = 6;
    const phase = rng.range(0, Math.PI * 2);
    const amp = rng.range(30, 90);
    for (let k = 0; k <= steps; k++) {
      const x = -W * 0.1 + (W * 1.2 * k) / steps;
      pts.push([x, baseY + Math.sin(phase + k * rng.range(0.8, 1.3)) * amp]);
    }
    const c = mix(i % 2 ? c1 : c0, c2, t * 0.4);
    const shade = dark ? darken(c, 0.3 + 0.4 * (1 - t)) : mix(c, darken(c, 0.3), t);
    const fill = fg.linear([
      [0, lighten(shade, 0.2)],
      [1, shade],
    ]);
    fg.add(
      `<path d="${smoothLine(pts)}L${n(W * 1.1)} ${n(H + 5)}L${n(-W * 0.1)} ${n(H + 5)}Z" fill="${fill}" fill-opacity="0.9"/>`,
    );
    fg.add(
      `<path d="${smoothLine(pts)}" fill="none" stroke="${lighten(shade, 0.5)}" stroke-opacity="0.35" stroke-width="2"/>`,
    );
  }
  let dots = "";
  for (let i = 0; i < 40; i++) dots += circle(rng.range(0, W), rng.range(0, H), rng.range(1.5, 5));
  fg.add(pathTag(dots, paint(lighten(c2, 0.5), 0.6)));
}
