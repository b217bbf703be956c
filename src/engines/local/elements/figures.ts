/** Characters: a cute robot, a cat, a dog and a person, drawn as simple readable shapes. */
import { darken, lighten, mix, NAMED_COLORS } from "../color.js";
import { circle, ellipse, n, paint, pathTag, polygon, roundRect } from "../svg.js";
import type { Subject } from "../prompt.js";
import type { Ctx } from "./context.js";

/** The colour the prompt gives the subject ("a white horse"), if any. */
export function boundColor(ctx: Ctx, subject: Subject): string | undefined {
  const name = ctx.spec.palette.bound[subject];
  return name ? NAMED_COLORS[name] : undefined;
}

export function groundShadow(ctx: Ctx, cx: number, base: number, w: number): void {
  ctx.fg.add(pathTag(ellipse(cx, base, w, w * 0.14), paint("#000000", ctx.pal.night ? 0.35 : 0.22)));
}

export function robot(ctx: Ctx, cx: number, base: number, h: number): void {
  const { fg, rng, pal } = ctx;
  const baseColor = boundColor(ctx, "robot") ?? rng.pick(["#e6ebf0", "#f2c14e", "#8fd0dc", "#f4a06b"]);
  const body = pal.tone(baseColor);
  const trim = pal.tone(rng.pick(["#f08a5d", "#5aa9e6", "#e94f64"]));
  const dark = darken(body, 0.55);
  const side = ctx.light.x > cx ? 1 : -1;
  const shadeFill = ctx.flat
    ? body
    : fg.linear(
        [
          [0, side > 0 ? darken(body, 0.18) : lighten(body, 0.25)],
          [0.5, body],
          [1, side > 0 ? lighten(body, 0.25) : darken(body, 0.18)],
        ],
        0,
        0,
        1,
        0,
      );
  const eye = pal.night ? "#7ff6ff" : "#5ff0ff";
  groundShadow(ctx, cx, base, h * 0.32);

  // Legs and feet.
  const legW = h * 0.07;
  fg.add(
    pathTag(
      roundRect(cx - h * 0.12 - legW / 2, base - h * 0.2, legW, h * 0.18, legW / 2) +
        roundRect(cx + h * 0.12 - legW / 2, base - h * 0.2, legW, h * 0.18, legW / 2),
      paint(dark),
    ),
  );
  fg.add(
    pathTag(
      roundRect(cx - h * 0.19, base - h * 0.05, h * 0.15, h * 0.06, h * 0.03) +
        roundRect(cx + h * 0.04, base - h * 0.05, h * 0.15, h * 0.06, h * 0.03),
      paint(trim),
    ),
  );

  // Arms: one resting, one waving.
  const sy = base - h * 0.5;
  const armW = h * 0.045;
  fg.add(
    `<path d="M${n(cx - h * 0.2)} ${n(sy)}Q${n(cx - h * 0.32)} ${n(sy + h * 0.08)} ${n(cx - h * 0.3)} ${n(sy + h * 0.2)}" fill="none" stroke="${dark}" stroke-width="${n(armW)}" stroke-linecap="round"/>`,
    `<path d="M${n(cx + h * 0.2)} ${n(sy)}Q${n(cx + h * 0.34)} ${n(sy - h * 0.02)} ${n(cx + h * 0.36)} ${n(sy - h * 0.16)}" fill="none" stroke="${dark}" stroke-width="${n(armW)}" stroke-linecap="round"/>`,
  );
  fg.add(
    pathTag(
      circle(cx - h * 0.3, sy + h * 0.22, h * 0.045) + circle(cx + h * 0.36, sy - h * 0.18, h * 0.045),
      paint(trim),
    ),
  );

  // Torso with a chest panel.
  fg.add(
    pathTag(roundRect(cx - h * 0.21, base - h * 0.6, h * 0.42, h * 0.42, h * 0.09), `fill="${shadeFill}"`),
  );
  fg.add(
    pathTag(roundRect(cx - h * 0.11, base - h * 0.5, h * 0.22, h * 0.17, h * 0.04), paint(darken(body, 0.7))),
  );
  fg.add(pathTag(circle(cx - h * 0.05, base - h * 0.44, h * 0.022), paint("#ff6b6b")));
  fg.add(pathTag(circle(cx + h * 0.01, base - h * 0.44, h * 0.022), paint("#ffd93d")));
  fg.add(pathTag(circle(cx + h * 0.07, base - h * 0.44, h * 0.022), paint("#6bff9a")));
  fg.add(
    `<path d="M${n(cx - h * 0.07)} ${n(base - h * 0.37)}h${n(h * 0.14)}" stroke="${eye}" stroke-width="${n(h * 0.012)}" stroke-linecap="round"/>`,
  );

  // Neck, head, face screen.
  fg.add(pathTag(roundRect(cx - h * 0.05, base - h * 0.66, h * 0.1, h * 0.08, h * 0.02), paint(dark)));
  const hx = cx - h * 0.25;
  const hy = base - h * 0.98;
  fg.add(
    pathTag(circle(hx, hy + h * 0.17, h * 0.05) + circle(hx + h * 0.5, hy + h * 0.17, h * 0.05), paint(trim)),
  );
  fg.add(pathTag(roundRect(hx, hy, h * 0.5, h * 0.34, h * 0.11), `fill="${shadeFill}"`));
  fg.add(pathTag(roundRect(hx + h * 0.05, hy + h * 0.05, h * 0.4, h * 0.24, h * 0.08), paint("#1b2433")));
  const ey = hy + h * 0.15;
  const er = h * 0.05;
  if (!ctx.flat)
    fg.add(
      pathTag(circle(cx - h * 0.1, ey, er * 1.8) + circle(cx + h * 0.1, ey, er * 1.8), paint(eye, 0.18)),
    );
  fg.add(pathTag(circle(cx - h * 0.1, ey, er) + circle(cx + h * 0.1, ey, er), paint(eye)));
  fg.add(
    pathTag(
      circle(cx - h * 0.085, ey - er * 0.35, er * 0.32) + circle(cx + h * 0.115, ey - er * 0.35, er * 0.32),
      paint("#ffffff"),
    ),
  );
  fg.add(
    `<path d="M${n(cx - h * 0.05)} ${n(ey + h * 0.065)}Q${n(cx)} ${n(ey + h * 0.1)} ${n(cx + h * 0.05)} ${n(ey + h * 0.065)}" fill="none" stroke="${eye}" stroke-width="${n(h * 0.014)}" stroke-linecap="round"/>`,
  );
  fg.add(
    pathTag(
      ellipse(cx - h * 0.17, ey + h * 0.06, h * 0.03, h * 0.018) +
        ellipse(cx + h * 0.17, ey + h * 0.06, h * 0.03, h * 0.018),
      paint("#ff7aa8", 0.55),
    ),
  );

  // Antenna with a glowing tip.
  fg.add(`<path d="M${n(cx)} ${n(hy)}v${n(-h * 0.1)}" stroke="${dark}" stroke-width="${n(h * 0.018)}"/>`);
  if (!ctx.flat) fg.add(pathTag(circle(cx, hy - h * 0.11, h * 0.06), paint(trim, 0.25)));
  fg.add(pathTag(circle(cx, hy - h * 0.11, h * 0.028), paint(lighten(trim, 0.2))));
}

