/**
 * Objects for a product shot (headphones, a watch, sneakers, bottles, a cup, a phone, a camera, a vase,
 * a lamp, a box), each drawn upright on the line y = base, centred on cx, about S units tall.
 * A drawer writes to whichever layer it is handed, so the studio can draw it once on the foreground and
 * again, mirrored, on the soft background as its reflection.
 */
import { darken, lighten, luminance, mix, NAMED_COLORS, rgbToHsl, parseHex } from "../color.js";
import type { ProductKind } from "../product-prompt.js";
import type { SceneSpec } from "../prompt.js";
import type { Rng } from "../rng.js";
import {
  circle,
  ellipse,
  n,
  pathTag,
  polygon,
  rect,
  roundRect,
  smoothLine,
  type Layer,
  type Point,
  type Stop,
} from "../svg.js";

export interface ProductPaint {
  L: Layer;
  flat: boolean;
  /** +1 when the key light is to the right. */
  side: number;
  /** The key light's colour, for highlights. */
  key: string;
  /** A dark set: objects keep their colour, but highlights carry more of the picture. */
  dark: boolean;
  /** The colour the prompt binds to the object ("red sneakers"), as hex. */
  color: string | null;
  /** Fresh for every drawing of the object, so the reflection makes the same choices. */
  rng: Rng;
  spec: SceneSpec;
  /** The prompt's palette shift (warmth, pastel, neon, muted) for object colours. */
  grade(color: string): string;
}

export interface Drawn {
  /** The filled silhouette, for the rim light. */
  outline: string;
  /** Half the width of what touches the surface, for the contact shadow. */
  foot: number;
  /** Half the drawn width, for the cast shadow and the rim light's reach. */
  half: number;
  /** Where a glow or steam starts, if the object has one. */
  emit?: { x: number; y: number; kind: "steam" | "light" };
}

/** Width and height of each object in units of S, for fitting it to the frame. */
export const PRODUCT_BOX: Record<ProductKind, [number, number]> = {
  headphones: [0.9, 1],
  watch: [0.56, 1],
  sneakers: [1.25, 0.62],
  perfume: [0.62, 1],
  wine: [0.34, 1],
  beer: [0.32, 0.9],
  skincare: [0.9, 0.92],
  mug: [0.86, 0.72],
  cup: [1.0, 0.62],
  phone: [0.5, 1],
  camera: [1.05, 0.72],
  vase: [0.56, 1],
  lamp: [0.6, 1],
  box: [0.92, 0.78],
};

const fill = (d: string, f: string, extra = ""): string => pathTag(d, `fill="${f}"${extra}`);
const stroke = (d: string, c: string, w: number, extra = ""): string =>
  `<path d="${d}" fill="none" stroke="${c}" stroke-width="${n(w)}" stroke-linecap="round"${extra}/>`;

/** Horizontal shading of a rounded body: the body colour is the middle stop, which is what flat style keeps. */
function cyl(p: ProductPaint, c: string, k = 1): string {
  const shadow = darken(c, 0.5 * k);
  const stops: Stop[] = [
    [0, shadow],
    [0.22, darken(c, 0.22 * k)],
    [0.5, c],
    [0.8, lighten(mix(c, p.key, 0.3), 0.32 * k)],
    [1, mix(c, shadow, 0.35)],
  ];
  return p.L.linear(p.side > 0 ? stops : flip(stops), 0, 0, 1, 0);
}

/** Polished metal: banded reflections rather than a smooth falloff. */
function metal(p: ProductPaint, c: string): string {
  const lo = darken(c, 0.55);
  const hi = lighten(c, 0.6);
  const stops: Stop[] = [
    [0, lo],
    [0.18, lighten(c, 0.2)],
    [0.38, darken(c, 0.25)],
    [0.55, c],
    [0.76, hi],
    [0.9, c],
    [1, darken(c, 0.35)],
  ];
  return p.L.linear(p.side > 0 ? stops : flip(stops), 0, 0, 1, 0);
}

function flip(stops: Stop[]): Stop[] {
  return stops.map(([o, c, a]) => [1 - o, c, a] as Stop).reverse();
}

/** A body of revolution from (height above base, half width) pairs, bottom to top. */
function turned(cx: number, base: number, profile: [number, number][]): string {
  const right: Point[] = profile.map(([y, w]) => [cx + w, base - y]);
  const left: Point[] = [...profile].reverse().map(([y, w]) => [cx - w, base - y]);
  const top = profile[profile.length - 1] as [number, number];
  const bottom = profile[0] as [number, number];
  return (
    smoothLine(right, 0.8) +
    `L${n(cx - top[1])} ${n(base - top[0])}` +
    smoothLine(left, 0.8).replace(/^M[^C]*/, "") +
    `L${n(cx + bottom[1])} ${n(base - bottom[0])}Z`
  );
}

function highlight(p: ProductPaint, x: number, y0: number, y1: number, w: number, alpha: number): string {
  return p.flat
    ? ""
    : fill(roundRect(x - w / 2, y0, w, y1 - y0, w / 2), "#ffffff", ` fill-opacity="${alpha}"`);
}

const isMetalName = (name: string | null): boolean =>
  name === "gold" || name === "silver" || name === "yellow" || name === "amber";

function boundName(p: ProductPaint): string | null {
  return p.spec.studioColors.product;
}

const has = (p: ProductPaint, re: RegExp): boolean => re.test(p.spec.prompt);

export function drawProduct(kind: ProductKind, p: ProductPaint, cx: number, base: number, S: number): Drawn {
  switch (kind) {
    case "headphones":
      return headphones(p, cx, base, S);
    case "watch":
      return watch(p, cx, base, S);
    case "sneakers":
      return sneakers(p, cx, base, S);
    case "perfume":
      return perfume(p, cx, base, S);
    case "wine":
    case "beer":
      return bottle(p, cx, base, S, kind === "beer");
    case "skincare":
      return skincare(p, cx, base, S);
    case "mug":
    case "cup":
      return cup(p, cx, base, S, kind === "mug");
    case "phone":
      return phone(p, cx, base, S);
    case "camera":
      return camera(p, cx, base, S);
    case "vase":
      return vase(p, cx, base, S);
    case "lamp":
      return lamp(p, cx, base, S);
    case "box":
      return box(p, cx, base, S);
  }
}

function headphones(p: ProductPaint, cx: number, base: number, S: number): Drawn {
  const { L, rng } = p;
  const body = p.grade(
    p.color ??
      rng.pick(p.dark ? ["#26262b", "#2b2a30", "#d8d2c8"] : ["#26262b", "#e4ded4", "#34465e", "#c9a27e"]),
  );
  const light = luminance(body) > 0.55;
  const pad = light ? mix(darken(body, 0.6), "#4a3e34", 0.3) : mix(body, "#000000", 0.45);
  const trim = p.grade(isMetalName(boundName(p)) ? lighten(body, 0.3) : light ? "#b8b2aa" : "#9aa0a8");
  const cupY = base - S * 0.19;
  const cupH = S * 0.38;
  const dx = S * 0.33;
  // Headband: padding under a thinner outer band.
  const bandY = base - S * 0.56;
  const band = `M${n(cx - dx - S * 0.02)} ${n(bandY)}C${n(cx - dx - S * 0.06)} ${n(base - S * 1.13)} ${n(cx + dx + S * 0.06)} ${n(base - S * 1.13)} ${n(cx + dx + S * 0.02)} ${n(bandY)}`;
  const padD = `M${n(cx - dx + S * 0.01)} ${n(bandY - S * 0.06)}C${n(cx - dx - S * 0.02)} ${n(base - S * 1.06)} ${n(cx + dx + S * 0.02)} ${n(base - S * 1.06)} ${n(cx + dx - S * 0.01)} ${n(bandY - S * 0.06)}`;
  L.add(stroke(padD, pad, S * 0.07));
  L.add(stroke(band, cyl(p, body, 0.8), S * 0.045));
  if (!p.flat) {
    const s = p.side;
    L.add(
      stroke(
        `M${n(cx + s * S * 0.06)} ${n(base - S * 0.985)}Q${n(cx + s * S * 0.3)} ${n(base - S * 0.95)} ${n(cx + s * (dx + S * 0.03))} ${n(base - S * 0.72)}`,
        lighten(mix(body, p.key, 0.5), 0.5),
        S * 0.008,
        ` stroke-opacity="0.8"`,
      ),
    );
  }
  let outline = "";
  for (const sgn of [-1, 1]) {
    const x = cx + sgn * dx;
    // Slider: a metal bar from the band into the cup's yoke.
    L.add(
      fill(
        roundRect(x + sgn * S * 0.045 - S * 0.014, bandY - S * 0.02, S * 0.028, S * 0.2, S * 0.014),
        metal(p, trim),
      ),
    );
    L.add(
      stroke(
        `M${n(x + sgn * S * 0.03)} ${n(bandY + S * 0.14)}Q${n(x + sgn * S * 0.1)} ${n(cupY - cupH * 0.3)} ${n(x + sgn * S * 0.085)} ${n(cupY + cupH * 0.05)}`,
        trim,
        S * 0.018,
      ),
    );
    // Cushion toward the middle, shell outside.
    const cushion = roundRect(
      x - sgn * S * 0.08 - S * 0.055,
      cupY - cupH * 0.46,
      S * 0.11,
      cupH * 0.92,
      S * 0.055,
    );
    L.add(fill(cushion, cyl(p, pad, 1.2)));
    const shell = roundRect(x - S * 0.085, cupY - cupH / 2, S * 0.17, cupH, S * 0.085);
    L.add(fill(shell, cyl(p, body, 1)));
    L.add(
      fill(
        roundRect(x - S * 0.058, cupY - cupH * 0.4, S * 0.116, cupH * 0.8, S * 0.058),
        "none",
        ` stroke="${trim}" stroke-width="${n(S * 0.008)}" stroke-opacity="0.8"`,
      ),
    );
    L.add(fill(circle(x, cupY, S * 0.024), trim));
    outline += shell + cushion;
  }
  return { outline, foot: dx + S * 0.09, half: dx + S * 0.12 };
}

