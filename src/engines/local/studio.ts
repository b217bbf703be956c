/**
 * A product shot: a seamless studio backdrop with a key-light glow, a surface in perspective, and the
 * object centred on it with its contact shadow, a reflection on glossy surfaces and a rim of light.
 * Soft things (backdrop, surface texture, shadows, reflection, steam, glow) go on the background layer.
 */
import { darken, lighten, luminance, mix, NAMED_COLORS, saturate, toward } from "./color.js";
import type { ProductKind, Surface } from "./product-prompt.js";
import type { SceneSpec } from "./prompt.js";
import type { Rng } from "./rng.js";
import type { Canvas, ComposedScene } from "./scene.js";
import { circle, ellipse, Layer, n, paint, pathTag, polygon, rect, smoothLine, type Point } from "./svg.js";
import { drawProduct, PRODUCT_BOX, type Drawn, type ProductPaint } from "./elements/products.js";

interface Look {
  dark: boolean;
  bright: boolean;
  /** The backdrop where the key light falls, and its top and foot. */
  mid: string;
  wallTop: string;
  wallLow: string;
  glow: string;
  glowAlpha: number;
  key: string;
  warm: boolean;
}

const DARK =
  /\b(cinematic|luxury|luxurious|premium|dark|moody|dramatic|noir|elegant|low[- ]key|candle ?light|candlelit|still[ -]life)\b/;
const BRIGHT =
  /\b(minimal\w*|clean|bright|airy|high[- ]key|white (background|backdrop)|light (background|backdrop)|pastels?|fresh|e-?commerce|catalog(ue)?)\b/;

function named(name: string | null): string | null {
  return name ? (NAMED_COLORS[name] ?? null) : null;
}

function studioLook(spec: SceneSpec, grade: (c: string) => string, rng: Rng): Look {
  const text = spec.prompt;
  const sc = spec.studioColors;
  const backdrop = named(sc.backdrop);
  const night = spec.time === "night" || spec.time === "midnight" || spec.time === "dusk";
  const warm = spec.timeExplicit && ["dawn", "morning", "golden", "sunset"].includes(spec.time);
  let dark: boolean;
  let bright: boolean;
  if (backdrop) {
    dark = luminance(backdrop) < 0.3;
    bright = luminance(backdrop) > 0.7;
  } else {
    bright = BRIGHT.test(text) || spec.style === "minimal";
    dark = !bright && (DARK.test(text) || night || spec.palette.mono);
  }
  // Colours the prompt names without binding them to the object, its surface or the backdrop tint the set.
  const bound = new Set([sc.product, sc.surface, sc.backdrop]);
  const tint = named(spec.palette.colors.find((c) => !bound.has(c)) ?? null);
  const stillLife = /\bstill[ -]life\b/.test(text);
  let mid = backdrop
    ? backdrop
    : bright
      ? "#f2f1ee"
      : dark
        ? stillLife
          ? "#4a3a2c"
          : "#3a3734"
        : rng.pick(["#a39c92", "#98a1a9", "#b5a793", "#9c9a97"]);
  if (tint) mid = toward(mid, tint, dark ? 0.45 : 0.6);
  if (warm) mid = toward(mid, "#e0a060", 0.3);
  mid = grade(mid);
  const key = grade(warm ? "#ffdcaa" : dark ? "#fff0da" : "#ffffff");
  return {
    dark,
    bright,
    mid,
    wallTop: darken(mid, dark ? 0.78 : bright ? 0.1 : 0.42),
    wallLow: dark ? darken(mid, 0.35) : bright ? lighten(mid, 0.5) : lighten(mid, 0.12),
    glow: lighten(mid, dark ? 0.3 : 0.55),
    glowAlpha: dark ? 0.85 : bright ? 0.7 : 0.6,
    key,
    warm,
  };
}

interface SurfaceLook {
  base: string;
  far: string;
  near: string;
  /** A seam where the tabletop meets the wall; a sweep and fabric have none. */
  edge: boolean;
  /** Strength of the mirrored object, 0 for matte surfaces. */
  gloss: number;
}