export function cat(ctx: Ctx, cx: number, base: number, h: number): void {
  const { fg, rng, pal } = ctx;
  const fur = pal.tone(boundColor(ctx, "cat") ?? rng.pick(["#d9883a", "#7a7d86", "#2f2f36", "#efe6da"]));
  const belly = lighten(fur, 0.3);
  const dir = rng.chance(0.5) ? 1 : -1;
  groundShadow(ctx, cx, base, h * 0.3);
  // Tail curling around the side.
  fg.add(
    `<path d="M${n(cx + dir * h * 0.18)} ${n(base - h * 0.05)}Q${n(cx + dir * h * 0.45)} ${n(base - h * 0.05)} ${n(cx + dir * h * 0.4)} ${n(base - h * 0.35)}" fill="none" stroke="${fur}" stroke-width="${n(h * 0.07)}" stroke-linecap="round"/>`,
  );
  fg.add(
    pathTag(
      `M${n(cx - h * 0.22)} ${n(base)}Q${n(cx - h * 0.26)} ${n(base - h * 0.5)} ${n(cx)} ${n(base - h * 0.58)}Q${n(cx + h * 0.26)} ${n(base - h * 0.5)} ${n(cx + h * 0.22)} ${n(base)}Z`,
      paint(fur),
    ),
  );
  fg.add(pathTag(ellipse(cx, base - h * 0.2, h * 0.1, h * 0.2), paint(belly, 0.8)));
  const hyc = base - h * 0.68;
  const hr = h * 0.2;
  fg.add(
    pathTag(
      polygon([
        [cx - hr * 0.95, hyc - hr * 0.3],
        [cx - hr * 0.8, hyc - hr * 1.35],
        [cx - hr * 0.2, hyc - hr * 0.85],
      ]) +
        polygon([
          [cx + hr * 0.95, hyc - hr * 0.3],
          [cx + hr * 0.8, hyc - hr * 1.35],
          [cx + hr * 0.2, hyc - hr * 0.85],
        ]),
      paint(fur),
    ),
  );
  fg.add(
    pathTag(
      polygon([
        [cx - hr * 0.8, hyc - hr * 0.55],
        [cx - hr * 0.75, hyc - hr * 1.1],
        [cx - hr * 0.4, hyc - hr * 0.8],
      ]) +
        polygon([
          [cx + hr * 0.8, hyc - hr * 0.55],
          [cx + hr * 0.75, hyc - hr * 1.1],
          [cx + hr * 0.4, hyc - hr * 0.8],
        ]),
      paint("#f2a0b4", 0.8),
    ),
  );
  fg.add(pathTag(ellipse(cx, hyc, hr * 1.05, hr * 0.92), paint(fur)));
  const eyeColor = rng.pick(["#9ad13b", "#f2c14e", "#58b7e8"]);
  fg.add(
    pathTag(
      ellipse(cx - hr * 0.4, hyc - hr * 0.05, hr * 0.2, hr * 0.24) +
        ellipse(cx + hr * 0.4, hyc - hr * 0.05, hr * 0.2, hr * 0.24),
      paint(eyeColor),
    ),
  );
  fg.add(
    pathTag(
      ellipse(cx - hr * 0.4, hyc - hr * 0.05, hr * 0.07, hr * 0.2) +
        ellipse(cx + hr * 0.4, hyc - hr * 0.05, hr * 0.07, hr * 0.2),
      paint("#111111"),
    ),
  );
  fg.add(
    pathTag(
      polygon([
        [cx - hr * 0.1, hyc + hr * 0.25],
        [cx + hr * 0.1, hyc + hr * 0.25],
        [cx, hyc + hr * 0.37],
      ]),
      paint("#e77a90"),
    ),
  );
  let whiskers = "";
  for (const s of [-1, 1])
    for (let k = -1; k <= 1; k++)
      whiskers += `M${n(cx + s * hr * 0.3)} ${n(hyc + hr * 0.38)}L${n(cx + s * hr * 1.2)} ${n(hyc + hr * (0.3 + k * 0.14))}`;
  fg.add(
    pathTag(
      whiskers,
      `fill="none" stroke="${lighten(fur, 0.6)}" stroke-opacity="0.7" stroke-width="${n(h * 0.006)}"`,
    ),
  );
}

