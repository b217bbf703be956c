/**
 * Animals as heroes: flat shapes with light-side shading, in the manner of the cat and dog. Each is drawn
 * once, facing right, in a 100-unit box (ground at y = 0, the top of the figure at y = -100), and placed
 * with a transform that scales it to its height and mirrors it to face left.
 */
import { darken, lighten, luminance, mix } from "../color.js";
import { ANIMALS, type Animal } from "../prompt.js";
import { n, n2, pathTag, type Point } from "../svg.js";
import { lightSide, type Ctx } from "./context.js";
import { boundColor, groundShadow } from "./figures.js";
import { shoreY } from "./terrain.js";

export const isAnimal = (s: string): s is Animal => (ANIMALS as readonly string[]).includes(s);

/** Height in units (the canvas is 1000 tall) of one animal standing alone in the foreground. */
export const ANIMAL_HEIGHT: Record<Animal, number> = {
  fox: 190,
  wolf: 240,
  deer: 340,
  horse: 340,
  cow: 270,
  rabbit: 170,
  bear: 250,
  sheep: 200,
  camel: 380,
  elephant: 400,
  owl: 320,
  penguin: 190,
};

/** Each figure's reach in its box: [back, front, middle of its feet], for centring it and its shadow. */
const EXTENT: Record<Animal, [number, number, number]> = {
  fox: [-93, 70, -4],
  wolf: [-74, 71, -4],
  deer: [-35, 51, -5],
  horse: [-54, 61, -5],
  cow: [-50, 69, -7],
  rabbit: [-41, 37, -4],
  bear: [-52, 71, -3],
  sheep: [-49, 54, -5],
  camel: [-37, 80, -2],
  elephant: [-55, 74, -9],
  owl: [-30, 30, 0],
  penguin: [-20, 32, 3],
};

/** Length over height, nose to tail. */
const length = (animal: Animal): number => (EXTENT[animal][1] - EXTENT[animal][0]) / 100;

/** The nouns, singular | plural, that say how many to draw. */
const NOUNS: Record<Animal, [string, string]> = {
  fox: ["fox|vixen", "foxes|vixens"],
  wolf: ["wolf", "wolves"],
  deer: ["deer|stag|doe|fawn|reindeer|elk", "deers|stags|fawns|reindeers|elks"],
  horse: [
    "horse|pony|stallion|mare|foal|mustang|unicorn|steed",
    "horses|ponies|stallions|mares|foals|mustangs|unicorns|steeds",
  ],
  cow: ["cow|calf", "cows|cattle|calves|oxen"],
  rabbit: ["rabbit|bunny|hare", "rabbits|bunnies|hares"],
  bear: ["bear|grizzly", "bears|grizzlies"],
  sheep: ["lamb|ewe", "lambs|ewes"],
  camel: ["camel|dromedary", "camels|dromedaries"],
  elephant: ["elephant", "elephants"],
  owl: ["owl|owlet", "owls|owlets"],
  penguin: ["penguin", "penguins"],
};

const GROUP =
  "herds?|flocks?|caravans?|packs?|famil(?:y|ies)|groups?|troops?|droves?|parade|colony|several|many|some|a few";

/** How many of an animal the prompt asks for: 1, or 2 or 3 for a plural, a number or a herd. */
export function herdSize(prompt: string, animal: Animal, rng: { int(a: number, b: number): number }): number {
  const [one, many] = NOUNS[animal];
  const before = (words: string, nouns: string): boolean =>
    new RegExp(`\\b(?:${words})\\s+(?:of\\s+)?(?:[a-z-]+\\s+){0,2}?(?:${nouns})\\b`).test(prompt);
  const all = `${one}|${many}${animal === "sheep" ? "|sheep" : ""}`;
  if (before("two|pair|couple|both", all)) return 2;
  if (before(`three|four|five|six|seven|eight|nine|ten|dozens?|${GROUP}`, all)) return 3;
  if (new RegExp(`\\b(?:${all})\\s+(?:${GROUP})\\b`).test(prompt)) return 3;
  if (animal === "camel" && /\bcaravan/.test(prompt)) return 3;
  if (new RegExp(`\\b(?:${many})\\b`).test(prompt)) return rng.int(2, 3);
  // "sheep" is its own plural: alone ("sheep grazing") it is a flock, after "a" or "the" just one.
  if (animal === "sheep" && !/\b(?:a|an|one|the|single|lone|lonely|black|white)\s+sheep\b/.test(prompt))
    return /\bsheep\b/.test(prompt) ? 3 : 1;
  return 1;
}

/** Words the colour finder does not know, or reads better per animal ("a red fox" is orange). */
const ADJECTIVES: [RegExp, string][] = [
  [/\b(grey|gray|silver)\b/, "#8d8e92"],
  [/\b(polar|arctic|snowy|albino)\b/, "#f1eee6"],
  [/\b(grizzly)\b/, "#8a6844"],
  [/\b(golden|palomino|tan|sandy)\b/, "#d4a860"],
];

function furColor(ctx: Ctx, animal: Animal, choices: string[]): string {
  const [one, many] = NOUNS[animal];
  const m = new RegExp(`((?:[a-z-]+ ){0,2})(?:${one}|${many}|${animal})\\b`).exec(ctx.spec.prompt);
  const adjectives = m?.[1] ?? "";
  const bound = ctx.spec.palette.bound[animal];
  let base: string | undefined;
  if (animal === "fox" && (bound === "red" || bound === "orange")) base = "#d9692a";
  else if (bound === "gold" || bound === "amber") base = "#d4a860";
  else if (bound === "brown" && animal !== "bear") base = "#8a5a36";
  else base = boundColor(ctx, animal);
  if (!base) base = ADJECTIVES.find(([re]) => re.test(adjectives))?.[1];
  return coat(ctx, base ?? ctx.rng.pick(choices));
}