function surfaceLook(
  surface: Surface,
  look: Look,
  spec: SceneSpec,
  grade: (c: string) => string,
): SurfaceLook {
  const bound = named(spec.studioColors.surface);
  const glossWord = /\b(glossy|reflective|mirror(ed)?|glass|acrylic|lacquer(ed)?|polished|wet)\b/.test(
    spec.prompt,
  );
  const tinted = (c: string): string => grade(bound ? toward(c, bound, 0.75) : c);
  let base: string;
  let gloss = glossWord ? 0.3 : 0;
  switch (surface) {
    case "marble":
      base = bound
        ? tinted(luminance(bound) < 0.3 ? "#26252a" : "#ebe9e4")
        : grade(look.dark ? "#dedbd5" : "#eceae5");
      gloss = Math.max(gloss, 0.3);
      break;
    case "wood":
      base = tinted(
        /\b(walnut|dark wood|mahogany|ebony)\b/.test(spec.prompt)
          ? "#5a3a26"
          : /\b(oak|light wood|birch|pine|maple|ash)\b/.test(spec.prompt)
            ? "#c09464"
            : look.dark
              ? "#6e4a30"
              : "#9c6d45",
      );
      if (glossWord) gloss = 0.18;
      break;
    case "concrete":
      base = tinted(look.dark ? "#6c6a66" : look.bright ? "#c4c1bc" : "#98958f");
      break;
    case "fabric":
      base = bound
        ? grade(luminance(bound) < 0.1 ? "#1a181d" : bound)
        : grade(look.dark ? "#3a1a24" : "#b89a8a");
      break;
    case "sweep":
      base = bound ? tinted(bound) : look.wallLow;
      if (look.dark) gloss = Math.max(gloss, 0.32);
      break;
  }
  const fallDark = look.dark ? 0.5 : 0.22;
  return {
    base,
    far:
      surface === "sweep"
        ? look.wallLow
        : lighten(mix(base, look.key, 0.1), surface === "fabric" ? 0.12 : 0.06),
    near: darken(base, fallDark),
    edge: surface !== "sweep" && surface !== "fabric",
    gloss,
  };
}

/** A plane seen in perspective: u across (-1..1 spans the frame at the front edge), t from 0 (front) to 1 (back). */
function planeProjector(W: number, H: number, hy: number): (u: number, t: number) => Point {
  const vy = hy - (H - hy) * 0.55;
  const ratio = (H - vy) / (hy - vy);
  return (u, t) => {
    const z = 1 + t * (ratio - 1);
    return [W / 2 + (u * W * 0.5) / z, vy + (H - vy) / z];
  };
}