export function dog(ctx: Ctx, cx: number, base: number, h: number): void {
  const { fg, rng, pal } = ctx;
  const fur = pal.tone(boundColor(ctx, "dog") ?? rng.pick(["#c68a4a", "#e0b070", "#6b4a32", "#f0e4d0"]));
  const ear = darken(fur, 0.35);
  const light = lighten(fur, 0.35);
  groundShadow(ctx, cx, base, h * 0.34);
  fg.add(
    `<path d="M${n(cx + h * 0.2)} ${n(base - h * 0.1)}q${n(h * 0.18)} ${n(-h * 0.05)} ${n(h * 0.2)} ${n(-h * 0.25)}" fill="none" stroke="${fur}" stroke-width="${n(h * 0.06)}" stroke-linecap="round"/>`,
  );
  fg.add(
    pathTag(
      `M${n(cx - h * 0.25)} ${n(base)}Q${n(cx - h * 0.28)} ${n(base - h * 0.52)} ${n(cx)} ${n(base - h * 0.58)}Q${n(cx + h * 0.28)} ${n(base - h * 0.52)} ${n(cx + h * 0.25)} ${n(base)}Z`,
      paint(fur),
    ),
  );
  fg.add(pathTag(ellipse(cx, base - h * 0.3, h * 0.1, h * 0.18), paint(light, 0.85)));
  fg.add(
    pathTag(
      ellipse(cx - h * 0.12, base - h * 0.03, h * 0.07, h * 0.04) +
        ellipse(cx + h * 0.12, base - h * 0.03, h * 0.07, h * 0.04),
      paint(light),
    ),
  );
  const hyc = base - h * 0.7;
  const hr = h * 0.2;
  fg.add(pathTag(ellipse(cx, hyc, hr, hr * 0.95), paint(fur)));
  fg.add(
    `<ellipse cx="${n(cx - hr * 0.95)}" cy="${n(hyc + hr * 0.25)}" rx="${n(hr * 0.28)}" ry="${n(hr * 0.65)}" transform="rotate(18 ${n(cx - hr * 0.95)} ${n(hyc + hr * 0.25)})" fill="${ear}"/>`,
    `<ellipse cx="${n(cx + hr * 0.95)}" cy="${n(hyc + hr * 0.25)}" rx="${n(hr * 0.28)}" ry="${n(hr * 0.65)}" transform="rotate(-18 ${n(cx + hr * 0.95)} ${n(hyc + hr * 0.25)})" fill="${ear}"/>`,
  );
  fg.add(pathTag(ellipse(cx, hyc + hr * 0.42, hr * 0.5, hr * 0.36), paint(light)));
  fg.add(pathTag(ellipse(cx, hyc + hr * 0.25, hr * 0.16, hr * 0.11), paint("#1a1a1a")));
  fg.add(
    pathTag(
      circle(cx - hr * 0.38, hyc - hr * 0.12, hr * 0.11) + circle(cx + hr * 0.38, hyc - hr * 0.12, hr * 0.11),
      paint("#1a1a1a"),
    ),
  );
  fg.add(
    pathTag(
      circle(cx - hr * 0.35, hyc - hr * 0.16, hr * 0.04) + circle(cx + hr * 0.41, hyc - hr * 0.16, hr * 0.04),
      paint("#ffffff"),
    ),
  );
  if (rng.chance(0.6)) fg.add(pathTag(ellipse(cx, hyc + hr * 0.72, hr * 0.14, hr * 0.2), paint("#e8677a")));
}