/** A coat colour lit for the scene; a white coat by moonlight stays paler than the ground around it. */
function coat(ctx: Ctx, color: string): string {
  const lit = ctx.pal.tone(color);
  return ctx.pal.night && luminance(color) > 0.7 ? mix(lit, "#cfdaf2", 0.22) : lit;
}

/** An animal's markup in its 100-unit box, gathered and then placed with one transform. */
class Figure {
  private readonly parts: string[] = [];
  /** +1 when the light falls on the figure's front (its +x side in the box). */
  readonly lit: number;

  constructor(
    readonly ctx: Ctx,
    private readonly cx: number,
    private readonly base: number,
    private readonly h: number,
    readonly dir: number,
    readonly member = 0,
  ) {
    this.lit = lightSide(ctx, cx) * dir;
  }

  fill(d: string, color: string, opacity = 1): this {
    this.parts.push(
      pathTag(d, opacity >= 1 ? `fill="${color}"` : `fill="${color}" fill-opacity="${n2(opacity)}"`),
    );
    return this;
  }

  /** A fill lit from the light's side and from above, darker underneath (solid in the flat styles). */
  shaded(d: string, color: string, amount = 1): this {
    const x1 = this.lit > 0 ? 1 : 0;
    // By night the lit side takes the moon's cool light, which keeps a pale coat pale.
    const lit = this.ctx.pal.night ? mix(color, "#dce6ff", 0.32 * amount) : lighten(color, 0.2 * amount);
    // The flat styles have no gradient, only its middle colour: by night that is the coat in the dark, as
    // dark as the ground, so they take a moonlit coat instead.
    if (this.ctx.flat && this.ctx.pal.night) {
      this.parts.push(pathTag(d, `fill="${mix(color, "#dce6ff", 0.22 * amount)}"`));
      return this;
    }
    const fill = this.ctx.fg.linear(
      [
        [0, lit],
        [0.45, color],
        [1, darken(color, 0.28 * amount)],
      ],
      x1,
      0,
      1 - x1,
      1,
    );
    this.parts.push(pathTag(d, `fill="${fill}"`));
    return this;
  }

  /**
   * The main silhouette: shaded, and by night edged so it does not sink into a ground of the same value,
   * a pale coat with a dark line, a dark one with a moonlit rim.
   */
  body(d: string, color: string): this {
    this.shaded(d, color);
    if (this.ctx.pal.night) {
      const pale = luminance(color) > 0.16;
      this.stroke(d, pale ? darken(color, 0.55) : mix(color, "#dce6ff", 0.55), 1.2, 0.7);
    }
    return this;
  }

  stroke(d: string, color: string, width: number, opacity = 1): this {
    const alpha = opacity >= 1 ? "" : ` stroke-opacity="${n2(opacity)}"`;
    this.parts.push(
      pathTag(
        d,
        `fill="none" stroke="${color}"${alpha} stroke-width="${n(width)}" stroke-linecap="round" stroke-linejoin="round"`,
      ),
    );
    return this;
  }

  raw(markup: string): this {
    this.parts.push(markup);
    return this;
  }

  done(): void {
    const k = this.h / 100;
    const s = (v: number): string => String(Math.round(v * 1000) / 1000);
    this.ctx.fg.add(
      `<g transform="translate(${n(this.cx)} ${n(this.base)}) scale(${s(this.dir * k)} ${s(k)})">${this.parts.join("")}</g>`,
    );
  }
}

const EYE = "#17120f";

function eye(f: Figure, x: number, y: number, r: number): void {
  f.fill(`M${x - r} ${y}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0Z`, EYE);
  if (r >= 1.4 && !f.ctx.flat) {
    const g = r * 0.38;
    const gx = x + r * 0.3;
    const gy = y - r * 0.35;
    f.fill(
      `M${n(gx - g)} ${n(gy)}a${n(g)} ${n(g)} 0 1 0 ${n(2 * g)} 0a${n(g)} ${n(g)} 0 1 0 ${n(-2 * g)} 0Z`,
      "#ffffff",
      0.85,
    );
  }
}

const dot = (x: number, y: number, r: number): string =>
  `M${n(x - r)} ${n(y)}a${n(r)} ${n(r)} 0 1 0 ${n(2 * r)} 0a${n(r)} ${n(r)} 0 1 0 ${n(-2 * r)} 0Z`;
const oval = (x: number, y: number, rx: number, ry: number): string =>
  `M${n(x - rx)} ${n(y)}a${n(rx)} ${n(ry)} 0 1 0 ${n(2 * rx)} 0a${n(rx)} ${n(ry)} 0 1 0 ${n(-2 * rx)} 0Z`;

type Drawer = (f: Figure) => void;

function fox(f: Figure): void {
  const wolf = false;
  const fur = furColor(f.ctx, "fox", ["#d9692a", "#d9692a", "#c85a24"]);
  quadrupedFox(f, fur, wolf);
}

function wolf(f: Figure): void {
  const fur = furColor(f.ctx, "wolf", ["#8d8e92", "#7d7a76", "#9a948a"]);
  quadrupedFox(f, fur, true);
}