/** The studio set on the canvas composeScene made (see Canvas); pixels as there. */
export function composeStudio(spec: SceneSpec, rng: Rng, canvas: Canvas, pixels: number): ComposedScene {
  const { W, H, flat, pal, bg, fg } = canvas;
  const kind: ProductKind = spec.product ?? "box";
  const surface = spec.surface ?? "sweep";
  const set = rng.fork("set");
  // The object keeps its own colours: warm or cool words grade the light and the set, not the product.
  const hints = spec.palette;
  const objectGrade = (c: string): string => {
    let out = c;
    if (hints.pastel) out = lighten(saturate(out, 0.75), 0.2);
    if (hints.neon) out = saturate(out, 1.35);
    if (hints.muted) out = saturate(out, 0.55);
    return out;
  };
  // Mixed rather than hue-rotated, so a warm grey does not swing through green on its way to blue.
  const setGrade = (c: string): string =>
    objectGrade(hints.warmth > 0 ? mix(c, "#ff9a40", 0.12) : hints.warmth < 0 ? mix(c, "#4a90e0", 0.14) : c);
  const look = studioLook(spec, setGrade, set);
  const sl = surfaceLook(surface, look, spec, setGrade);
  const side = set.chance(0.5) ? 1 : -1;
  const hy = H * (sl.edge ? set.range(0.62, 0.67) : 0.66);
  const detail = Math.min(1, Math.max(0.35, pixels / 1024));

  // The object: centred, standing halfway into the surface, as large as the frame allows.
  const [bw, bh] = PRODUCT_BOX[kind];
  const base = hy + (H - hy) * 0.5;
  const S = Math.min(H * 0.58, (W * 0.7) / bw, (base - H * 0.1) / bh);
  const cx = W / 2;

  backdrop(bg, W, H, hy, look, side);
  if (look.warm && !look.dark) windowLight(bg, W, hy, side, look.key);
  const project = planeProjector(W, H, hy);
  surfacePlane(bg, fg, W, H, hy, surface, sl, look, set.fork("surface"), project, detail);

  const paint0 = (L: Layer): ProductPaint => ({
    L,
    flat,
    side,
    key: look.key,
    dark: look.dark,
    color: named(spec.studioColors.product),
    rng: rng.fork("object"),
    spec,
    grade: objectGrade,
  });

  // Reflection first (it lies on the surface), then shadows, then the object itself. A probe drawing
  // gives the object's footprint before anything is laid down.
  const shape = drawProduct(kind, paint0(new Layer("p", flat)), cx, base, S);
  if (sl.gloss > 0 && !flat) {
    const len = S * 0.6;
    const x0 = cx - shape.half * 1.3;
    const w = shape.half * 2.6;
    // The mask carries the strength too: one offscreen pass instead of a mask and a group opacity,
    // and only as wide as the object.
    const fade = bg.linear(
      [
        [0, "#ffffff", sl.gloss],
        [1, "#ffffff", 0],
      ],
      0,
      base,
      0,
      base + len,
      true,
    );
    const mask = bg.id();
    bg.def(
      `<mask id="${mask}" maskUnits="userSpaceOnUse" x="${n(x0)}" y="${n(base)}" width="${n(w)}" height="${n(len)}">` +
        `<rect x="${n(x0)}" y="${n(base)}" width="${n(w)}" height="${n(len)}" fill="${fade}"/></mask>`,
    );
    bg.add(`<g mask="url(#${mask})"><g transform="matrix(1 0 0 -1 0 ${n(2 * base)})">`);
    drawProduct(kind, paint0(bg), cx, base, S);
    bg.add("</g></g>");
  }
  shadows(bg, fg, cx, base, S, shape, side, look);
  const drawn = drawProduct(kind, paint0(fg), cx, base, S);
  rimLight(fg, drawn, cx, side, look.key, S);
  if (drawn.emit?.kind === "steam") steam(bg, fg, drawn.emit.x, drawn.emit.y, S, look, set.fork("steam"));
  if (drawn.emit?.kind === "light") lampGlow(bg, drawn.emit.x, drawn.emit.y, cx, base, S, look);

  return { background: bg, foreground: fg, unitW: W, unitH: H, palette: pal };
}

function backdrop(bg: Layer, W: number, H: number, hy: number, look: Look, side: number): void {
  // One radial fill does both the seamless falloff and the key light's glow behind the object: a
  // second full-frame gradient layered on top would cost as much again to rasterize.
  const gx = W / 2 + side * W * 0.12;
  const gy = hy * 0.52;
  const r = Math.max(W, H) * 0.8;
  const glow = bg.radial(
    [
      [0, mix(look.mid, look.glow, look.glowAlpha)],
      [0.4, look.mid],
      [1, look.wallTop],
    ],
    gx,
    gy,
    r,
    true,
  );
  const fill = glow !== "none" ? glow : look.mid;
  bg.add(`<rect width="${n(W)}" height="${n(H)}" fill="${fill}"/>`);
}