function watch(p: ProductPaint, cx: number, base: number, S: number): Drawn {
  const { L, rng } = p;
  const name = boundName(p);
  const metallic = isMetalName(name) || (name === null && has(p, /\b(luxury|gold|golden)\b/));
  const metalColor = p.grade(
    name === "silver"
      ? "#c9ccd2"
      : metallic
        ? "#d9ad4f"
        : name === "black"
          ? "#3a3a40"
          : rng.pick(["#c9ccd2", "#d9ad4f", "#c7c9ce"]),
  );
  const gold = luminance(metalColor) > 0.5 && rgbToHsl(parseHex(metalColor))[1] > 0.4;
  const leather = /\b(leather|strap|nato|canvas)\b/.exec(p.spec.prompt);
  const bracelet =
    !leather && (metallic || /\b(bracelet|steel|metal)\b/.test(p.spec.prompt) || rng.chance(0.35));
  // "a brown leather strap": the colour just before the strap's own word.
  const strapName = leather
    ? (p.spec.prompt
        .slice(0, leather.index)
        .trim()
        .split(" ")
        .slice(-2)
        .find((w) => NAMED_COLORS[w] !== undefined) ?? null)
    : null;
  const strapColor = bracelet
    ? metalColor
    : p.grade(
        strapName
          ? (NAMED_COLORS[strapName] ?? "#5a3a26")
          : name && !metallic
            ? (NAMED_COLORS[name] ?? "#5a3a26")
            : rng.pick(["#5a3a26", "#22222a", "#3b2a20"]),
      );
  const dialColor = p.grade(
    name && !metallic && name !== "black"
      ? darken(NAMED_COLORS[name] ?? "#1c2a44", 0.25)
      : gold
        ? rng.pick(["#16161a", "#efe4c8"])
        : rng.pick(["#16161a", "#1c2a4a", "#f2f0ea", "#1f3b34"]),
  );
  const lightDial = luminance(dialColor) > 0.5;
  const cy = base - S * 0.5;
  const R = S * 0.24;
  const sw = S * 0.25;
  // Strap: up from the case and round the back at the top, down to the table at the bottom.
  const upper = `M${n(cx - sw / 2)} ${n(cy - R * 0.7)}L${n(cx - sw * 0.44)} ${n(base - S * 0.92)}Q${n(cx)} ${n(base - S * 1.02)} ${n(cx + sw * 0.44)} ${n(base - S * 0.92)}L${n(cx + sw / 2)} ${n(cy - R * 0.7)}Z`;
  const lower = `M${n(cx - sw / 2)} ${n(cy + R * 0.7)}L${n(cx - sw * 0.52)} ${n(base - S * 0.04)}Q${n(cx)} ${n(base + S * 0.01)} ${n(cx + sw * 0.52)} ${n(base - S * 0.04)}L${n(cx + sw / 2)} ${n(cy + R * 0.7)}Z`;
  const strapFill = bracelet ? metal(p, strapColor) : cyl(p, strapColor, 0.8);
  L.add(fill(upper, strapFill), fill(lower, strapFill));
  // The strap darkens where it turns away from the light, over the top and down onto the table.
  if (!p.flat) {
    const turn = L.linear([
      [0, "#000000", 0.55],
      [0.3, "#000000", 0],
      [0.7, "#000000", 0],
      [1, "#000000", 0.45],
    ]);
    L.add(
      fill(
        `M${n(cx - sw / 2)} ${n(base - S * 0.72)}L${n(cx - sw * 0.44)} ${n(base - S * 0.92)}Q${n(cx)} ${n(base - S * 1.02)} ${n(cx + sw * 0.44)} ${n(base - S * 0.92)}L${n(cx + sw / 2)} ${n(base - S * 0.72)}Z`,
        turn,
      ),
    );
    L.add(
      fill(
        `M${n(cx - sw / 2)} ${n(base - S * 0.3)}L${n(cx - sw * 0.52)} ${n(base - S * 0.04)}Q${n(cx)} ${n(base + S * 0.01)} ${n(cx + sw * 0.52)} ${n(base - S * 0.04)}L${n(cx + sw / 2)} ${n(base - S * 0.3)}Z`,
        turn,
      ),
    );
  }
  let lines = "";
  if (bracelet) {
    for (let y = cy - R * 0.9; y > base - S * 0.9; y -= S * 0.05)
      lines += `M${n(cx - sw * 0.47)} ${n(y)}h${n(sw * 0.94)}`;
    for (let y = cy + R * 0.9; y < base - S * 0.06; y += S * 0.05)
      lines += `M${n(cx - sw * 0.5)} ${n(y)}h${n(sw)}`;
    lines += `M${n(cx - sw * 0.17)} ${n(base - S * 0.9)}V${n(cy - R)}M${n(cx + sw * 0.17)} ${n(base - S * 0.9)}V${n(cy - R)}`;
    lines += `M${n(cx - sw * 0.17)} ${n(cy + R)}V${n(base - S * 0.05)}M${n(cx + sw * 0.17)} ${n(cy + R)}V${n(base - S * 0.05)}`;
    L.add(
      pathTag(
        lines,
        `fill="none" stroke="${darken(strapColor, 0.45)}" stroke-width="${n(S * 0.006)}" stroke-opacity="0.7"`,
      ),
    );
  } else {
    lines = `M${n(cx - sw * 0.4)} ${n(cy - R)}L${n(cx - sw * 0.36)} ${n(base - S * 0.9)}M${n(cx + sw * 0.4)} ${n(cy - R)}L${n(cx + sw * 0.36)} ${n(base - S * 0.9)}`;
    lines += `M${n(cx - sw * 0.4)} ${n(cy + R)}L${n(cx - sw * 0.44)} ${n(base - S * 0.06)}M${n(cx + sw * 0.4)} ${n(cy + R)}L${n(cx + sw * 0.44)} ${n(base - S * 0.06)}`;
    L.add(
      pathTag(
        lines,
        `fill="none" stroke="${lighten(strapColor, 0.35)}" stroke-width="${n(S * 0.005)}" stroke-dasharray="${n(S * 0.012)} ${n(S * 0.01)}"`,
      ),
    );
    // Keeper and holes on the lower strap.
    L.add(fill(rect(cx - sw * 0.5, base - S * 0.2, sw, S * 0.035), darken(strapColor, 0.25)));
  }
  // Lugs and crown.
  const lug = (sx: number, sy: number): string =>
    polygon([
      [cx + sx * R * 0.35, cy + sy * R * 0.8],
      [cx + sx * R * 0.62, cy + sy * R * 0.62],
      [cx + sx * sw * 0.56, cy + sy * R * 1.12],
      [cx + sx * sw * 0.36, cy + sy * R * 1.12],
    ]);
  L.add(fill(lug(-1, -1) + lug(1, -1) + lug(-1, 1) + lug(1, 1), metal(p, metalColor)));
  L.add(fill(roundRect(cx + R * 0.95, cy - S * 0.035, S * 0.055, S * 0.07, S * 0.012), metal(p, metalColor)));
  const caseD = circle(cx, cy, R);
  L.add(fill(caseD, metal(p, metalColor)));
  L.add(
    fill(
      circle(cx, cy, R * 0.9),
      p.L.linear(
        [
          [0, darken(metalColor, 0.4)],
          [0.5, metalColor],
          [1, lighten(metalColor, 0.4)],
        ],
        p.side > 0 ? 1 : 0,
        0,
        p.side > 0 ? 0 : 1,
        1,
      ),
    ),
  );
  const dialR = R * 0.8;
  L.add(
    fill(
      circle(cx, cy, dialR),
      p.flat
        ? dialColor
        : L.radial(
            [
              [0, lighten(dialColor, 0.12)],
              [0.7, dialColor],
              [1, darken(dialColor, 0.35)],
            ],
            0.5 - p.side * 0.12,
            0.4,
            0.7,
          ),
    ),
  );
  let ticks = "";
  for (let i = 0; i < 12; i++) {
    const a = (i / 12) * Math.PI * 2;
    const long = i % 3 === 0;
    const r0 = dialR * (long ? 0.7 : 0.78);
    const w = S * (long ? 0.016 : 0.01);
    const ux = Math.sin(a);
    const uy = -Math.cos(a);
    const px = -uy * w * 0.5;
    const py = ux * w * 0.5;
    const r1 = dialR * 0.9;
    ticks += polygon([
      [cx + ux * r0 + px, cy + uy * r0 + py],
      [cx + ux * r1 + px, cy + uy * r1 + py],
      [cx + ux * r1 - px, cy + uy * r1 - py],
      [cx + ux * r0 - px, cy + uy * r0 - py],
    ]);
  }
  const inkMetal = lightDial ? darken(metalColor, 0.55) : lighten(metalColor, 0.15);
  L.add(fill(ticks, inkMetal));
  // Hands at ten past ten, the product photographer's smile.
  const hand = (deg: number, len: number, w: number): string => {
    const a = (deg * Math.PI) / 180;
    const ux = Math.sin(a);
    const uy = -Math.cos(a);
    return polygon([
      [cx - ux * len * 0.12 - uy * w, cy - uy * len * 0.12 + ux * w],
      [cx + ux * len, cy + uy * len],
      [cx - ux * len * 0.12 + uy * w, cy - uy * len * 0.12 - ux * w],
    ]);
  };
  L.add(fill(hand(-60, dialR * 0.52, S * 0.016) + hand(60, dialR * 0.8, S * 0.012), inkMetal));
  const a = (200 * Math.PI) / 180;
  L.add(
    stroke(
      `M${n(cx - Math.sin(a) * dialR * 0.2)} ${n(cy + Math.cos(a) * dialR * 0.2)}L${n(cx + Math.sin(a) * dialR * 0.85)} ${n(cy - Math.cos(a) * dialR * 0.85)}`,
      "#d8453a",
      S * 0.005,
    ),
  );
  L.add(fill(circle(cx, cy, S * 0.014), inkMetal));
  if (!p.flat) {
    // Glare on the crystal.
    const gx = cx + p.side * dialR * 0.15;
    L.add(
      fill(
        `M${n(gx - dialR * 0.72)} ${n(cy - dialR * 0.35)}A${n(dialR * 0.8)} ${n(dialR * 0.8)} 0 0 1 ${n(gx + dialR * 0.55)} ${n(cy - dialR * 0.58)}A${n(dialR * 1.2)} ${n(dialR * 1.2)} 0 0 0 ${n(gx - dialR * 0.72)} ${n(cy - dialR * 0.35)}Z`,
        "#ffffff",
        ` fill-opacity="0.22"`,
      ),
    );
  }
  return { outline: caseD + upper + lower, foot: sw * 0.6, half: R * 1.1 };
}

