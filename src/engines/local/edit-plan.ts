/** Reads an edit instruction ("make it winter", "add a rainbow", "put the cat from image 1 into image 2"). */
import { NAMED_COLORS } from "./color.js";
import { ANIMALS, parsePrompt, type Animal, type Style, type Subject } from "./prompt.js";

export type Season = "winter" | "autumn" | "spring" | "summer";
export type Atmosphere = "night" | "sunset" | "rain" | "storm" | "fog";
export type Overlay =
  | "rainbow"
  | "moon"
  | "sun"
  | "stars"
  | "snow"
  | "rain"
  | "lightning"
  | "fog"
  | "clouds"
  | "birds"
  | "sparkles"
  | "tree"
  | "flowers"
  | "cat"
  | "dog"
  | "robot"
  | "person"
  | "boat"
  | "car"
  | "house"
  | "castle"
  | Animal;

export interface CombinePlan {
  mode: "subject" | "blend" | "side";
  /** Index of the image that supplies the subject (mode "subject") or comes first (other modes). */
  subject: 0 | 1;
}

export interface EditPlan {
  season: Season | null;
  atmospheres: Atmosphere[];
  /** Hex colour to recolour toward, and whether only the sky should change. */
  recolor: { color: string; skyOnly: boolean } | null;
  brightness: number;
  contrast: number;
  saturation: number;
  warmth: number;
  blur: boolean;
  sharpen: boolean;
  invert: boolean;
  flip: "horizontal" | "vertical" | null;
  gray: boolean;
  style: Style | null;
  overlays: Overlay[];
  combine: CombinePlan | null;
  /** Nothing recognized: apply a gentle default look so the edit still visibly does something. */
  fallback: boolean;
}

const ORDINAL: Record<string, 0 | 1> = { "1": 0, one: 0, first: 0, "2": 1, two: 1, second: 1 };
const IMAGE = "(?:image|picture|photo|pic|img)";

function imageIndex(text: string, re: RegExp): 0 | 1 | null {
  const m = re.exec(text);
  const key = m?.[1] ?? m?.[2];
  return key !== undefined ? (ORDINAL[key] ?? null) : null;
}

function planCombine(text: string): CombinePlan {
  const from = imageIndex(
    text,
    new RegExp(`\\bfrom (?:the )?(?:${IMAGE} ?(1|2|one|two)|(first|second) ${IMAGE})`),
  );
  const into = imageIndex(
    text,
    new RegExp(
      `\\b(?:into|onto|in|to|on) (?:the )?(?:background of |scene of |setting of )?(?:the )?(?:${IMAGE} ?(1|2|one|two)|(first|second) ${IMAGE})`,
    ),
  );
  const background = imageIndex(
    text,
    new RegExp(
      `\\b(?:background|scene|setting|backdrop) (?:of|from|in) (?:the )?(?:${IMAGE} ?(1|2|one|two)|(first|second) ${IMAGE})`,
    ),
  );
  const bgIndex = background ?? into;
  const subject: 0 | 1 = from ?? (bgIndex !== null ? ((1 - bgIndex) as 0 | 1) : 0);
  if (
    /\b(put|place|insert|paste|add|composite|cut out|into|onto|in front of|on top of|background)\b/.test(
      text,
    ) &&
    (from !== null || bgIndex !== null || /\b(put|place|insert|paste)\b/.test(text))
  )
    return { mode: "subject", subject };
  if (
    /\b(side by side|next to each other|left and right|collage|split|diptych|compare|comparison|before and after)\b/.test(
      text,
    )
  )
    return { mode: "side", subject };
  if (/\b(blend|merge|mix|double exposure|overlay|fuse|combine|superimpose|morph)\b/.test(text))
    return { mode: "blend", subject };
  return { mode: "side", subject };
}

const OVERLAY_FROM_SUBJECT: Partial<Record<Subject, Overlay>> = {
  rainbow: "rainbow",
  moon: "moon",
  sun: "sun",
  stars: "stars",
  snow: "snow",
  rain: "rain",
  storm: "lightning",
  fog: "fog",
  clouds: "clouds",
  birds: "birds",
  trees: "tree",
  flowers: "flowers",
  cat: "cat",
  dog: "dog",
  robot: "robot",
  person: "person",
  boat: "boat",
  car: "car",
  house: "house",
  castle: "castle",
  ...Object.fromEntries(ANIMALS.map((a) => [a, a])),
};

/** Overlays that are things a picture may hold, rather than weather or light: what a combine takes. */
const THINGS: ReadonlySet<Overlay> = new Set<Overlay>([
  "cat",
  "dog",
  "robot",
  "person",
  "car",
  "boat",
  "house",
  "castle",
  "tree",
  ...ANIMALS,
]);