/** Morning or evening sun through a window: a skewed pattern of panes falling on the backdrop. */
function windowLight(bg: Layer, W: number, hy: number, side: number, key: string): void {
  if (bg.flat) return;
  const x0 = W / 2 + side * W * 0.08;
  const y0 = hy * 0.12;
  const pw = 110;
  const ph = 150;
  const skew = side * 60;
  let d = "";
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 2; j++) {
      const x = x0 + i * (pw + 16) + j * skew * 0.3;
      const y = y0 + j * (ph + 16);
      d += polygon([
        [x, y],
        [x + pw, y + skew * 0.2],
        [x + pw + skew * 0.3, y + ph + skew * 0.2],
        [x + skew * 0.3, y + ph],
      ]);
    }
  bg.add(pathTag(d, paint(lighten(key, 0.2), 0.22)));
}

function surfacePlane(
  bg: Layer,
  fg: Layer,
  W: number,
  H: number,
  hy: number,
  surface: Surface,
  sl: SurfaceLook,
  look: Look,
  rng: Rng,
  project: (u: number, t: number) => Point,
  detail: number,
): void {
  // A sweep has no seam: the floor rises into the wall through a soft blend.
  const top = sl.edge ? hy : hy - 70;
  const floor = bg.linear(
    sl.edge
      ? [
          [0, sl.far],
          [0.5, sl.base],
          [1, sl.near],
        ]
      : [
          [0, sl.far, 0],
          [0.12, mix(sl.far, sl.base, 0.4)],
          [0.5, sl.base],
          [1, sl.near],
        ],
    0,
    top,
    0,
    H,
    true,
  );
  bg.add(pathTag(rect(0, top, W, H - top), `fill="${floor}"`));
  // The pool of key light on the surface around the object.
  const pool = bg.radial(
    [
      [0, lighten(sl.base, 0.2), look.dark ? 0.7 : 0.45],
      [0.6, sl.base, look.dark ? 0.25 : 0.15],
      [1, sl.base, 0],
    ],
    0.5,
    0.5,
    0.5,
  );
  if (pool !== "none")
    bg.add(pathTag(ellipse(W / 2, hy + (H - hy) * 0.45, W * 0.5, (H - hy) * 0.6), `fill="${pool}"`));

  if (surface === "marble") marble(bg, fg, sl, rng, project, detail);
  else if (surface === "wood") wood(bg, fg, sl, rng, project, detail);
  else if (surface === "concrete") concrete(bg, fg, W, H, hy, sl, rng, detail);
  else if (surface === "fabric") folds(bg, W, H, hy, sl, look, rng);

  if (sl.edge) {
    // The wall darkens just above the table, and the table's back edge catches the light.
    if (!bg.flat) {
      const occlusion = bg.linear(
        [
          [0, "#000000", 0],
          [1, "#000000", look.dark ? 0.35 : 0.18],
        ],
        0,
        hy - 60,
        0,
        hy,
        true,
      );
      bg.add(pathTag(rect(0, hy - 60, W, 60), `fill="${occlusion}"`));
    }
    fg.add(pathTag(rect(0, hy - 1, W, 2.2), paint(lighten(sl.far, 0.35), 0.7)));
  }
}