function sneakers(p: ProductPaint, cx: number, base: number, S: number): Drawn {
  const { rng } = p;
  const dir = rng.chance(0.5) ? 1 : -1;
  const len = S * 1.2;
  const color = p.grade(p.color ?? rng.pick(["#f2f0ea", "#2a2b30", "#d83a34", "#3a66c4", "#e9e1d2"]));
  const pair = /\b(sneakers|shoes|trainers|kicks|pair)\b/.test(p.spec.prompt);
  const accent = p.grade(
    luminance(color) > 0.7
      ? rng.pick(["#d83a34", "#2f6fdb", "#222226", "#1f9e6e"])
      : luminance(color) < 0.2
        ? "#f2f0ea"
        : "#f4f4f0",
  );
  if (pair) shoe(p, cx + dir * len * 0.14, base - S * 0.09, len * 0.92, dir, color, accent, 0.22);
  const outline = shoe(p, cx - dir * len * 0.04, base, len, dir, color, accent, 0);
  return { outline, foot: len * 0.5, half: len * 0.58 };
}

/** One shoe in profile, toe toward dir; dim darkens the one behind. */
function shoe(
  p: ProductPaint,
  cx: number,
  base: number,
  len: number,
  dir: number,
  c0: string,
  a0: string,
  dim: number,
): string {
  const { L } = p;
  const c = darken(c0, dim);
  const accent = darken(a0, dim);
  const P = (x: number, y: number): Point => [cx + dir * (x - 0.5) * len, base - y * len];
  const poly = (pts: [number, number][]): Point[] => pts.map(([x, y]) => P(x, y));
  const upperPts = poly([
    [0.03, 0.1],
    [-0.005, 0.2],
    [0.02, 0.32],
    [0.07, 0.385],
    [0.16, 0.34],
    [0.25, 0.345],
    [0.31, 0.43],
    [0.37, 0.43],
    [0.42, 0.37],
    [0.56, 0.29],
    [0.72, 0.21],
    [0.86, 0.165],
    [0.95, 0.13],
    [0.99, 0.095],
  ]);
  const upper =
    smoothLine(upperPts, 0.9) +
    `L${n(P(0.99, 0.08)[0])} ${n(P(0.99, 0.08)[1])}L${n(P(0.03, 0.08)[0])} ${n(P(0.03, 0.08)[1])}Z`;
  const upperFill = L.linear(
    [
      [0, lighten(c, 0.25)],
      [0.5, c],
      [1, darken(c, 0.3)],
    ],
    0,
    0,
    0,
    1,
  );
  L.add(fill(upper, upperFill));
  // Collar opening, tongue, heel tab.
  L.add(
    fill(
      smoothLine(
        poly([
          [0.06, 0.37],
          [0.12, 0.35],
          [0.2, 0.335],
          [0.27, 0.35],
          [0.2, 0.365],
          [0.1, 0.38],
          [0.06, 0.37],
        ]),
      ) + "Z",
      darken(c, 0.6),
    ),
  );
  L.add(
    fill(
      smoothLine(
        poly([
          [0.29, 0.36],
          [0.31, 0.44],
          [0.36, 0.445],
          [0.4, 0.38],
        ]),
      ) + "Z",
      lighten(c, 0.12),
    ),
  );
  // Heel counter, and a pull tab at the back of the collar.
  L.add(
    fill(
      smoothLine(
        poly([
          [0.03, 0.09],
          [0.0, 0.2],
          [0.03, 0.3],
          [0.1, 0.27],
          [0.14, 0.09],
        ]),
      ) + "Z",
      darken(c, 0.18),
      ` fill-opacity="0.8"`,
    ),
  );
  L.add(
    fill(
      polygon(
        poly([
          [0.035, 0.31],
          [0.05, 0.41],
          [0.09, 0.4],
          [0.08, 0.36],
        ]),
      ),
      accent,
    ),
  );
  // Side stripe: a sweep from the heel toward the toe.
  L.add(
    fill(
      smoothLine(
        poly([
          [0.12, 0.14],
          [0.3, 0.2],
          [0.5, 0.23],
          [0.68, 0.235],
        ]),
      ) +
        `L${n(P(0.7, 0.22)[0])} ${n(P(0.7, 0.22)[1])}` +
        smoothLine(
          poly([
            [0.7, 0.22],
            [0.5, 0.17],
            [0.3, 0.13],
            [0.14, 0.11],
          ]),
        ).replace(/^M[^C]*/, "") +
        "Z",
      accent,
    ),
  );
  // Toe cap and laces.
  L.add(
    fill(
      smoothLine(
        poly([
          [0.8, 0.09],
          [0.82, 0.16],
          [0.9, 0.15],
          [0.97, 0.125],
          [0.99, 0.09],
        ]),
      ) + "Z",
      darken(c, 0.1),
      ` fill-opacity="0.6"`,
    ),
  );
  let laces = "";
  // Along the instep, whose top runs about from (0.42, 0.37) to (0.72, 0.21).
  const instep = (x: number): number => 0.37 - (x - 0.42) * 0.55;
  for (let i = 0; i < 5; i++) {
    const x = 0.43 + (i / 4) * 0.2;
    const [x0, y0] = P(x, instep(x) - 0.06);
    const [x1, y1] = P(x + 0.035, instep(x + 0.035) - 0.012);
    laces += `M${n(x0)} ${n(y0)}L${n(x1)} ${n(y1)}`;
  }
  L.add(stroke(laces, luminance(c) > 0.75 ? "#d8d4cc" : "#f4f4f0", len * 0.014));
  // Sole: midsole with a toe spring, outsole beneath.
  const solePts = poly([
    [0.99, 0.085],
    [1.0, 0.05],
    [0.97, 0.02],
    [0.9, 0.0],
    [0.1, 0.0],
    [0.02, 0.015],
    [-0.01, 0.05],
    [0.0, 0.1],
  ]);
  const sole = smoothLine(solePts, 0.8) + `L${n(P(0.5, 0.095)[0])} ${n(P(0.5, 0.095)[1])}Z`;
  const soleColor = darken(luminance(c) < 0.2 && dim === 0 ? "#f2f0ea" : "#f4f2ec", dim);
  L.add(
    fill(
      sole,
      L.linear([
        [0, soleColor],
        [0.5, soleColor],
        [1, darken(soleColor, 0.25)],
      ]),
    ),
  );
  L.add(
    fill(
      polygon(
        poly([
          [0.03, 0.0],
          [0.95, 0.0],
          [0.98, 0.018],
          [0.02, 0.018],
        ]),
      ),
      darken("#3a3836", dim),
    ),
  );
  L.add(
    stroke(
      `M${n(P(0.06, 0.05)[0])} ${n(P(0.06, 0.05)[1])}L${n(P(0.94, 0.05)[0])} ${n(P(0.94, 0.05)[1])}`,
      darken(soleColor, 0.2),
      len * 0.005,
    ),
  );
  return upper + sole;
}