/** Fox and wolf share a shape: a wolf is taller in the leg, with a heavier head and a plainer tail. */
function quadrupedFox(f: Figure, fur: string, wolf: boolean): void {
  const pale = coat(f.ctx, wolf ? "#e6e0d6" : "#f4eee4");
  const dark = mix(darken(fur, 0.6), "#1c1410", 0.4);
  const far = darken(fur, 0.3);
  const legs = wolf ? darken(fur, 0.15) : dark;
  // Tail: a full brush sweeping down behind.
  const tail = wolf
    ? "M-38 -50C-54 -50 -66 -40 -72 -22C-74 -14 -70 -10 -65 -12C-62 -24 -52 -34 -40 -40Z"
    : "M-38 -50C-56 -58 -80 -50 -88 -30C-93 -17 -89 -6 -82 -6C-80 -18 -70 -30 -56 -36C-48 -39 -42 -41 -40 -43Z";
  f.shaded(tail, fur, 0.8);
  if (!wolf) f.fill("M-87 -28C-92 -16 -89 -6 -82 -6C-81 -12 -79 -17 -76 -21C-80 -22 -84 -25 -87 -28Z", pale);
  else f.fill("M-72 -22C-74 -14 -70 -10 -65 -12C-65 -15 -64 -18 -63 -20C-66 -20 -69 -21 -72 -22Z", dark);
  // Far legs, then the body.
  f.stroke("M18 -34L15 -2M-24 -36L-29 -15L-27 -2", darken(legs, 0.3), 6.5);
  f.fill("M34 -78L36 -96L44 -80Z", far);
  const body = wolf
    ? "M-40 -50C-38 -60 -24 -62 -6 -60C8 -59 18 -62 26 -68C30 -74 34 -80 42 -81C48 -82 53 -79 56 -75L70 -67C71 -64 69 -61 66 -61L52 -60C46 -58 40 -52 36 -44C34 -37 28 -33 22 -33L-26 -34C-37 -34 -44 -39 -44 -45C-44 -47 -42 -49 -40 -50Z"
    : "M-40 -50C-38 -58 -24 -58 -8 -56C8 -55 18 -58 26 -64C30 -72 36 -80 43 -80C49 -80 53 -77 56 -73L69 -62C70 -59 68 -57 65 -57L51 -57C45 -56 39 -50 35 -42C33 -35 27 -31 20 -31L-24 -31C-36 -31 -44 -36 -44 -44C-44 -47 -42 -49 -40 -50Z";
  f.body(body, fur);
  // White cheek, throat and chest.
  f.fill(
    wolf
      ? "M66 -61L52 -60C46 -58 40 -52 36 -44C34 -38 31 -35 27 -34C32 -42 35 -52 42 -60C48 -65 56 -66 62 -64Z"
      : "M65 -57L51 -57C45 -56 39 -50 35 -42C33 -36 30 -33 26 -32C30 -41 33 -50 40 -58C46 -64 54 -65 60 -62Z",
    pale,
  );
  // Near legs.
  f.stroke("M27 -34L29 -2M-31 -38L-37 -15L-35 -2", legs, 7);
  // Near ear with a dark back.
  f.fill("M41 -80L45 -100L53 -78Z", fur);
  f.fill("M43 -90L45 -100L48 -91Z", dark);
  eye(f, 53, -71, 2.2);
  f.fill(dot(wolf ? 69 : 68, wolf ? -64.5 : -60, 2.4), EYE);
}

function deer(f: Figure): void {
  const { ctx } = f;
  const text = ctx.spec.prompt;
  const reindeer = /\b(reindeers?|caribou)\b/.test(text);
  // A stag unless the prompt says doe or fawn; in a herd, one stag among mostly does.
  const antlers =
    reindeer ||
    /\b(stags?|antlers?|bucks?|elks?)\b/.test(text) ||
    (!/\b(doe|fawns?|hinds?)\b/.test(text) && (f.member === 0 || ctx.rng.chance(0.3)));
  const fur = furColor(ctx, "deer", reindeer ? ["#8a7563", "#7d6a5a"] : ["#a8683c", "#9c5f34", "#b07444"]);
  const pale = coat(ctx, reindeer ? "#ece6da" : "#eee2cc");
  const far = darken(fur, 0.3);
  const hoof = darken(fur, 0.7);
  const bone = ctx.pal.tone(reindeer ? "#d8c8a8" : "#e2d2b2");
  // Antlers first, so the head overlaps their base.
  if (antlers) {
    const big = reindeer ? 1.25 : 1;
    const beam = (ox: number, s: number): string => {
      const p = (x: number, y: number): string => `${n(ox + 35 + (x - 35) * s)} ${n(-75 + (y + 75) * s)}`;
      return (
        `M${p(35, -75)}C${p(31, -84)} ${p(27, -92)} ${p(33, -101)}` +
        `M${p(33, -80)}L${p(41, -84)}M${p(30, -88)}L${p(39, -94)}`
      );
    };
    f.stroke(beam(-6, 0.92 * big), darken(bone, 0.3), 2.8);
    f.stroke(beam(0, big), bone, 3);
  }
  f.stroke("M10 -34L8 -2M-17 -36L-21 -15L-19 -2", far, 4.2);
  f.stroke("M8 -4L8 -1M-19 -4L-19 -1", darken(hoof, 0.2), 4.6);
  // Far ear.
  f.fill("M31 -72C26 -80 19 -83 16 -81C18 -76 24 -72 31 -70Z", far);
  f.body(
    "M-30 -48C-28 -55 -18 -56 -4 -54C6 -53 13 -55 18 -59C22 -64 26 -70 30 -73C33 -76 38 -77 41 -74L50 -63C51 -60 49 -58 46 -59L38 -61C33 -60 29 -53 25 -45C23 -37 19 -32 12 -32L-20 -33C-28 -33 -33 -38 -32 -44C-32 -46 -31 -47 -30 -48Z",
    fur,
  );
  // Pale belly, throat and rump; a short dark-topped tail.
  f.fill("M-20 -33L12 -32C16 -32 20 -35 22 -38C10 -36 -8 -36 -24 -37C-24 -35 -22 -33 -20 -33Z", pale, 0.9);
  f.fill("M38 -61C34 -60 31 -56 28 -50C32 -52 36 -56 40 -59Z", pale);
  f.fill(oval(-30, -42, 3.6, 6), pale);
  f.fill("M-29 -48C-33 -48 -35 -45 -34 -42C-32 -43 -30 -45 -29 -48Z", darken(fur, 0.2));
  f.stroke("M16 -35L17 -2M-23 -38L-28 -15L-26 -2", fur, 4.6);
  f.stroke("M17 -4L17 -1M-26 -4L-26 -1", hoof, 5);
  // Near ear, eye and nose.
  f.fill("M33 -73C28 -82 20 -86 17 -84C19 -78 26 -73 33 -71Z", fur);
  f.fill("M31 -73C27 -80 22 -83 20 -82C22 -78 26 -75 31 -72Z", darken(fur, 0.25), 0.6);
  eye(f, 40, -68, 1.9);
  f.fill(dot(49.5, -61, 1.8), EYE);
  if (reindeer) f.fill("M25 -45C28 -54 32 -60 38 -61C36 -56 34 -50 32 -44C30 -42 27 -42 25 -45Z", pale);
}