function marble(
  bg: Layer,
  fg: Layer,
  sl: SurfaceLook,
  rng: Rng,
  project: (u: number, t: number) => Point,
  detail: number,
): void {
  const darkStone = luminance(sl.base) < 0.35;
  const vein = darkStone ? lighten(sl.base, 0.5) : mix(darken(sl.base, 0.5), "#7a766e", 0.4);
  // Cloudy drifts of grey, then veins wandering diagonally across the slab: broad soft washes under
  // thin ribbons that swell and taper.
  let clouds = "";
  for (let i = 0; i < 6; i++) {
    const [x, y] = project(rng.range(-1.2, 1.2), rng.range(0.05, 0.95));
    clouds += ellipse(x, y, rng.range(120, 260), rng.range(16, 40));
  }
  bg.add(pathTag(clouds, paint(vein, 0.08)));
  let soft = "";
  let fine = "";
  const count = 4 + Math.round(2 * detail);
  for (let i = 0; i < count; i++) {
    let u = rng.range(-1.8, 0.6);
    let t = rng.range(0, 0.7);
    const heading = rng.range(0.2, 0.6);
    let angle = heading;
    let turn = 0;
    const pts: Point[] = [project(u, t)];
    for (let k = 0; k < 40 && u < 1.8 && t <= 1 && t >= 0; k++) {
      // A meander: the turn rate wanders, the heading pulls it back, and a little jitter roughens it.
      turn = turn * 0.6 + rng.range(-0.18, 0.18);
      angle += turn + (heading - angle) * 0.15 + rng.range(-0.1, 0.1);
      u += Math.cos(angle) * 0.07;
      t += Math.sin(angle) * 0.05;
      pts.push(project(u, Math.min(1, Math.max(0, t))));
    }
    const weight = rng.range(0.4, 1);
    soft += ribbon(pts, () => 14 * weight * (0.5 + rng.next()));
    fine += ribbon(
      pts,
      (k) => weight * (0.6 + 2.4 * Math.sin((Math.PI * k) / (pts.length - 1)) * rng.next()),
    );
    if (pts.length > 12 && rng.chance(0.7)) {
      const start = rng.int(3, pts.length - 6);
      const [bx, by] = pts[start] as Point;
      const branch: Point[] = [[bx, by]];
      let x = bx;
      let y = by;
      for (let j = 0; j < 6; j++) {
        x += rng.range(14, 30);
        y += rng.range(-8, 4);
        branch.push([x, y]);
      }
      fine += ribbon(branch, (k) => 1.6 * weight * (1 - k / 6) + 0.2);
    }
  }
  bg.add(pathTag(soft, paint(vein, 0.14)));
  fg.add(pathTag(fine, paint(vein, darkStone ? 0.5 : 0.55)));
}

/** A line of points as a filled ribbon of varying width: veins swell and taper, strokes cannot. */
function ribbon(pts: Point[], width: (k: number) => number): string {
  if (pts.length < 2) return "";
  const left: Point[] = [];
  const right: Point[] = [];
  pts.forEach(([x, y], k) => {
    const [ax, ay] = pts[Math.max(0, k - 1)] as Point;
    const [bx, by] = pts[Math.min(pts.length - 1, k + 1)] as Point;
    const len = Math.hypot(bx - ax, by - ay) || 1;
    const w = k === 0 || k === pts.length - 1 ? 0.1 : width(k) / 2;
    left.push([x - ((by - ay) / len) * w, y + ((bx - ax) / len) * w]);
    right.push([x + ((by - ay) / len) * w, y - ((bx - ax) / len) * w]);
  });
  return polygon([...left, ...right.reverse()]);
}

function wood(
  bg: Layer,
  fg: Layer,
  sl: SurfaceLook,
  rng: Rng,
  project: (u: number, t: number) => Point,
  detail: number,
): void {
  // Planks running away from the viewer, each a slightly different tone, with fine grain along them.
  const planks = 7;
  const span = 2.4;
  const shades = ["", "", ""];
  let seams = "";
  let grain = "";
  for (let i = 0; i < planks; i++) {
    const u0 = -span / 2 + (span * i) / planks;
    const u1 = u0 + span / planks;
    const k = rng.int(0, 2);
    shades[k] += polygon([project(u0, 0), project(u1, 0), project(u1, 1), project(u0, 1)]);
    const [sx0, sy0] = project(u0, 0);
    const [sx1, sy1] = project(u0, 1);
    seams += `M${n(sx0)} ${n(sy0)}L${n(sx1)} ${n(sy1)}`;
    const lines = Math.round(5 * (0.5 + detail));
    for (let g = 0; g < lines; g++) {
      const u = u0 + (u1 - u0) * rng.range(0.08, 0.92);
      const pts: Point[] = [];
      for (let t = 0; t <= 1.0001; t += 0.25) pts.push(project(u + rng.range(-0.012, 0.012), t));
      grain += smoothLine(pts);
    }
  }
  const tones = [lighten(sl.base, 0.08), darken(sl.base, 0.1), mix(sl.base, "#c08050", 0.15)];
  shades.forEach((d, i) => bg.add(pathTag(d, paint(tones[i] ?? sl.base, 0.45))));
  fg.add(
    pathTag(grain, `fill="none" stroke="${darken(sl.base, 0.35)}" stroke-opacity="0.22" stroke-width="1.1"`),
  );
  fg.add(
    pathTag(seams, `fill="none" stroke="${darken(sl.base, 0.6)}" stroke-opacity="0.55" stroke-width="1.6"`),
  );
}