function perfume(p: ProductPaint, cx: number, base: number, S: number): Drawn {
  const { L, rng } = p;
  const liquid = p.grade(p.color ?? rng.pick(["#e8a04a", "#f2a6b8", "#d9b36a", "#b9a3e0", "#e07a5a"]));
  const capColor = p.grade(
    has(p, /\b(black cap|noir|black)\b/) ? "#1c1c20" : rng.pick(["#d9ad4f", "#1c1c20", "#c9ccd2"]),
  );
  const bw = S * 0.54;
  const bh = S * 0.58;
  const top = base - bh;
  const glass = roundRect(cx - bw / 2, top, bw, bh, S * 0.05);
  L.add(fill(glass, cyl(p, mix(liquid, "#ffffff", 0.55), 0.6), p.flat ? "" : ` fill-opacity="0.9"`));
  const inset = S * 0.045;
  const liquidD = roundRect(
    cx - bw / 2 + inset,
    top + bh * 0.2,
    bw - 2 * inset,
    bh * 0.8 - inset * 1.8,
    S * 0.02,
  );
  L.add(
    fill(
      liquidD,
      p.flat
        ? liquid
        : L.linear([
            [0, lighten(liquid, 0.2)],
            [0.5, liquid],
            [1, darken(liquid, 0.3)],
          ]),
    ),
  );
  // The heavy glass base and the meniscus line.
  L.add(
    fill(
      rect(cx - bw / 2 + inset, base - inset * 1.8, bw - 2 * inset, inset * 0.8),
      "#ffffff",
      ` fill-opacity="0.35"`,
    ),
  );
  L.add(
    fill(
      rect(cx - bw / 2 + inset, top + bh * 0.2, bw - 2 * inset, S * 0.008),
      lighten(liquid, 0.5),
      ` fill-opacity="0.8"`,
    ),
  );
  const s = p.side;
  L.add(
    highlight(p, cx + s * (bw / 2 - S * 0.05), top + S * 0.05, base - S * 0.06, S * 0.028, 0.7),
    highlight(p, cx + s * (bw / 2 - S * 0.1), top + S * 0.08, base - S * 0.1, S * 0.012, 0.4),
    highlight(p, cx - s * (bw / 2 - S * 0.04), top + S * 0.08, base - S * 0.08, S * 0.01, 0.3),
  );
  // A small label plaque.
  const plaque = mix(capColor, "#ffffff", luminance(capColor) > 0.5 ? 0.3 : 0.1);
  L.add(
    fill(
      roundRect(cx - bw * 0.22, top + bh * 0.46, bw * 0.44, bh * 0.16, S * 0.008),
      plaque,
      ` fill-opacity="0.9"`,
    ),
  );
  L.add(
    fill(
      rect(cx - bw * 0.14, top + bh * 0.52, bw * 0.28, S * 0.012),
      luminance(plaque) > 0.5 ? "#2a2a2e" : "#e8e2d2",
    ),
  );
  // Neck collar and a heavy cap.
  L.add(fill(rect(cx - S * 0.06, top - S * 0.06, S * 0.12, S * 0.065), metal(p, "#c9b48a")));
  const capW = S * 0.3;
  const capH = S * 0.3;
  const cap = roundRect(cx - capW / 2, top - S * 0.06 - capH, capW, capH, S * 0.03);
  L.add(fill(cap, luminance(capColor) > 0.3 ? metal(p, capColor) : cyl(p, capColor, 1.4)));
  L.add(highlight(p, cx + s * capW * 0.28, top - S * 0.06 - capH + S * 0.03, top - S * 0.09, S * 0.02, 0.5));
  return { outline: glass + cap, foot: bw / 2, half: bw / 2 };
}

function bottle(p: ProductPaint, cx: number, base: number, S: number, beer: boolean): Drawn {
  const { L, rng } = p;
  const name = boundName(p);
  const glassy =
    name !== null && ["green", "emerald", "olive", "brown", "amber", "blue", "teal"].includes(name);
  const glass = p.grade(
    glassy
      ? darken(NAMED_COLORS[name] ?? "#1f3a24", 0.45)
      : beer
        ? rng.pick(["#7a4012", "#6a3a10", "#2e5a2a"])
        : rng.pick(["#1f3a24", "#2a1a1c", "#263326"]),
  );
  const accent = p.grade(
    name && !glassy
      ? (NAMED_COLORS[name] ?? "#8e1f2c")
      : rng.pick(["#8e1f2c", "#d9ad4f", "#1c1c20", "#f2ede2"]),
  );
  const rb = S * (beer ? 0.15 : 0.16);
  const rn = S * (beer ? 0.05 : 0.045);
  const profile: [number, number][] = beer
    ? [
        [0, rb * 0.94],
        [S * 0.02, rb],
        [S * 0.42, rb],
        [S * 0.5, rb * 0.86],
        [S * 0.6, rn * 1.7],
        [S * 0.7, rn * 1.15],
        [S * 0.86, rn],
        [S * 0.9, rn * 1.15],
      ]
    : [
        [0, rb * 0.95],
        [S * 0.02, rb],
        [S * 0.56, rb],
        [S * 0.64, rb * 0.82],
        [S * 0.72, rn * 1.25],
        [S * 0.97, rn],
        [S, rn * 1.1],
      ];
  const outline = turned(cx, base, profile);
  L.add(fill(outline, cyl(p, glass, 1.2)));
  const s = p.side;
  const bodyTop = base - (beer ? S * 0.42 : S * 0.56);
  // Label (and a neck label for beer), shaded like the glass.
  const paper = p.grade(
    beer
      ? rng.pick(["#e0b43c", "#c0392b", "#2f4f8a", "#f4f1ea"])
      : rng.pick(["#efe6d2", "#f4f1ea", "#e8dcc0"]),
  );
  const ly0 = base - S * (beer ? 0.36 : 0.46);
  const ly1 = base - S * (beer ? 0.1 : 0.16);
  L.add(fill(rect(cx - rb * 0.995, ly0, rb * 1.99, ly1 - ly0), cyl(p, paper, 0.6)));
  if (beer) {
    // An oval badge on the label, a neck label and a crown cap.
    const badge = luminance(paper) > 0.6 ? "#c0392b" : "#f4f1ea";
    L.add(fill(ellipse(cx, (ly0 + ly1) / 2, rb * 0.72, (ly1 - ly0) * 0.36), badge));
    L.add(fill(rect(cx - rb * 0.45, (ly0 + ly1) / 2 - S * 0.008, rb * 0.9, S * 0.016), paper));
    L.add(fill(rect(cx - rn * 1.3, base - S * 0.66, rn * 2.6, S * 0.07), cyl(p, paper, 0.7)));
    L.add(
      fill(roundRect(cx - rn * 1.3, base - S * 0.915, rn * 2.6, S * 0.03, S * 0.006), metal(p, "#c9b48a")),
    );
    if (has(p, /\b(cold|chilled|iced|icy|frosty|refreshing)\b/) && !p.flat) {
      let drops = "";
      for (let i = 0; i < 40; i++) {
        const y = base - rng.range(0.03, 0.58) * S;
        const half = y > base - S * 0.42 ? rb : rn * 1.6;
        drops += circle(cx + rng.range(-0.9, 0.9) * half, y, rng.range(0.004, 0.009) * S);
      }
      L.add(fill(drops, "#ffffff", ` fill-opacity="0.45"`));
    }
  } else {
    L.add(fill(rect(cx - rb * 0.995, ly0 + (ly1 - ly0) * 0.62, rb * 1.99, (ly1 - ly0) * 0.14), accent));
    L.add(fill(circle(cx, ly0 + (ly1 - ly0) * 0.32, rb * 0.22), accent, ` fill-opacity="0.85"`));
    // Foil capsule over the cork.
    L.add(fill(rect(cx - rn * 1.12, base - S * 0.99, rn * 2.24, S * 0.17), cyl(p, accent, 1)));
    L.add(fill(rect(cx - rn * 1.12, base - S * 0.85, rn * 2.24, S * 0.012), lighten(accent, 0.3)));
  }
  L.add(
    highlight(p, cx + s * rb * 0.55, bodyTop + S * 0.04, base - S * 0.04, rb * 0.16, 0.55),
    highlight(p, cx - s * rb * 0.72, bodyTop + S * 0.06, base - S * 0.06, rb * 0.06, 0.25),
    highlight(
      p,
      cx + s * rn * 0.45,
      base - S * (beer ? 0.7 : 0.82),
      base - S * (beer ? 0.62 : 0.7),
      rn * 0.3,
      0.5,
    ),
  );
  return { outline, foot: rb, half: rb };
}

