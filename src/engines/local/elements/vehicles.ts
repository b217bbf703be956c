/** Cars on the ground, flying cars with light trails, and sailing boats. */
import { darken, lighten, mix, NAMED_COLORS } from "../color.js";
import { circle, ellipse, n, paint, pathTag, polygon, rect } from "../svg.js";
import type { Ctx } from "./context.js";

function bound(ctx: Ctx, subject: "car" | "boat" | "flyingCars"): string | undefined {
  const name = ctx.spec.palette.bound[subject];
  return name ? NAMED_COLORS[name] : undefined;
}

/** A side-on car; len is bumper to bumper, dir +1 faces right. */
export function car(ctx: Ctx, cx: number, base: number, len: number, dir: number): void {
  const { fg, rng, pal } = ctx;
  const paintColor = pal.tone(
    bound(ctx, "car") ?? rng.pick(["#c0392b", "#2e6fbf", "#f2c14e", "#e8e8ec", "#2b2d33"]),
  );
  const L = len;
  const x0 = cx - L / 2;
  const wheelR = L * 0.11;
  const bodyTop = base - L * 0.3;
  fg.add(pathTag(ellipse(cx, base, L * 0.52, L * 0.04), paint("#000000", 0.3)));
  const front = dir > 0 ? x0 + L : x0;
  const back = dir > 0 ? x0 : x0 + L;
  const s = dir;
  const body =
    `M${n(back)} ${n(base - wheelR * 0.6)}` +
    `L${n(back)} ${n(bodyTop + L * 0.04)}Q${n(back)} ${n(bodyTop)} ${n(back + s * L * 0.06)} ${n(bodyTop)}` +
    `L${n(back + s * L * 0.22)} ${n(bodyTop)}L${n(back + s * L * 0.32)} ${n(bodyTop - L * 0.16)}` +
    `L${n(back + s * L * 0.62)} ${n(bodyTop - L * 0.16)}L${n(back + s * L * 0.76)} ${n(bodyTop)}` +
    `L${n(front - s * L * 0.05)} ${n(bodyTop + L * 0.03)}Q${n(front)} ${n(bodyTop + L * 0.05)} ${n(front)} ${n(bodyTop + L * 0.12)}` +
    `L${n(front)} ${n(base - wheelR * 0.6)}Z`;
  fg.add(pathTag(body, paint(paintColor)));
  fg.add(
    pathTag(
      rect(Math.min(back, front), bodyTop + L * 0.08, L, L * 0.025),
      paint(lighten(paintColor, 0.35), 0.5),
    ),
  );
  const glass = mix(pal.skyMid, "#1c2430", 0.55);
  fg.add(
    pathTag(
      polygon([
        [back + s * L * 0.25, bodyTop - 1],
        [back + s * L * 0.33, bodyTop - L * 0.13],
        [back + s * L * 0.46, bodyTop - L * 0.13],
        [back + s * L * 0.46, bodyTop - 1],
      ]) +
        polygon([
          [back + s * L * 0.49, bodyTop - 1],
          [back + s * L * 0.49, bodyTop - L * 0.13],
          [back + s * L * 0.61, bodyTop - L * 0.13],
          [back + s * L * 0.71, bodyTop - 1],
        ]),
      paint(glass),
    ),
  );
  for (const wx of [back + s * L * 0.2, back + s * L * 0.8]) {
    fg.add(pathTag(circle(wx, base - wheelR, wheelR), paint("#16171b")));
    fg.add(pathTag(circle(wx, base - wheelR, wheelR * 0.5), paint("#9aa0a8")));
  }
  const headlight = pal.night ? "#fff6d0" : lighten(paintColor, 0.6);
  fg.add(
    pathTag(rect(front - (s > 0 ? L * 0.03 : 0), bodyTop + L * 0.06, L * 0.03, L * 0.04), paint(headlight)),
  );
  fg.add(
    pathTag(rect(back - (s > 0 ? 0 : L * 0.025), bodyTop + L * 0.05, L * 0.025, L * 0.04), paint("#e0302a")),
  );
  if (pal.night) {
    const beam = fg.linear(
      [
        [0, "#fff6d0", 0.45],
        [1, "#fff6d0", 0],
      ],
      s > 0 ? 0 : 1,
      0,
      s > 0 ? 1 : 0,
      0,
    );
    fg.add(
      pathTag(
        polygon([
          [front, bodyTop + L * 0.07],
          [front + s * L * 1.2, bodyTop - L * 0.05],
          [front + s * L * 1.2, base + L * 0.04],
        ]),
        `fill="${beam}"`,
      ),
    );
  }
}