function horse(f: Figure): void {
  const { ctx } = f;
  const unicorn = /\bunicorns?\b/.test(ctx.spec.prompt);
  const coats: [string, string][] = [
    ["#8a5530", "#2a1e18"],
    ["#a65a2e", "#6a3418"],
    ["#c8c4bc", "#6e6a66"],
    ["#3a302b", "#17120f"],
    ["#eceae4", "#cfcac0"],
    ["#d8b060", "#f3ead6"],
  ];
  const pick = ctx.rng.pick(coats);
  const bound = boundColor(ctx, "horse") ?? (unicorn ? "#f4f2ee" : undefined);
  const fur = bound ? furColor(ctx, "horse", [bound]) : furColor(ctx, "horse", [pick[0]]);
  const maneBase = unicorn
    ? ctx.rng.pick(["#f29cc8", "#b59ce6", "#8fd6f0"])
    : bound
      ? darken(bound, 0.45)
      : pick[1];
  const mane = ctx.pal.tone(maneBase);
  const far = darken(fur, 0.28);
  const hoof = ctx.pal.tone("#2a2420");
  // Tail, far legs, body.
  f.fill("M-40 -56C-50 -54 -54 -42 -54 -22C-52 -20 -49 -22 -47 -26C-46 -36 -44 -44 -38 -50Z", mane);
  f.stroke("M14 -42L12 -20L12 -3M-24 -44L-27 -17L-25 -3", far, 6);
  f.stroke("M12 -4L12 -1M-25 -4L-25 -1", darken(hoof, 0.2), 6.6);
  f.body(
    "M-40 -52C-38 -60 -28 -62 -14 -59C0 -57 12 -60 20 -64C28 -72 34 -84 40 -92C42 -95 45 -96 47 -94L60 -74C62 -70 60 -66 56 -67C52 -68 47 -71 44 -74C40 -72 36 -64 32 -56C30 -48 26 -43 20 -41L-26 -41C-36 -41 -43 -45 -42 -50C-42 -51 -41 -52 -40 -52Z",
    fur,
  );
  // Mane along the crest, with a forelock.
  f.fill(
    "M20 -64C28 -72 34 -84 40 -92C42 -95 44 -96 46 -95L44 -91C38 -84 32 -74 26 -64C24 -62 22 -62 20 -64Z",
    mane,
  );
  f.fill("M46 -95L50 -90L46 -88Z", mane);
  f.stroke("M22 -43L24 -20L23 -3M-30 -46L-34 -17L-32 -3", fur, 6.6);
  f.stroke("M23 -4L23 -1M-32 -4L-32 -1", hoof, 7);
  // Ear, eye, nostril.
  f.fill("M43 -93L43 -101L47 -95Z", fur);
  eye(f, 47.5, -85, 1.9);
  f.fill(dot(57.5, -70, 1.1), darken(fur, 0.5));
  if (unicorn) f.stroke("M47 -96L55 -114", ctx.pal.tone("#f0d890"), 2.4);
}