export function planEdit(prompt: string, imageCount: number): EditPlan {
  const text = ` ${prompt
    .toLowerCase()
    .replace(/[’']/g, "")
    .replace(/[^a-z0-9&\- ]+/g, " ")} `.replace(/\s+/g, " ");
  const spec = parsePrompt(prompt);
  const plan: EditPlan = {
    season: null,
    atmospheres: [],
    recolor: null,
    brightness: 1,
    contrast: 1,
    saturation: 1,
    warmth: 0,
    blur: false,
    sharpen: false,
    invert: false,
    flip: null,
    gray: false,
    style: null,
    overlays: [],
    combine: imageCount >= 2 ? planCombine(text) : null,
    fallback: false,
  };

  if (/\b(winter|wintry|snowy|snow-covered|snowing|frozen|icy|christmas)\b/.test(text))
    plan.season = "winter";
  else if (/\b(autumn|autumnal|fall colou?rs?|fall foliage|in fall|to fall|into fall)\b/.test(text))
    plan.season = "autumn";
  else if (/\b(spring|springtime|blossom)/.test(text)) plan.season = "spring";
  else if (/\b(summer|summertime|sunny)\b/.test(text)) plan.season = "summer";

  if (/\b(night|nighttime|night-time|midnight|after dark)\b/.test(text)) plan.atmospheres.push("night");
  if (/\b(sunset|sunrise|golden hour|dusk|evening|dawn)\b/.test(text)) plan.atmospheres.push("sunset");
  if (/\b(storm|stormy|thunder\w*|lightning)\b/.test(text)) plan.atmospheres.push("storm");
  else if (/\b(rain|rainy|raining|drizzle|downpour|wet)\b/.test(text)) plan.atmospheres.push("rain");
  if (/\b(fog|foggy|mist|misty|haze|hazy)\b/.test(text)) plan.atmospheres.push("fog");

  plan.gray =
    /\b(black (and|&) white|b ?& ?w|grayscale|greyscale|gr[ae]y ?scale|monochrome|monochromatic|noir|colou?rless)\b/.test(
      text,
    );

  // "make it blue", "recolor to red", "turn the sky purple", "a pink tint", "more green".
  if (!plan.gray) {
    const names = Object.keys(NAMED_COLORS).join("|");
    const m =
      new RegExp(
        `\\b(?:make|turn|recolou?r|recolou?ring|paint|colou?r|change|tint|shift|dye|more)\\b[a-z ]{0,30}?\\b(${names})\\b`,
      ).exec(text) ??
      new RegExp(`\\b(${names})(?:ish)? (?:tint|tone|tones|hue|cast|colou?r scheme|filter|palette)\\b`).exec(
        text,
      );
    const name = m?.[1];
    const color = name ? NAMED_COLORS[name] : undefined;
    if (color) plan.recolor = { color, skyOnly: /\bsky\b/.test(text.slice(0, (m?.index ?? 0) + 60)) };
  }

  if (
    /\b(brighter|brighten|lighter|lighten|more light|increase (the )?brightness|exposure up|overexpose)\b/.test(
      text,
    )
  )
    plan.brightness = 1.25;
  if (/\b(darker|darken|dimmer|dim|less light|reduce (the )?brightness|underexpose|moodier)\b/.test(text))
    plan.brightness = 0.72;
  if (/\b(more contrast|increase (the )?contrast|higher contrast|punchy|dramatic)\b/.test(text))
    plan.contrast = 1.25;
  if (/\b(less contrast|lower contrast|reduce (the )?contrast|flatter)\b/.test(text)) plan.contrast = 0.8;
  if (/\b(vibrant|vivid|saturated|saturate|more colou?rful|colou?rful|more colou?r|pop)\b/.test(text))
    plan.saturation = 1.4;
  if (/\b(desaturate\w*|muted|washed out|less colou?r|faded)\b/.test(text)) plan.saturation = 0.55;
  if (/\b(warm|warmer|warmth|cozy|cosy)\b/.test(text)) plan.warmth = 1;
  if (/\b(cool|cooler|colder|cold tones?)\b/.test(text)) plan.warmth = -1;
  plan.blur = /\b(blur|blurry|blurred|soft focus|out of focus|defocus|bokeh|smooth out)\b/.test(text);
  plan.sharpen = /\b(sharpen|sharper|crisp|crisper|more detail|enhance|clarity)\b/.test(text);
  plan.invert = /\b(invert|inverted|negative)\b/.test(text);
  if (/\b(flip|mirror)\w*\b/.test(text))
    plan.flip = /\b(vertical\w*|upside down)\b/.test(text) ? "vertical" : "horizontal";
  else if (/\bupside down\b/.test(text)) plan.flip = "vertical";

  const style = spec.style;
  if (style !== "photo" && !(style === "minimal" && !/\b(minimal\w*|flat|vector|poster)\b/.test(text)))
    plan.style = style;
  if (/\b(sepia|vintage|old photo|antique|retro)\b/.test(text)) plan.style = "vintage";
  if (plan.style === "oil" && !/\b(oil|painting|painterly|impasto|van gogh|impressionis)/.test(text))
    plan.style = null;

  // Things to draw in: only when asked ("add a rainbow", "with a moon"), so "turn the house red" draws no house.
  const adding = /\b(add|adding|put|place|insert|include|draw|paint in|give it|plus|with)\b/.test(text);
  for (const subject of spec.subjects) {
    const overlay = OVERLAY_FROM_SUBJECT[subject];
    if (overlay && adding) plan.overlays.push(overlay);
  }
  if (/\b(sparkles?|sparkly|glitter|fireflies|magic|magical|fairy dust|glowing orbs)\b/.test(text))
    plan.overlays.push("sparkles");
  if (plan.combine) {
    // With two images, the nouns describe what to take from them, not what to draw.
    if (!/\badd\b/.test(text)) plan.overlays = plan.overlays.filter((o) => !THINGS.has(o));
  }

  const recognized =
    plan.season !== null ||
    plan.atmospheres.length > 0 ||
    plan.recolor !== null ||
    plan.brightness !== 1 ||
    plan.contrast !== 1 ||
    plan.saturation !== 1 ||
    plan.warmth !== 0 ||
    plan.blur ||
    plan.sharpen ||
    plan.invert ||
    plan.flip !== null ||
    plan.gray ||
    plan.style !== null ||
    plan.overlays.length > 0;
  plan.fallback = !recognized && !plan.combine;
  return plan;
}