function concrete(
  bg: Layer,
  fg: Layer,
  W: number,
  H: number,
  hy: number,
  sl: SurfaceLook,
  rng: Rng,
  detail: number,
): void {
  let dark = "";
  let light = "";
  for (let i = 0; i < 14; i++) {
    const t = rng.next();
    const y = hy + (H - hy) * t;
    const e = ellipse(rng.range(0, W), y, rng.range(40, 160) * (0.4 + t), rng.range(8, 30) * (0.4 + t));
    if (i % 2) dark += e;
    else light += e;
  }
  bg.add(
    pathTag(dark, paint(darken(sl.base, 0.3), 0.12)),
    pathTag(light, paint(lighten(sl.base, 0.25), 0.12)),
  );
  // Fine pitting: tiny specks, denser toward the back.
  let specks = "";
  const count = Math.round(160 * detail);
  for (let i = 0; i < count; i++) {
    const t = Math.pow(rng.next(), 0.7);
    specks += circle(rng.range(0, W), hy + 4 + (H - hy) * t, 0.8 + 1.6 * t);
  }
  fg.add(pathTag(specks, paint(darken(sl.base, 0.35), 0.25)));
}

function folds(bg: Layer, W: number, H: number, hy: number, sl: SurfaceLook, look: Look, rng: Rng): void {
  // Velvet's sheen: broad soft swells where the pile catches the light, darker troughs between them.
  const sheen = lighten(mix(sl.base, look.key, 0.25), luminance(sl.base) < 0.1 ? 0.2 : 0.3);
  // One soft radial per swell: a gradient in bounding-box units fits each shape that uses it.
  const swell = (c: string, a: number): string =>
    bg.radial([
      [0, c, a],
      [1, c, 0],
    ]);
  const lit = swell(sheen, 0.4);
  const deep = swell(darken(sl.base, 0.6), 0.5);
  for (let i = 0; i < 5; i++) {
    const t = rng.range(0.15, 0.95);
    const y = hy + (H - hy) * t;
    const e = ellipse(
      rng.range(0.1, 0.9) * W,
      y,
      rng.range(200, 360) * (0.5 + t),
      rng.range(20, 40) * (0.5 + t),
    );
    const f = i % 2 ? deep : lit;
    if (f !== "none") bg.add(pathTag(e, `fill="${f}"`));
  }
  // The fabric's far edge catches the light as it rolls over.
  if (bg.flat) return;
  const edge = bg.linear(
    [
      [0, sheen, 0],
      [0.5, sheen, 0.4],
      [1, sheen, 0],
    ],
    0,
    hy - 24,
    0,
    hy + 50,
    true,
  );
  bg.add(pathTag(rect(0, hy - 24, W, 74), `fill="${edge}"`));
}