export function flyingCar(ctx: Ctx, cx: number, cy: number, len: number, dir: number, depth: number): void {
  const { fg, rng, pal } = ctx;
  const hull = pal.tone(
    bound(ctx, "flyingCars") ?? rng.pick(["#d8dde6", "#2c3340", "#c0392b", "#e0b43c"]),
    depth,
  );
  const glow = rng.pick(pal.neon);
  const L = len;
  const trail = fg.linear(
    [
      [0, glow, 0],
      [1, glow, pal.night ? 0.55 : 0.35],
    ],
    dir > 0 ? 0 : 1,
    0,
    dir > 0 ? 1 : 0,
    0,
  );
  const tailX = cx - dir * L * 0.5;
  fg.add(
    pathTag(
      polygon([
        [tailX - dir * L * 4, cy + L * 0.02],
        [tailX, cy - L * 0.05],
        [tailX, cy + L * 0.08],
      ]),
      `fill="${trail}"`,
    ),
  );
  if (!ctx.flat) fg.add(pathTag(ellipse(cx, cy + L * 0.14, L * 0.42, L * 0.07), paint(glow, 0.35)));
  // A low wedge: blunt tail, long nose, canopy set forward; reads as a car rather than a saucer.
  const nose = cx + dir * L * 0.5;
  const tail = cx - dir * L * 0.5;
  const d =
    `M${n(tail)} ${n(cy - L * 0.06)}L${n(cx - dir * L * 0.1)} ${n(cy - L * 0.1)}L${n(nose - dir * L * 0.08)} ${n(cy - L * 0.02)}` +
    `Q${n(nose)} ${n(cy + L * 0.01)} ${n(nose - dir * L * 0.04)} ${n(cy + L * 0.07)}L${n(tail + dir * L * 0.04)} ${n(cy + L * 0.08)}Z` +
    `M${n(tail)} ${n(cy - L * 0.05)}L${n(tail - dir * L * 0.02)} ${n(cy - L * 0.17)}L${n(tail + dir * L * 0.1)} ${n(cy - L * 0.08)}Z`;
  fg.add(pathTag(d, paint(hull)));
  const domeX = cx + dir * L * 0.08;
  fg.add(
    pathTag(
      `M${n(domeX - dir * L * 0.24)} ${n(cy - L * 0.085)}Q${n(domeX - dir * L * 0.05)} ${n(cy - L * 0.24)} ${n(domeX + dir * L * 0.2)} ${n(cy - L * 0.05)}Z`,
      paint(mix(pal.skyLow, "#1b2a3a", 0.45), 0.9),
    ),
  );
  fg.add(pathTag(rect(cx - L * 0.4, cy + L * 0.015, L * 0.8, L * 0.02), paint(glow)));
  const front = cx + dir * L * 0.48;
  fg.add(pathTag(circle(front, cy + L * 0.03, L * 0.03), paint(pal.night ? "#fff6d0" : lighten(hull, 0.6))));
  fg.add(pathTag(circle(cx - dir * L * 0.48, cy + L * 0.03, L * 0.025), paint("#ff3b30")));
}

/** A sailing boat sitting on the water line, with its wobbly reflection. */
export function sailboat(ctx: Ctx, cx: number, water: number, s: number, depth: number): void {
  const { fg, rng, pal } = ctx;
  const hullColor = pal.tone(
    bound(ctx, "boat") ?? rng.pick(["#7a4a2c", "#f2f2ee", "#2e4a6b", "#b8432f"]),
    depth,
  );
  const sail = pal.tone(pal.night ? "#c8ccd8" : "#f7f4ea", depth);
  const dir = rng.chance(0.5) ? 1 : -1;
  const hull = `M${n(cx - s * 0.5)} ${n(water - s * 0.12)}L${n(cx + s * 0.5)} ${n(water - s * 0.12)}L${n(cx + s * 0.36)} ${n(water + s * 0.02)}L${n(cx - s * 0.4)} ${n(water + s * 0.02)}Z`;
  const mastX = cx + dir * s * 0.05;
  const top = water - s * 1.05;
  const main = polygon([
    [mastX, top],
    [mastX, water - s * 0.17],
    [mastX - dir * s * 0.42, water - s * 0.17],
  ]);
  const jib = polygon([
    [mastX + dir * 2, top + s * 0.12],
    [mastX + dir * 2, water - s * 0.17],
    [mastX + dir * s * 0.32, water - s * 0.17],
  ]);
  const reflection = `<g transform="matrix(1 0 0 -0.7 0 ${n(water * 1.7)})">${pathTag(main + jib, paint(sail, 0.25))}${pathTag(hull, paint(hullColor, 0.3))}</g>`;
  fg.add(reflection);
  fg.add(
    `<path d="M${n(mastX)} ${n(top)}V${n(water - s * 0.1)}" stroke="${darken(hullColor, 0.3)}" stroke-width="${n(Math.max(1, s * 0.015))}"/>`,
  );
  fg.add(pathTag(main, paint(sail)), pathTag(jib, paint(darken(sail, 0.08))));
  fg.add(pathTag(hull, paint(hullColor)));
  fg.add(
    `<path d="M${n(cx - s * 0.6)} ${n(water + s * 0.03)}h${n(s * 1.2)}" stroke="#ffffff" stroke-opacity="0.4" stroke-width="1.5"/>`,
  );
}