function skincare(p: ProductPaint, cx: number, base: number, S: number): Drawn {
  const { L, rng } = p;
  const body = p.grade(p.color ?? rng.pick(["#eadcd2", "#e3e8e4", "#f4f1ea", "#d9c7e6", "#cfe0ea"]));
  const cap = p.grade(rng.pick(["#d9ad4f", "#f4f4f0", "#2a2a2e", "#c9ccd2"]));
  const ink = luminance(body) > 0.5 ? "#4a4a50" : "#f4f4f0";
  const bx = cx - S * 0.14;
  const bw = S * 0.34;
  const bh = S * 0.6;
  const bottleD = roundRect(bx - bw / 2, base - bh, bw, bh, S * 0.08);
  L.add(fill(bottleD, cyl(p, body, 0.7)));
  // Pump: collar, stem, head and spout.
  const collarY = base - bh - S * 0.06;
  L.add(fill(roundRect(bx - S * 0.08, collarY, S * 0.16, S * 0.07, S * 0.015), metal(p, cap)));
  L.add(fill(rect(bx - S * 0.018, collarY - S * 0.1, S * 0.036, S * 0.1), cyl(p, cap, 0.6)));
  const headY = collarY - S * 0.16;
  L.add(fill(roundRect(bx - S * 0.07, headY, S * 0.14, S * 0.065, S * 0.02), metal(p, cap)));
  L.add(
    fill(
      roundRect(
        bx + p.side * S * 0.04 - (p.side > 0 ? 0 : S * 0.14),
        headY + S * 0.012,
        S * 0.14,
        S * 0.028,
        S * 0.012,
      ),
      metal(p, cap),
    ),
  );
  let label = "";
  label += rect(bx - bw * 0.3, base - bh * 0.62, bw * 0.6, S * 0.02);
  label += rect(bx - bw * 0.22, base - bh * 0.54, bw * 0.44, S * 0.01);
  label += rect(bx - bw * 0.26, base - bh * 0.5, bw * 0.52, S * 0.01);
  L.add(fill(label, ink, ` fill-opacity="0.75"`));
  L.add(highlight(p, bx + p.side * bw * 0.3, base - bh + S * 0.08, base - S * 0.06, S * 0.022, 0.55));
  // A jar in front, to the side.
  const jx = cx + S * 0.22;
  const jb = base + S * 0.04;
  const jw = S * 0.34;
  const jh = S * 0.16;
  const jar = roundRect(jx - jw / 2, jb - jh, jw, jh, S * 0.03);
  L.add(fill(jar, cyl(p, body, 0.7)));
  const lid = roundRect(jx - jw * 0.52, jb - jh - S * 0.075, jw * 1.04, S * 0.08, S * 0.02);
  L.add(fill(lid, metal(p, cap)));
  L.add(fill(rect(jx - jw * 0.3, jb - jh * 0.55, jw * 0.6, S * 0.012), ink, ` fill-opacity="0.7"`));
  return { outline: bottleD + jar + lid, foot: S * 0.38, half: S * 0.4 };
}

function cup(p: ProductPaint, cx: number, base: number, S: number, mug: boolean): Drawn {
  const { L, rng } = p;
  const ceramic = p.grade(
    p.color ??
      rng.pick(
        mug
          ? ["#f2efe8", "#2f4858", "#d9825b", "#e8d9b8", "#30302f"]
          : ["#f4f2ec", "#f4f2ec", "#e9e2d4", "#2b2b2e"],
      ),
  );
  const coffee = has(p, /\b(latte|cappuccino|milk|flat white)\b/) ? "#a8703c" : "#3a2214";
  const crema = has(p, /\btea\b/) ? "#b5651d" : "#b98050";
  const s = p.side;
  const handleSide = -s;
  let outline: string;
  let rimY: number;
  let rx: number;
  if (mug) {
    const w = S * 0.5;
    const h = S * 0.6;
    rx = w / 2;
    rimY = base - h;
    const hx = cx + handleSide * rx;
    L.add(
      stroke(
        `M${n(hx)} ${n(rimY + h * 0.18)}C${n(hx + handleSide * S * 0.2)} ${n(rimY + h * 0.1)} ${n(hx + handleSide * S * 0.22)} ${n(rimY + h * 0.75)} ${n(hx)} ${n(rimY + h * 0.78)}`,
        darken(ceramic, 0.12),
        S * 0.06,
      ),
    );
    const body = `M${n(cx - rx)} ${n(rimY)}L${n(cx - rx)} ${n(base - S * 0.04)}Q${n(cx - rx)} ${n(base)} ${n(cx - rx + S * 0.05)} ${n(base)}L${n(cx + rx - S * 0.05)} ${n(base)}Q${n(cx + rx)} ${n(base)} ${n(cx + rx)} ${n(base - S * 0.04)}L${n(cx + rx)} ${n(rimY)}Z`;
    L.add(fill(body, cyl(p, ceramic, 0.8)));
    outline = body;
    if (rng.chance(0.5))
      L.add(
        fill(rect(cx - rx, rimY + h * 0.55, 2 * rx, h * 0.1), darken(ceramic, 0.15), ` fill-opacity="0.6"`),
      );
  } else {
    // A saucer under a tapered cup.
    const sy = base - S * 0.035;
    L.add(fill(ellipse(cx, sy + S * 0.01, S * 0.48, S * 0.075), darken(ceramic, 0.25)));
    const saucer = ellipse(cx, sy, S * 0.48, S * 0.07);
    L.add(fill(saucer, cyl(p, ceramic, 0.5)));
    L.add(fill(ellipse(cx, sy - S * 0.005, S * 0.3, S * 0.042), darken(ceramic, 0.08)));
    rx = S * 0.27;
    const h = S * 0.4;
    rimY = sy - h;
    const bx = S * 0.16;
    const hx = cx + handleSide * rx * 0.86;
    L.add(
      stroke(
        `M${n(hx)} ${n(rimY + h * 0.2)}C${n(hx + handleSide * S * 0.16)} ${n(rimY + h * 0.1)} ${n(hx + handleSide * S * 0.16)} ${n(rimY + h * 0.62)} ${n(cx + handleSide * rx * 0.6)} ${n(rimY + h * 0.7)}`,
        darken(ceramic, 0.1),
        S * 0.045,
      ),
    );
    const body = `M${n(cx - rx)} ${n(rimY)}C${n(cx - rx)} ${n(rimY + h * 0.7)} ${n(cx - bx)} ${n(sy - S * 0.02)} ${n(cx - bx * 0.8)} ${n(sy - S * 0.01)}L${n(cx + bx * 0.8)} ${n(sy - S * 0.01)}C${n(cx + bx)} ${n(sy - S * 0.02)} ${n(cx + rx)} ${n(rimY + h * 0.7)} ${n(cx + rx)} ${n(rimY)}Z`;
    L.add(fill(body, cyl(p, ceramic, 0.8)));
    outline = saucer + body;
  }
  const ry = rx * 0.22;
  L.add(fill(ellipse(cx, rimY, rx, ry), lighten(ceramic, 0.1)));
  L.add(
    fill(
      ellipse(cx, rimY + ry * 0.08, rx * 0.9, ry * 0.82),
      p.flat
        ? coffee
        : L.radial(
            [
              [0, crema],
              [0.55, mix(crema, coffee, 0.5)],
              [1, coffee],
            ],
            0.5,
            0.5,
            0.55,
          ),
    ),
  );
  if (!p.flat)
    L.add(
      fill(
        ellipse(cx + s * rx * 0.35, rimY - ry * 0.1, rx * 0.3, ry * 0.25),
        "#ffffff",
        ` fill-opacity="0.18"`,
      ),
    );
  L.add(
    highlight(p, cx + s * rx * 0.62, rimY + S * 0.05, rimY + (mug ? S * 0.5 : S * 0.26), S * 0.022, 0.45),
  );
  const steam = !has(p, /\b(iced|cold brew|empty)\b/);
  return {
    outline,
    foot: mug ? rx : S * 0.44,
    half: rx + S * 0.12,
    emit: steam ? { x: cx, y: rimY - ry, kind: "steam" } : undefined,
  };
}