function cow(f: Figure): void {
  const { ctx } = f;
  const patched = ctx.rng.chance(0.6);
  const fur = furColor(ctx, "cow", patched ? ["#f2efe8"] : ["#8a5a36", "#a87a4e", "#3a302b"]);
  const patch = ctx.pal.tone(patched ? ctx.rng.pick(["#2a2522", "#7a4a2a"]) : "#2a2522");
  const far = darken(fur, 0.28);
  const hoof = ctx.pal.tone("#2a2420");
  const horn = coat(ctx, "#ece2cc");
  const pink = ctx.pal.tone("#eaa8a0");
  f.stroke("M-46 -70Q-50 -52 -49 -34", far, 1.8);
  f.fill(oval(-49, -32, 2.4, 5), patch);
  f.stroke("M16 -44L15 -4M-28 -46L-31 -22L-29 -4", far, 9);
  f.stroke("M45 -86Q46 -92 51 -94", darken(horn, 0.2), 3.2);
  // A deep, square body with a hip bone, a dewlap under the neck.
  f.body(
    "M-46 -64C-47 -74 -42 -80 -34 -80C-26 -78 -20 -77 -12 -77C4 -78 18 -80 28 -82C34 -84 40 -84 44 -80L48 -64C46 -56 42 -50 38 -46C34 -40 28 -38 20 -38L-34 -38C-42 -39 -46 -50 -46 -64Z",
    fur,
  );
  if (patched)
    f.fill(
      "M-32 -79C-22 -78 -12 -77 -6 -72C-6 -62 -14 -54 -24 -56C-30 -58 -34 -66 -32 -79ZM6 -64C12 -70 22 -68 24 -60C22 -52 12 -48 6 -53C4 -57 4 -61 6 -64Z",
      patch,
    );
  f.fill(oval(-8, -38, 9, 4.5), pink, 0.9);
  f.stroke("M25 -44L26 -4M-38 -48L-42 -22L-40 -4", fur, 9.4);
  f.stroke("M26 -5L26 -1M-40 -5L-40 -1M15 -5L15 -1M-29 -5L-29 -1", hoof, 9.4);
  // Head: a long, broad wedge pointing down; the ear sticks out sideways, the muzzle is pale pink.
  f.body("M40 -86C48 -90 58 -87 61 -80L68 -58C69 -51 64 -46 57 -47L50 -49C44 -58 40 -70 38 -80Z", fur);
  if (patched) f.fill("M40 -86C48 -90 56 -88 59 -83L53 -76C46 -76 41 -80 39 -82Z", patch);
  f.fill("M61 -62L68 -58C69 -51 64 -46 57 -47L51 -49C52 -56 56 -62 61 -62Z", pink);
  f.fill("M42 -80C36 -84 28 -84 26 -80C30 -76 37 -76 43 -76Z", patched ? patch : darken(fur, 0.15));
  f.fill("M40 -79C35 -82 30 -82 29 -80C32 -78 36 -78 40 -78Z", pink, 0.7);
  f.stroke("M49 -88Q51 -94 56 -96", horn, 3.2);
  eye(f, 53, -76, 1.9);
  f.fill(dot(63.5, -53, 1.2), darken(pink, 0.4));
}

function rabbit(f: Figure): void {
  const { ctx } = f;
  const hare = /\bhares?\b/.test(ctx.spec.prompt);
  const fur = furColor(
    ctx,
    "rabbit",
    hare ? ["#a07a52"] : ["#a38769", "#c9bfb3", "#8d8a86", "#f4f1ea", "#b08a62"],
  );
  const far = darken(fur, 0.25);
  const pale = lighten(fur, 0.55);
  const ear = hare ? 1.15 : 1;
  const e = (x: number, y: number): string => `${n(x)} ${n(-62 + (y + 62) * ear)}`;
  f.fill(
    `M${e(8, -60)}C${e(0, -76)} ${e(-6, -92)} ${e(-2, -96)}C${e(4, -94)} ${e(10, -78)} ${e(15, -61)}Z`,
    far,
  );
  f.fill(oval(-6, -3.5, 20, 4.5), far);
  // Body: a rounded hunch down to the front paws.
  f.body(
    "M-26 -4C-38 -16 -38 -40 -22 -48C-10 -54 6 -54 14 -44C20 -36 20 -24 18 -14L19 -3C16 -1 12 -1 10 -3L8 -10C2 -6 -10 -2 -26 -4Z",
    fur,
  );
  f.fill(oval(-4, -3.5, 20, 4.5), fur);
  f.fill("M19 -3C16 -1 12 -1 10 -3L10 -12C13 -14 17 -13 18 -10Z", lighten(fur, 0.1));
  // Head and the near ear.
  f.shaded(oval(22, -51, 15, 12.5), fur);
  f.fill(
    `M${e(13, -59)}C${e(9, -78)} ${e(10, -96)} ${e(16, -99)}C${e(22, -96)} ${e(22, -78)} ${e(20, -60)}Z`,
    fur,
  );
  f.fill(
    `M${e(15, -64)}C${e(13, -78)} ${e(14, -91)} ${e(16, -94)}C${e(19, -91)} ${e(19, -78)} ${e(18, -64)}Z`,
    ctx.pal.tone("#e8a0a8"),
    0.75,
  );
  f.fill(oval(-34, -20, 7.5, 7.5), coat(ctx, "#fbf8f2"));
  f.fill(oval(28, -44, 6, 4), pale, 0.8);
  eye(f, 26, -54, 2.6);
  f.fill(dot(36, -48, 1.6), ctx.pal.tone("#d8788a"));
}

function bear(f: Figure): void {
  const { ctx } = f;
  const polar = /\bpolar\b/.test(ctx.spec.prompt);
  const fur = furColor(ctx, "bear", polar ? ["#efe9dc"] : ["#6e4a30", "#5a3c28", "#2e2926", "#8a6844"]);
  const far = darken(fur, polar ? 0.18 : 0.3);
  const snout = polar ? darken(fur, 0.05) : lighten(fur, 0.28);
  f.stroke("M20 -36L18 -7M-28 -40L-30 -7", far, 15);
  f.fill(dot(37, -86, 4.6), far);
  f.body(
    polar
      ? "M-50 -46C-52 -66 -42 -82 -22 -86C-4 -90 10 -94 20 -90C30 -86 36 -80 42 -76C48 -78 54 -76 60 -72L70 -64C72 -60 68 -57 64 -58C58 -56 52 -54 48 -52C42 -48 38 -40 36 -30L-38 -28C-48 -30 -51 -38 -50 -46Z"
      : "M-50 -46C-52 -70 -40 -86 -20 -90C-4 -94 8 -100 18 -98C28 -96 34 -88 40 -82C46 -84 52 -82 58 -76L68 -66C70 -62 66 -58 62 -59C56 -57 50 -55 46 -52C40 -48 36 -38 34 -28L-38 -28C-48 -30 -51 -38 -50 -46Z",
    fur,
  );
  f.fill(
    polar
      ? "M60 -72L70 -64C72 -60 68 -57 64 -58C60 -58 56 -62 56 -66Z"
      : "M58 -76L68 -66C70 -62 66 -58 62 -59C58 -60 54 -64 54 -69Z",
    snout,
  );
  f.stroke("M30 -36L32 -7M-38 -40L-36 -7", fur, 16);
  f.fill(dot(polar ? 44 : 43, polar ? -80 : -85, 5), fur);
  f.fill(dot(polar ? 44 : 43, polar ? -80 : -85, 2.4), darken(fur, 0.4));
  eye(f, polar ? 54 : 52, polar ? -70 : -75, 1.8);
  f.fill(dot(polar ? 69.5 : 67.5, polar ? -62 : -64, 2.4), EYE);
}