function shadows(
  bg: Layer,
  fg: Layer,
  cx: number,
  base: number,
  S: number,
  d: Drawn,
  side: number,
  look: Look,
): void {
  const strength = look.dark ? 0.75 : look.bright ? 0.4 : 0.55;
  // A broad soft shadow thrown away from the key light, and an ambient one all round.
  const castX = cx - side * d.half * 0.35;
  const cast = bg.radial(
    [
      [0, "#000000", strength * 0.55],
      [0.6, "#000000", strength * 0.2],
      [1, "#000000", 0],
    ],
    0.5,
    0.5,
    0.5,
  );
  const ambient = bg.radial(
    [
      [0, "#000000", strength * 0.6],
      [1, "#000000", 0],
    ],
    0.5,
    0.5,
    0.5,
  );
  if (cast !== "none") {
    bg.add(pathTag(ellipse(castX, base - S * 0.01, d.half * 1.55 + S * 0.05, S * 0.1), `fill="${cast}"`));
    bg.add(pathTag(ellipse(cx, base, d.foot * 1.3 + S * 0.03, S * 0.045), `fill="${ambient}"`));
  } else {
    bg.add(pathTag(ellipse(castX, base, d.half * 1.25, S * 0.05), paint("#000000", strength * 0.3)));
  }
  // The contact line itself, sharp where the object touches.
  const contact = fg.radial(
    [
      [0, "#000000", 0.6],
      [0.7, "#000000", 0.3],
      [1, "#000000", 0],
    ],
    0.5,
    0.5,
    0.5,
  );
  const core = ellipse(cx, base, d.foot * 1.04, Math.max(4, S * 0.02));
  fg.add(pathTag(core, contact === "none" ? paint("#000000", 0.25) : `fill="${contact}"`));
}

/** Edge light on the key side: the outline stroked inside the silhouette, fading away from the light. */
function rimLight(fg: Layer, d: Drawn, cx: number, side: number, key: string, S: number): void {
  if (fg.flat || !d.outline) return;
  const clip = fg.id();
  fg.def(`<clipPath id="${clip}"><path d="${d.outline}"/></clipPath>`);
  const grad = fg.linear(
    [
      [0, key, 0],
      [0.55, key, 0],
      [1, key, 0.9],
    ],
    cx - side * d.half,
    0,
    cx + side * d.half,
    0,
    true,
  );
  fg.add(
    `<path d="${d.outline}" fill="none" stroke="${grad}" stroke-width="${n(S * 0.022)}" clip-path="url(#${clip})"/>`,
  );
}

function steam(bg: Layer, fg: Layer, x: number, y: number, S: number, look: Look, rng: Rng): void {
  const color = look.bright ? "#c8c4bc" : lighten(look.key, 0.3);
  let d = "";
  for (let i = 0; i < 3; i++) {
    const x0 = x + (i - 1) * S * 0.09 + rng.range(-8, 8);
    const pts: Point[] = [];
    const phase = rng.range(0, Math.PI * 2);
    for (let k = 0; k <= 5; k++) {
      const t = k / 5;
      pts.push([x0 + Math.sin(phase + t * 5) * S * 0.04 * (0.4 + t), y - S * 0.04 - t * S * (0.4 + 0.1 * i)]);
    }
    d += smoothLine(pts);
  }
  bg.add(
    pathTag(
      d,
      `fill="none" stroke="${color}" stroke-opacity="0.45" stroke-width="${n(S * 0.035)}" stroke-linecap="round"`,
    ),
  );
  fg.add(
    pathTag(
      d,
      `fill="none" stroke="${color}" stroke-opacity="0.12" stroke-width="${n(S * 0.012)}" stroke-linecap="round"`,
    ),
  );
}

function lampGlow(bg: Layer, x: number, y: number, cx: number, base: number, S: number, look: Look): void {
  const warm = "#ffd68a";
  const glow = bg.radial(
    [
      [0, warm, look.dark ? 0.75 : 0.4],
      [0.4, warm, look.dark ? 0.3 : 0.15],
      [1, warm, 0],
    ],
    x,
    y,
    S * 0.9,
    true,
  );
  if (glow === "none") return;
  bg.add(pathTag(circle(x, y, S * 0.9), `fill="${glow}"`));
  const pool = bg.radial(
    [
      [0, warm, 0.4],
      [1, warm, 0],
    ],
    0.5,
    0.5,
    0.5,
  );
  bg.add(pathTag(ellipse(cx, base, S * 0.7, S * 0.12), `fill="${pool}"`));
}