function phone(p: ProductPaint, cx: number, base: number, S: number): Drawn {
  const { L, rng } = p;
  const name = boundName(p);
  const frame = p.grade(
    name
      ? (NAMED_COLORS[name] ?? "#2a2a2e")
      : rng.pick(["#2a2a2e", "#d9d4cc", "#3b4a5e", "#c9ccd2", "#e8d6c4"]),
  );
  const w = S * 0.48;
  const h = S * 0.98;
  const x0 = cx - w / 2;
  const y0 = base - h;
  const s = p.side;
  // The edge seen on the light side gives the slab its thickness.
  L.add(
    fill(roundRect(x0 + s * S * 0.018, y0 + S * 0.006, w, h - S * 0.006, S * 0.075), darken(frame, 0.35)),
  );
  const bodyD = roundRect(x0, y0, w, h, S * 0.075);
  L.add(fill(bodyD, metal(p, frame)));
  const m = S * 0.022;
  const screen = roundRect(x0 + m, y0 + m, w - 2 * m, h - 2 * m, S * 0.058);
  L.add(fill(screen, "#0b0b0e"));
  const sx0 = x0 + m * 1.6;
  const sy0 = y0 + m * 1.6;
  const sw = w - m * 3.2;
  const sh = h - m * 3.2;
  const hue = p.grade(
    name && !["black", "white", "silver"].includes(name)
      ? (NAMED_COLORS[name] ?? "#5a6fe0")
      : rng.pick(["#5a6fe0", "#e0607a", "#3fb7a5", "#f08a24", "#8a5bff"]),
  );
  const hue2 = p.grade(rng.pick(["#f4c542", "#22c7e0", "#f27aa8", "#9bd531"]));
  const wall = roundRect(sx0, sy0, sw, sh, S * 0.05);
  L.add(
    fill(
      wall,
      L.linear(
        [
          [0, darken(hue, 0.45)],
          [0.5, hue],
          [1, mix(hue2, hue, 0.3)],
        ],
        0,
        0,
        0.6,
        1,
      ),
    ),
  );
  if (!p.flat)
    L.add(
      fill(
        wall,
        L.radial(
          [
            [0, lighten(hue2, 0.2), 0.8],
            [1, hue2, 0],
          ],
          0.7,
          0.75,
          0.6,
        ),
      ),
    );
  // Clock, a grid of app icons and the dock.
  L.add(
    fill(
      roundRect(cx - sw * 0.28, sy0 + sh * 0.1, sw * 0.56, sh * 0.075, S * 0.01),
      "#ffffff",
      ` fill-opacity="0.9"`,
    ),
  );
  L.add(
    fill(
      roundRect(cx - sw * 0.18, sy0 + sh * 0.2, sw * 0.36, sh * 0.018, S * 0.005),
      "#ffffff",
      ` fill-opacity="0.7"`,
    ),
  );
  const icon = sw * 0.16;
  const gap = (sw - icon * 4) / 5;
  const iconColors = [p.grade("#f4f4f0"), p.grade("#ffd23d"), p.grade("#3dd17a"), p.grade("#2f8bff")];
  const rows = ["", "", "", ""];
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 4; c++) {
      const k = (r * 4 + c + r) % 4;
      rows[k] += roundRect(
        sx0 + gap + c * (icon + gap),
        sy0 + sh * 0.34 + r * (icon + gap * 1.3),
        icon,
        icon,
        icon * 0.25,
      );
    }
  rows.forEach((d, i) => L.add(fill(d, iconColors[i] ?? "#ffffff", ` fill-opacity="0.92"`)));
  L.add(
    fill(
      roundRect(sx0 + gap * 0.5, sy0 + sh - icon - gap * 1.6, sw - gap, icon + gap, icon * 0.35),
      "#ffffff",
      ` fill-opacity="0.25"`,
    ),
  );
  let dock = "";
  for (let c = 0; c < 4; c++)
    dock += roundRect(sx0 + gap + c * (icon + gap), sy0 + sh - icon - gap * 1.1, icon, icon, icon * 0.25);
  L.add(fill(dock, "#ffffff", ` fill-opacity="0.85"`));
  // Camera island and a glare across the glass.
  L.add(fill(roundRect(cx - w * 0.15, y0 + m + S * 0.012, w * 0.3, S * 0.03, S * 0.015), "#050506"));
  if (!p.flat)
    L.add(
      fill(
        polygon([
          [sx0, sy0 + sh * 0.58],
          [sx0 + sw, sy0 + sh * 0.22],
          [sx0 + sw, sy0 + sh * 0.38],
          [sx0, sy0 + sh * 0.78],
        ]),
        "#ffffff",
        ` fill-opacity="0.08"`,
      ),
    );
  // Side buttons.
  const bx = s > 0 ? x0 - S * 0.008 : x0 + w;
  L.add(
    fill(
      roundRect(bx, y0 + h * 0.2, S * 0.01, h * 0.08, S * 0.004) +
        roundRect(bx, y0 + h * 0.31, S * 0.01, h * 0.08, S * 0.004),
      darken(frame, 0.2),
    ),
  );
  return { outline: bodyD, foot: w / 2, half: w / 2 };
}

function camera(p: ProductPaint, cx: number, base: number, S: number): Drawn {
  const { L, rng } = p;
  const vintage =
    p.spec.style === "vintage" || has(p, /\b(vintage|retro|film|old|classic|antique|polaroid|rangefinder)\b/);
  const name = boundName(p);
  const chrome = p.grade(vintage ? "#c9ccd2" : "#2a2a2e");
  const leather = p.grade(
    name
      ? (NAMED_COLORS[name] ?? "#1c1c1e")
      : vintage
        ? rng.pick(["#1c1c1e", "#5a3a26", "#1c1c1e"])
        : "#1e1e21",
  );
  const w = S;
  const h = S * 0.5;
  const x0 = cx - w / 2;
  const top = base - h;
  // Prism hump (behind the body's top edge), top dials.
  const prism = polygon([
    [cx - S * 0.2, top + S * 0.02],
    [cx - S * 0.12, top - S * 0.16],
    [cx + S * 0.12, top - S * 0.16],
    [cx + S * 0.2, top + S * 0.02],
  ]);
  L.add(fill(prism, vintage ? metal(p, chrome) : cyl(p, chrome, 1)));
  L.add(fill(rect(cx - S * 0.09, top - S * 0.11, S * 0.18, S * 0.05), vintage ? "#1c1c1e" : "#3a3a40"));
  L.add(
    fill(
      rect(cx - S * 0.34, top - S * 0.05, S * 0.12, S * 0.06) +
        rect(cx + S * 0.26, top - S * 0.06, S * 0.1, S * 0.07),
      metal(p, vintage ? chrome : "#4a4a50"),
    ),
  );
  L.add(
    fill(rect(cx + S * 0.29, top - S * 0.085, S * 0.04, S * 0.03), metal(p, vintage ? "#e0e2e6" : "#c7c9ce")),
  );
  const bodyD = roundRect(x0, top, w, h, S * 0.05);
  L.add(fill(bodyD, vintage ? metal(p, chrome) : cyl(p, leather, 0.8)));
  // Leatherette band between the top and bottom plates.
  if (vintage) L.add(fill(rect(x0, top + h * 0.24, w, h * 0.64), cyl(p, leather, 0.6)));
  else
    L.add(
      fill(
        roundRect(cx + S * 0.3, top - S * 0.02, S * 0.2, h + S * 0.02, S * 0.06),
        cyl(p, darken(leather, 0.2), 1),
      ),
    );
  if (!vintage) L.add(fill(circle(cx + S * 0.38, top + h * 0.2, S * 0.018), "#d8453a"));
  // Lens: barrel, rings, coated glass with reflections.
  const ly = top + h * 0.55;
  const R = S * (vintage ? 0.22 : 0.25);
  L.add(fill(circle(cx, ly, R), metal(p, vintage ? "#2a2a2e" : "#18181b")));
  L.add(fill(circle(cx, ly, R * 0.86), vintage ? metal(p, chrome) : "#2a2a2e"));
  L.add(fill(circle(cx, ly, R * 0.74), "#121214"));
  const glass = p.flat
    ? "#1a2440"
    : L.radial(
        [
          [0, "#3a5a8a"],
          [0.4, "#1a2440"],
          [0.8, "#0a0c14"],
          [1, "#2a1a3a"],
        ],
        0.5 + p.side * 0.15,
        0.35,
        0.7,
      );
  L.add(fill(circle(cx, ly, R * 0.6), glass));
  if (!p.flat) {
    L.add(fill(circle(cx, ly, R * 0.34), "#6a4a9a", ` fill-opacity="0.25"`));
    L.add(
      fill(
        ellipse(cx + p.side * R * 0.22, ly - R * 0.24, R * 0.14, R * 0.09),
        "#ffffff",
        ` fill-opacity="0.7"`,
      ),
    );
    L.add(
      fill(
        ellipse(cx - p.side * R * 0.2, ly + R * 0.22, R * 0.06, R * 0.04),
        "#b8e0c0",
        ` fill-opacity="0.5"`,
      ),
    );
  }
  L.add(
    stroke(
      `M${n(cx - R * 0.8)} ${n(ly)}A${n(R * 0.8)} ${n(R * 0.8)} 0 0 1 ${n(cx + R * 0.8)} ${n(ly)}`,
      "#ffffff",
      S * 0.004,
      ` stroke-opacity="0.35"`,
    ),
  );
  // Strap lugs.
  L.add(
    fill(
      rect(x0 - S * 0.02, top + h * 0.12, S * 0.025, S * 0.05) +
        rect(x0 + w - S * 0.005, top + h * 0.12, S * 0.025, S * 0.05),
      metal(p, "#c9ccd2"),
    ),
  );
  return { outline: bodyD + prism, foot: w / 2, half: w / 2 };
}