function sheep(f: Figure): void {
  const { ctx } = f;
  const black = /\bblack\s+sheep\b/.test(ctx.spec.prompt);
  const wool = black ? ctx.pal.tone("#3a3634") : furColor(ctx, "sheep", ["#f1ede2", "#ece4d4"]);
  const face = ctx.pal.tone(black ? "#1e1c1b" : ctx.rng.pick(["#2e2a28", "#2e2a28", "#e2d2c0"]));
  const graze = /\bgraz/.test(ctx.spec.prompt) ? ctx.rng.chance(0.6) : ctx.rng.chance(0.2);
  const legs = darken(face, 0.1);
  f.stroke("M14 -36L13 -2M-24 -36L-25 -2", darken(legs, 0.25), 5);
  // Wool: a scalloped cloud of overlapping puffs.
  const puffs: [number, number, number][] = [
    [-36, -56, 13],
    [-28, -71, 14],
    [-12, -80, 15],
    [6, -79, 14],
    [21, -70, 13],
    [26, -55, 12],
    [16, -42, 13],
    [-2, -39, 14],
    [-20, -41, 13],
    [-34, -45, 11],
  ];
  f.shaded(oval(-5, -59, 33, 22) + puffs.map(([x, y, r]) => dot(x, y, r)).join(""), wool, 0.9);
  if (!ctx.flat) f.fill(dot(-12, -82, 9) + dot(4, -81, 8) + dot(-27, -73, 8), lighten(wool, 0.35), 0.5);
  f.stroke("M20 -36L21 -2M-30 -37L-31 -2", legs, 5.4);
  // Head, tilted down to the grass when grazing.
  const head =
    `<g transform="rotate(${graze ? 62 : 0} 28 -62)">` +
    pathTag("M28 -70C36 -74 48 -68 52 -58C54 -52 50 -48 45 -50C38 -52 31 -57 27 -62Z", `fill="${face}"`) +
    pathTag("M31 -69C26 -74 19 -73 17 -70C20 -67 26 -66 31 -66Z", `fill="${darken(face, 0.2)}"`) +
    pathTag(dot(30, -69, 7.5), `fill="${wool}"`) +
    pathTag(dot(42, -62, 1.8), `fill="${luminous(face) ? EYE : "#f4efe6"}"`) +
    "</g>";
  f.raw(head);
}

const luminous = (c: string): boolean => {
  const v = Number.parseInt(c.slice(1, 3), 16) + Number.parseInt(c.slice(3, 5), 16);
  return v > 240;
};

function camel(f: Figure): void {
  const { ctx } = f;
  const bactrian = /\bbactrian\b|\btwo[- ]hump/.test(ctx.spec.prompt);
  const fur = furColor(ctx, "camel", ["#c89b62", "#b8874f", "#d0a872"]);
  const far = darken(fur, 0.3);
  const pad = darken(fur, 0.35);
  f.stroke("M-34 -66Q-38 -56 -36 -46", far, 1.8);
  f.stroke("M14 -54L12 -30L12 -3M-20 -56L-23 -30L-21 -3", far, 5);
  f.fill(oval(12, -2.5, 4, 2.2) + oval(-21, -2.5, 4, 2.2), darken(pad, 0.25));
  const back = bactrian
    ? "C-30 -80 -28 -98 -18 -98C-10 -98 -10 -84 -6 -82C-2 -84 -2 -98 8 -98C18 -98 18 -80 24 -74"
    : "C-34 -74 -26 -78 -18 -80C-12 -96 6 -102 12 -86C16 -78 20 -76 24 -74";
  f.body(
    `M-34 -66${back}C32 -72 38 -66 44 -66C50 -68 52 -76 54 -84C56 -90 60 -92 66 -92C70 -92 73 -90 75 -87L79 -81C80 -78 78 -77 75 -77L66 -79C62 -78 60 -74 58 -70C56 -62 50 -56 42 -56C36 -55 30 -52 26 -52C22 -50 18 -50 14 -50L-22 -52C-30 -52 -35 -58 -34 -66Z`,
    fur,
  );
  if (/\bcaravan|saddle|rider|trek|nomad|bedouin/.test(ctx.spec.prompt)) {
    const cloth = ctx.pal.tone(ctx.rng.pick(["#b8332e", "#2f5fa8", "#d89a2a", "#7a2f6a"]));
    f.fill(
      bactrian ? "M-10 -84L-6 -82L-2 -84L-2 -64L-10 -64Z" : "M-20 -78C-12 -90 4 -92 12 -84L16 -66L-20 -68Z",
      cloth,
    );
    if (!bactrian) f.stroke("M-20 -67L16 -65", lighten(cloth, 0.4), 1.4);
  }
  f.stroke("M24 -54L26 -30L25 -3M-27 -58L-31 -30L-29 -3", fur, 5.4);
  f.fill(oval(26, -30, 3.6, 4) + oval(-31, -30, 3.4, 4), fur);
  f.fill(oval(25, -2.5, 4.4, 2.4) + oval(-29, -2.5, 4.4, 2.4), pad);
  f.fill("M64 -91L62 -96L67 -92Z", fur);
  eye(f, 69, -86.5, 1.5);
}