/** A person seen from behind, looking into the scene, which keeps the face out of it. */
export function person(ctx: Ctx, cx: number, base: number, h: number): void {
  const { fg, rng, pal } = ctx;
  const silhouette = pal.night || ctx.spec.time === "sunset" || ctx.spec.time === "dusk";
  const coat = silhouette
    ? mix(pal.rockDark, "#08080c", 0.6)
    : pal.tone(boundColor(ctx, "person") ?? rng.pick(["#c0392b", "#2e5e8c", "#d9a441", "#3f6e4a"]));
  const skin = silhouette ? coat : pal.tone(rng.pick(["#e0b48e", "#a8714f", "#6e4a34"]));
  const hair = silhouette ? coat : pal.tone(rng.pick(["#2b1d14", "#6b4226", "#c9a35a"]));
  const legs = silhouette ? coat : pal.tone("#2d3340");
  groundShadow(ctx, cx, base, h * 0.16);
  fg.add(
    pathTag(
      roundRect(cx - h * 0.075, base - h * 0.45, h * 0.065, h * 0.45, h * 0.02) +
        roundRect(cx + h * 0.01, base - h * 0.45, h * 0.065, h * 0.45, h * 0.02),
      paint(legs),
    ),
  );
  fg.add(
    pathTag(
      `M${n(cx - h * 0.1)} ${n(base - h * 0.4)}L${n(cx - h * 0.12)} ${n(base - h * 0.72)}Q${n(cx)} ${n(base - h * 0.8)} ${n(cx + h * 0.12)} ${n(base - h * 0.72)}L${n(cx + h * 0.1)} ${n(base - h * 0.4)}Z`,
      paint(coat),
    ),
  );
  fg.add(
    `<path d="M${n(cx - h * 0.11)} ${n(base - h * 0.7)}L${n(cx - h * 0.15)} ${n(base - h * 0.45)}M${n(cx + h * 0.11)} ${n(base - h * 0.7)}L${n(cx + h * 0.15)} ${n(base - h * 0.45)}" stroke="${coat}" stroke-width="${n(h * 0.05)}" stroke-linecap="round"/>`,
  );
  fg.add(pathTag(roundRect(cx - h * 0.025, base - h * 0.8, h * 0.05, h * 0.05, h * 0.01), paint(skin)));
  fg.add(pathTag(circle(cx, base - h * 0.87, h * 0.075), paint(hair)));
}