function vase(p: ProductPaint, cx: number, base: number, S: number): Drawn {
  const { L, rng } = p;
  const flowers =
    p.spec.subjects.has("flowers") ||
    has(p, /\b(bouquet|flowers?|tulips?|roses?|peonies|lilies|daisies|sunflowers?)\b/);
  const glaze = p.grade(
    p.color ?? rng.pick(["#2f5e7a", "#e4dccd", "#a14a32", "#6f8f7a", "#d9c3a0", "#2b2b2e"]),
  );
  const h = S * (flowers ? 0.48 : 0.8);
  const shape = rng.int(0, 2);
  const profile: [number, number][] =
    shape === 0
      ? [
          [0, h * 0.16],
          [h * 0.08, h * 0.26],
          [h * 0.35, h * 0.33],
          [h * 0.68, h * 0.17],
          [h * 0.86, h * 0.12],
          [h, h * 0.16],
        ]
      : shape === 1
        ? [
            [0, h * 0.13],
            [h * 0.1, h * 0.2],
            [h * 0.5, h * 0.27],
            [h * 0.8, h * 0.22],
            [h * 0.92, h * 0.16],
            [h, h * 0.19],
          ]
        : [
            [0, h * 0.14],
            [h * 0.2, h * 0.3],
            [h * 0.45, h * 0.34],
            [h * 0.7, h * 0.18],
            [h * 0.85, h * 0.1],
            [h, h * 0.13],
          ];
  const lip = (profile[profile.length - 1] as [number, number])[1];
  const topY = base - h;
  if (flowers) bouquet(p, cx, topY + h * 0.04, S, lip);
  const body = turned(cx, base, profile);
  L.add(fill(body, cyl(p, glaze, 1)));
  L.add(fill(ellipse(cx, topY, lip, lip * 0.25), darken(glaze, 0.55)));
  L.add(highlight(p, cx + p.side * h * 0.14, topY + h * 0.18, base - h * 0.12, h * 0.035, 0.45));
  const widest = Math.max(...profile.map(([, w]) => w));
  return { outline: body, foot: (profile[0] as [number, number])[1] * 1.1, half: widest };
}

/** Stems fanning out of a vase's mouth, with blooms chosen by the flower the prompt names. */
function bouquet(p: ProductPaint, cx: number, mouth: number, S: number, lip: number): void {
  const { L, rng, spec } = p;
  const kind = /\btulips?\b/.test(spec.prompt)
    ? "tulip"
    : /\bsunflowers?\b/.test(spec.prompt)
      ? "sunflower"
      : /\b(daisy|daisies)\b/.test(spec.prompt)
        ? "daisy"
        : /\broses?\b/.test(spec.prompt)
          ? "rose"
          : "mixed";
  const bound = spec.palette.bound.flowers ? NAMED_COLORS[spec.palette.bound.flowers] : undefined;
  const palette =
    kind === "sunflower"
      ? ["#f4c020"]
      : kind === "daisy"
        ? ["#f8f6f0"]
        : bound
          ? [bound, lighten(bound, 0.15), darken(bound, 0.1)]
          : kind === "tulip"
            ? ["#e0403a", "#f27aa8", "#f4c542", "#e0403a"]
            : ["#e94f64", "#f4c542", "#f08a5d", "#f7f3e8", "#b76ee0"];
  const count = kind === "sunflower" ? 4 : rng.int(6, 8);
  const stemColor = p.grade("#4a7a34");
  let stems = "";
  let leaves = "";
  const heads: { x: number; y: number; r: number; c: string; a: number }[] = [];
  for (let i = 0; i < count; i++) {
    const t = count === 1 ? 0.5 : i / (count - 1);
    const a = (t - 0.5) * 1.5 + rng.range(-0.08, 0.08);
    const len = S * (0.42 + 0.12 * Math.cos(a * 1.3)) * rng.range(0.92, 1.05);
    const x0 = cx + (t - 0.5) * lip * 1.2;
    const hx = x0 + Math.sin(a) * len;
    const hy = mouth - Math.cos(a) * len;
    stems += `M${n(x0)} ${n(mouth + S * 0.03)}Q${n(x0 + Math.sin(a) * len * 0.3)} ${n(mouth - len * 0.55)} ${n(hx)} ${n(hy)}`;
    if (i % 2 === 0) {
      const lx = x0 + Math.sin(a) * len * 0.35;
      const ly = mouth - Math.cos(a) * len * 0.35;
      const dir = a >= 0 ? 1 : -1;
      leaves += `M${n(lx)} ${n(ly)}Q${n(lx + dir * S * 0.12)} ${n(ly - S * 0.06)} ${n(lx + dir * S * 0.16)} ${n(ly - S * 0.16)}Q${n(lx + dir * S * 0.04)} ${n(ly - S * 0.08)} ${n(lx)} ${n(ly)}Z`;
    }
    heads.push({
      x: hx,
      y: hy,
      r: S * (kind === "sunflower" ? 0.09 : 0.06) * rng.range(0.9, 1.1),
      c: p.grade(palette[i % palette.length] ?? "#e94f64"),
      a,
    });
  }
  L.add(stroke(stems, stemColor, S * 0.012));
  L.add(fill(leaves, cyl(p, p.grade("#5a8f3e"), 0.6)));
  for (const hd of heads) {
    const { x, y, r, c } = hd;
    if (kind === "tulip") {
      const cup = `M${n(x - r)} ${n(y - r * 0.5)}Q${n(x - r * 1.05)} ${n(y + r * 1.1)} ${n(x)} ${n(y + r * 1.05)}Q${n(x + r * 1.05)} ${n(y + r * 1.1)} ${n(x + r)} ${n(y - r * 0.5)}L${n(x + r * 0.5)} ${n(y - r * 0.05)}L${n(x)} ${n(y - r * 0.75)}L${n(x - r * 0.5)} ${n(y - r * 0.05)}Z`;
      L.add(fill(cup, cyl(p, c, 0.9)));
      L.add(
        fill(
          `M${n(x - r * 0.45)} ${n(y - r * 0.05)}Q${n(x)} ${n(y + r * 0.9)} ${n(x + r * 0.45)} ${n(y - r * 0.05)}L${n(x)} ${n(y - r * 0.6)}Z`,
          darken(c, 0.15),
          ` fill-opacity="0.8"`,
        ),
      );
    } else if (kind === "rose") {
      L.add(fill(circle(x, y, r), cyl(p, c, 0.9)));
      L.add(
        stroke(
          `M${n(x - r * 0.55)} ${n(y)}A${n(r * 0.55)} ${n(r * 0.5)} 0 1 1 ${n(x + r * 0.3)} ${n(y + r * 0.45)}M${n(x - r * 0.2)} ${n(y - r * 0.1)}A${n(r * 0.25)} ${n(r * 0.22)} 0 1 1 ${n(x + r * 0.15)} ${n(y + r * 0.2)}`,
          darken(c, 0.35),
          r * 0.12,
        ),
      );
    } else {
      const petals = kind === "sunflower" ? 12 : kind === "daisy" ? 10 : 5;
      let d = "";
      for (let j = 0; j < petals; j++) {
        const an = (j / petals) * Math.PI * 2;
        const pr = kind === "mixed" ? r * 0.5 : r * 0.34;
        const off = kind === "mixed" ? r * 0.5 : r * 0.72;
        d += circle(x + Math.cos(an) * off, y + Math.sin(an) * off * 0.85, pr);
      }
      L.add(fill(d, cyl(p, c, 0.6)));
      L.add(
        fill(
          circle(x, y, r * (kind === "sunflower" ? 0.5 : 0.3)),
          kind === "sunflower" ? "#5a3418" : p.grade("#f6d04d"),
        ),
      );
    }
  }
}