function elephant(f: Figure): void {
  const { ctx } = f;
  const skin = furColor(ctx, "elephant", ["#8e8c8a", "#8a847e", "#9a948c"]);
  const far = darken(skin, 0.28);
  const ivory = coat(ctx, "#f2ead6");
  f.stroke("M-50 -58Q-55 -46 -53 -34", far, 1.8);
  f.fill("M-53 -36L-55 -30L-51 -30Z", far);
  f.stroke("M12 -44L11 -9M-30 -46L-31 -9", far, 16);
  f.body(
    "M-50 -56C-52 -76 -40 -90 -20 -92C0 -94 16 -94 26 -92C32 -98 40 -100 48 -98C58 -94 62 -84 62 -74C62 -66 60 -60 58 -54L48 -52C44 -50 36 -42 30 -40L-38 -40C-48 -42 -52 -48 -50 -56Z",
    skin,
  );
  // Trunk: tapering down and curling forward at the tip.
  f.shaded(
    "M52 -70C60 -56 62 -40 62 -22C62 -12 66 -6 72 -8C74 -9 74 -12 72 -13C69 -13 68 -16 68 -22C68 -40 66 -58 62 -72Z",
    skin,
  );
  f.stroke("M22 -44L22 -9M-40 -48L-39 -9", skin, 16.4);
  f.fill("M15 -3h14v-7h-14ZM-47 -3h15v-7h-15Z", skin);
  f.stroke("M16 -3.5h12M-46 -3.5h13", lighten(skin, 0.25), 1.4, 0.7);
  // Ear: a big flap over the neck.
  f.shaded(
    "M20 -88C32 -98 46 -90 46 -76C46 -64 40 -52 30 -50C24 -52 22 -60 20 -66C18 -74 14 -82 20 -88Z",
    darken(skin, 0.1),
  );
  f.fill("M54 -54C58 -46 64 -42 72 -44C68 -39 58 -40 52 -48Z", ivory);
  eye(f, 51, -78, 1.6);
}

function owl(f: Figure): void {
  const { ctx } = f;
  const snowy = /\bsnowy owl|white owl|arctic owl\b/.test(ctx.spec.prompt);
  const barn = !snowy && (/\bbarn owls?\b/.test(ctx.spec.prompt) || ctx.rng.chance(0.3));
  const feathers = furColor(ctx, "owl", barn ? ["#c89a5e"] : ["#8a6a4a", "#7a5e44", "#94785a"]);
  const disc = coat(ctx, snowy || barn ? "#f6f1e8" : "#d8c4a4");
  const breast = lighten(feathers, 0.35);
  const wing = darken(feathers, 0.25);
  // A stump to perch on: the owl's box starts at its top.
  const bark = ctx.pal.trunk;
  const top = -46;
  f.shaded("M-30 0C-24 -6 -22 -14 -22 -24L-22 -46L22 -46L22 -24C22 -14 24 -6 30 0Z", bark, 1.2);
  f.fill(oval(0, top, 22, 5), lighten(bark, 0.3));
  f.stroke(oval(0, top, 12, 2.6), darken(bark, 0.1), 1, 0.7);
  const s = 0.54;
  const o = (x: number, y: number): string => `${n(x * s)} ${n(top + y * s)}`;
  const path = (pts: string): string =>
    pts.replace(/(-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?)/g, (_, x: string, y: string) => o(+x, +y));
  f.fill(path("M-22 -78 L-27 -100 L-9 -85 Z M22 -78 L27 -100 L9 -85 Z"), wing);
  f.body(
    path("M0 -88 C20 -88 31 -66 31 -42 C31 -16 18 0 0 0 C-18 0 -31 -16 -31 -42 C-31 -66 -20 -88 0 -88 Z"),
    feathers,
  );
  f.fill(
    path("M0 -46 C14 -46 19 -30 17 -16 C15 -6 8 -2 0 -2 C-8 -2 -15 -6 -17 -16 C-19 -30 -14 -46 0 -46 Z"),
    breast,
    0.9,
  );
  if (!ctx.flat)
    f.stroke(
      path(
        "M-8 -34 L-5 -31 L-2 -34 M2 -34 L5 -31 L8 -34 M-10 -24 L-7 -21 L-4 -24 M4 -24 L7 -21 L10 -24 M-3 -14 L0 -11 L3 -14",
      ),
      wing,
      1,
      0.8,
    );
  f.fill(
    path(
      "M-31 -48 C-35 -28 -29 -8 -14 -2 C-21 -16 -23 -34 -21 -52 Z M31 -48 C35 -28 29 -8 14 -2 C21 -16 23 -34 21 -52 Z",
    ),
    wing,
  );
  f.fill(
    path(
      "M-11 -78 C-3 -78 0 -70 0 -64 C0 -70 3 -78 11 -78 C20 -78 25 -70 24 -62 C23 -52 14 -48 0 -50 C-14 -48 -23 -52 -24 -62 C-25 -70 -20 -78 -11 -78 Z",
    ),
    disc,
  );
  const iris = snowy || !barn ? "#f5b82e" : "#2a1c14";
  const eyeR = 7.5 * s;
  f.fill(dot(-11 * s, top - 64 * s, eyeR) + dot(11 * s, top - 64 * s, eyeR), barn ? "#1c1410" : iris);
  f.fill(dot(-11 * s, top - 64 * s, eyeR * 0.55) + dot(11 * s, top - 64 * s, eyeR * 0.55), EYE);
  if (!ctx.flat)
    f.fill(
      dot(-9.6 * s, top - 66 * s, eyeR * 0.22) + dot(12.4 * s, top - 66 * s, eyeR * 0.22),
      "#ffffff",
      0.9,
    );
  f.fill(path("M-3 -57 L3 -57 L0 -49 Z"), ctx.pal.tone("#6a5a4a"));
  f.stroke(path("M-8 -1 L-8 2 M-4 -1 L-4 2 M4 -1 L4 2 M8 -1 L8 2"), ctx.pal.tone("#c89a40"), 1.6);
}