function lamp(p: ProductPaint, cx: number, base: number, S: number): Drawn {
  const { L, rng } = p;
  const ceramic = p.grade(p.color ?? rng.pick(["#e4dccd", "#2f5e7a", "#c98a5a", "#2b2b2e", "#b9c4b0"]));
  const shadeC = p.grade(rng.pick(["#f3ead8", "#efe4cc", "#e8e2d6"]));
  // Base: a turned ceramic body on a foot.
  const bh = S * 0.42;
  const body = turned(cx, base, [
    [0, S * 0.08],
    [S * 0.03, S * 0.1],
    [bh * 0.35, S * 0.14],
    [bh * 0.75, S * 0.11],
    [bh * 0.95, S * 0.04],
    [bh, S * 0.035],
  ]);
  L.add(fill(rect(cx - S * 0.012, base - S * 0.6, S * 0.024, S * 0.2), metal(p, "#c9b48a")));
  L.add(fill(body, cyl(p, ceramic, 1)));
  L.add(highlight(p, cx + p.side * S * 0.07, base - bh * 0.8, base - bh * 0.15, S * 0.02, 0.45));
  // Shade, glowing from within.
  const y1 = base - S * 0.56;
  const y0 = base - S;
  const shade = `M${n(cx - S * 0.3)} ${n(y1)}L${n(cx - S * 0.19)} ${n(y0)}Q${n(cx)} ${n(y0 - S * 0.02)} ${n(cx + S * 0.19)} ${n(y0)}L${n(cx + S * 0.3)} ${n(y1)}Q${n(cx)} ${n(y1 + S * 0.05)} ${n(cx - S * 0.3)} ${n(y1)}Z`;
  const glowShade = p.L.linear(
    [
      [0, lighten(shadeC, 0.1)],
      [0.5, lighten(shadeC, 0.25)],
      [1, "#fff6dc"],
    ],
    0,
    0,
    0,
    1,
  );
  L.add(fill(shade, glowShade));
  L.add(fill(shade, cyl(p, "#d8c8a8", 0.5), p.flat ? ` fill-opacity="0"` : ` fill-opacity="0.35"`));
  L.add(fill(ellipse(cx, y1 + S * 0.012, S * 0.29, S * 0.03), "#fff4cc"));
  return {
    outline: body + shade,
    foot: S * 0.09,
    half: S * 0.3,
    emit: { x: cx, y: y1 - S * 0.2, kind: "light" },
  };
}

function box(p: ProductPaint, cx: number, base: number, S: number): Drawn {
  const { L, rng } = p;
  const gift = has(p, /\b(gifts?|presents?|christmas|birthday|ribbon|bow)\b/);
  const c = p.grade(
    p.color ??
      rng.pick(
        gift
          ? ["#c0392b", "#1f5e4a", "#2f4f8a", "#f2ede2"]
          : ["#f2ede2", "#2a2a2e", "#d9825b", "#3a66c4", "#e8c6c0"],
      ),
  );
  const ribbon = p.grade(
    gift ? (luminance(c) > 0.6 ? "#c0392b" : "#e0b43c") : luminance(c) > 0.5 ? "#2a2a2e" : "#f2ede2",
  );
  const s = p.side;
  // Front face, with a side face on the light side and the top seen from above.
  const fw = S * 0.62;
  const fh = S * 0.52;
  const dx = -s * S * 0.22;
  const dy = S * 0.16;
  const x0 = cx - fw / 2 - dx * 0.45;
  const x1 = x0 + fw;
  const y0 = base - fh;
  const sideX = dx > 0 ? x1 : x0;
  const front = rect(x0, y0, fw, fh);
  const sideFace = polygon([
    [sideX, y0],
    [sideX + dx, y0 - dy],
    [sideX + dx, base - dy],
    [sideX, base],
  ]);
  const topFace = polygon([
    [x0, y0],
    [x0 + dx, y0 - dy],
    [x1 + dx, y0 - dy],
    [x1, y0],
  ]);
  L.add(
    fill(
      front,
      L.linear([
        [0, lighten(c, 0.06)],
        [0.5, c],
        [1, darken(c, 0.12)],
      ]),
    ),
  );
  L.add(fill(sideFace, darken(c, 0.28)));
  L.add(fill(topFace, lighten(c, 0.18)));
  if (gift) {
    const rw = S * 0.07;
    const mx = (x0 + x1) / 2;
    L.add(fill(rect(mx - rw / 2, y0, rw, fh), cyl(p, ribbon, 0.5)));
    L.add(
      fill(
        polygon([
          [mx - rw / 2, y0],
          [mx - rw / 2 + dx, y0 - dy],
          [mx + rw / 2 + dx, y0 - dy],
          [mx + rw / 2, y0],
        ]) +
          polygon([
            [x0 + dx / 2, y0 - dy / 2 - rw * 0.35],
            [x1 + dx / 2, y0 - dy / 2 - rw * 0.35],
            [x1 + dx / 2, y0 - dy / 2 + rw * 0.35],
            [x0 + dx / 2, y0 - dy / 2 + rw * 0.35],
          ]),
        lighten(ribbon, 0.1),
      ),
    );
    const sm = sideX + dx / 2;
    L.add(
      fill(
        polygon([
          [sm - rw / 2, y0 - dy / 2],
          [sm + rw / 2, y0 - dy / 2],
          [sm + rw / 2, base - dy / 2],
          [sm - rw / 2, base - dy / 2],
        ]),
        darken(ribbon, 0.25),
      ),
    );
    // The bow: two loops and a knot.
    const bx = mx + dx / 2;
    const by = y0 - dy / 2;
    const loop = (sgn: number): string =>
      `M${n(bx)} ${n(by)}C${n(bx + sgn * S * 0.2)} ${n(by - S * 0.2)} ${n(bx + sgn * S * 0.26)} ${n(by + S * 0.02)} ${n(bx)} ${n(by)}Z`;
    L.add(fill(loop(-1) + loop(1), cyl(p, ribbon, 0.8)));
    L.add(fill(ellipse(bx, by - S * 0.01, S * 0.035, S * 0.03), darken(ribbon, 0.15)));
  } else {
    // Packaging: a printed sleeve round the middle, with a brand mark and a line of type on it.
    const band0 = y0 + fh * 0.34;
    const band1 = y0 + fh * 0.72;
    L.add(
      fill(
        rect(x0, band0, fw, band1 - band0),
        L.linear([
          [0, lighten(ribbon, 0.08)],
          [0.5, ribbon],
          [1, darken(ribbon, 0.12)],
        ]),
      ),
    );
    L.add(
      fill(
        polygon([
          [sideX, band0],
          [sideX + dx, band0 - dy],
          [sideX + dx, band1 - dy],
          [sideX, band1],
        ]),
        darken(ribbon, 0.3),
      ),
    );
    const mx = (x0 + x1) / 2;
    const my = (band0 + band1) / 2;
    L.add(fill(circle(mx - fw * 0.22, my, S * 0.045), c));
    L.add(
      fill(
        rect(mx - fw * 0.1, my - S * 0.03, fw * 0.36, S * 0.024) +
          rect(mx - fw * 0.1, my + S * 0.01, fw * 0.24, S * 0.013),
        c,
        ` fill-opacity="0.9"`,
      ),
    );
  }
  const outline = front + sideFace + topFace;
  return { outline, foot: fw / 2 + Math.abs(dx) * 0.5, half: fw / 2 + Math.abs(dx) };
}