function penguin(f: Figure): void {
  const { ctx } = f;
  const back = ctx.pal.tone("#1e2228");
  const front = coat(ctx, "#f6f4ee");
  const orange = ctx.pal.tone("#f2a33a");
  f.fill(oval(-4, -2, 10, 3) + oval(10, -2, 10, 3), orange);
  f.body(
    "M4 -100C16 -100 22 -90 22 -78C24 -60 28 -40 24 -20C22 -8 14 -2 4 -2C-8 -2 -18 -8 -20 -22C-22 -44 -16 -62 -14 -78C-14 -92 -6 -100 4 -100Z",
    back,
  );
  f.fill(
    "M10 -84C18 -80 20 -66 22 -52C24 -36 22 -16 14 -6C8 -2 0 -2 -4 -6C0 -20 2 -44 4 -64C6 -74 6 -80 10 -84Z",
    front,
  );
  f.fill("M-14 -64C-22 -52 -26 -38 -24 -26C-20 -30 -16 -40 -12 -48Z", darken(back, 0.2));
  f.fill("M18 -84L32 -80L18 -76Z", orange);
  f.fill("M10 -90C14 -90 16 -86 14 -82C12 -80 8 -82 8 -86Z", ctx.pal.tone("#f6c64a"), 0.8);
  eye(f, 12, -88, 1.8);
}

const DRAWERS: Record<Animal, Drawer> = {
  fox,
  wolf,
  deer,
  horse,
  cow,
  rabbit,
  bear,
  sheep,
  camel,
  elephant,
  owl,
  penguin,
};

/**
 * Where an animal on a beach stands: up on the sand rather than out in the surf and, when it is the only
 * hero, moved toward the wide end of the sand if the shore runs too low at x. shore is what beach() returns.
 */
export function onSand(ctx: Ctx, shore: Point[], x: number, base: number, alone: boolean): [number, number] {
  const { W, H } = ctx;
  const step = shoreY(shore, 0) < shoreY(shore, W) ? -20 : 20;
  let sx = x;
  while (alone && shoreY(shore, sx) + 40 > H * 0.95 && sx > W * 0.2 && sx < W * 0.8) sx += step;
  return [sx, Math.min(H * 0.98, Math.max(base, shoreY(shore, sx) + 40))];
}

/**
 * One animal, its ground shadow and all. member: its place in its herd (0 for the first or only one), for
 * the odd variation.
 */
export function drawAnimal(
  ctx: Ctx,
  animal: Animal,
  cx: number,
  base: number,
  h: number,
  dir: number,
  member = 0,
): void {
  const [back, front, feet] = EXTENT[animal];
  // cx is the middle of the figure's whole reach, not of its box.
  const x = cx - (dir * h * (back + front)) / 200;
  groundShadow(ctx, x + (dir * h * feet) / 100, base, h * Math.min(length(animal), 1.2) * 0.42);
  const f = new Figure(ctx, x, base, h, dir, member);
  DRAWERS[animal](f);
  f.done();
}

/**
 * As many of the animal as the prompt asks for around cx, within span units: a herd spreads out and
 * staggers in depth (the farther ones smaller and higher, drawn first); a caravan walks in file.
 */
export function animalGroup(
  ctx: Ctx,
  animal: Animal,
  cx: number,
  base: number,
  h: number,
  span: number,
): void {
  const { rng } = ctx;
  const count = herdSize(ctx.spec.prompt, animal, rng);
  const dir = rng.chance(0.5) ? 1 : -1;
  if (count === 1) {
    drawAnimal(ctx, animal, cx, base, h, dir);
    return;
  }
  const file =
    animal === "camel" || /\b(caravan|procession|in (a )?line|single file|migrat\w*)\b/.test(ctx.spec.prompt);
  // Big animals shrink further so a herd still fits across the frame.
  const scale = Math.min(count === 2 ? 0.88 : 0.78, (ctx.W * 1.05) / (count * h * length(animal)));
  const len = h * scale * length(animal);
  // Centres spread over the span less one body length, so the outer ones stay whole and in frame.
  const width = Math.max(0, Math.min(span, ctx.W - 40, len * count * 1.05) - len);
  const lo = len / 2 + 20;
  const mid = Math.min(Math.max(cx, lo + width / 2), ctx.W - lo - width / 2);
  const members = Array.from({ length: count }, (_, i) => {
    const t = i / (count - 1);
    return {
      i,
      x: mid + (t - 0.5) * width + rng.range(-0.04, 0.04) * len,
      depth: file ? (i % 2) * 0.35 + rng.range(0, 0.1) : rng.range(0, 1),
      dir: file ? dir : rng.chance(0.5) ? 1 : -1,
    };
  });
  members.sort((a, b) => b.depth - a.depth);
  for (const m of members) {
    const d = m.depth;
    drawAnimal(ctx, animal, m.x, base - d * 55, h * scale * (1 - d * 0.22), m.dir, m.i);
  }
}
