/** Reads a free-text prompt into the scene description the composer works from. */
import { NAMED_COLORS } from "./color.js";
import { readProduct, type ProductKind, type StudioColors, type Surface } from "./product-prompt.js";

/** The animals a prompt may name, each a subject (see elements/animals.ts for how they are drawn). */
export const ANIMALS = [
  "fox",
  "wolf",
  "deer",
  "horse",
  "cow",
  "rabbit",
  "bear",
  "sheep",
  "camel",
  "elephant",
  "owl",
  "penguin",
] as const;
export type Animal = (typeof ANIMALS)[number];

export const SUBJECTS = [
  "sky",
  "sun",
  "moon",
  "stars",
  "planet",
  "mountains",
  "hills",
  "water",
  "beach",
  "city",
  "neon",
  "trees",
  "forest",
  "garden",
  "flowers",
  "desert",
  "snow",
  "rain",
  "storm",
  "clouds",
  "fog",
  "rainbow",
  "robot",
  "cat",
  "dog",
  "car",
  "flyingCars",
  "boat",
  "bridge",
  "castle",
  "house",
  "lighthouse",
  "person",
  "birds",
  ...ANIMALS,
] as const;
export type Subject = (typeof SUBJECTS)[number];

export const TIMES = ["dawn", "morning", "day", "golden", "sunset", "dusk", "night", "midnight"] as const;
export type TimeOfDay = (typeof TIMES)[number];

export const STYLES = ["photo", "watercolor", "oil", "pixel", "minimal", "cyberpunk", "vintage"] as const;
export type Style = (typeof STYLES)[number];

export type Season = "spring" | "summer" | "autumn" | "winter";

export interface PaletteHints {
  /** Colour names not attached to a subject, in prompt order (keys of NAMED_COLORS): they tint the scene. */
  colors: string[];
  /** Colours attached to the noun they qualify: "red car", "purple sky". */
  bound: Partial<Record<Subject, string>>;
  pastel: boolean;
  neon: boolean;
  mono: boolean;
  muted: boolean;
  /** -1 cool ... +1 warm. */
  warmth: number;
}

export interface SceneSpec {
  subjects: Set<Subject>;
  time: TimeOfDay;
  /** False when the time of day was inferred or defaulted. */
  timeExplicit: boolean;
  style: Style;
  palette: PaletteHints;
  season: Season | null;
  magical: boolean;
  futuristic: boolean;
  abstract: boolean;
  serene: boolean;
  /** Sea or ocean: an open horizon rather than a lake with far shores. */
  openWater: boolean;
  /** Choppy, rough or crashing water: whitecaps on the waves even without a storm. */
  roughWater: boolean;
  /** The normalized prompt text, for drawers that want a word the scene description does not carry. */
  prompt: string;
  /** A product shot or still life: the object to stand on a studio set; null for a scene. */
  product: ProductKind | null;
  /** What the product stands on; null when there is no product. */
  surface: Surface | null;
  /** Colours bound to the product, its surface and the backdrop ("red sneakers", "black velvet"). */
  studioColors: StudioColors;
}

const SUBJECT_PATTERNS: Record<Subject, RegExp> = {
  sky: /\b(sky|skies|heavens?)\b/,
  sun: /\b(sun|sunny|sunshine|sunlight|sunbeams?|sunlit)\b/,
  moon: /\b(moons?|moonlit|moonlight|moonrise|crescent|lunar)\b/,
  stars: /\b(stars?|starry|starlight|starlit|galaxy|galaxies|milky way|constellations?|cosmos|nebula)\b/,
  planet: /\b(planets?|saturn|jupiter|outer space|space)\b/,
  mountains:
    /\b(mountains?|mountainous|peaks?|alps|alpine|volcano(es)?|summits?|ridges?|cliffs?|himalaya\w*|fjords?)\b/,
  hills: /\b(hills?|hillside|meadows?|valleys?|countryside|fields?|prairie|rolling|grassland|pasture)\b/,
  water:
    /\b(seas?|ocean|oceans|lakes?|water|waters|river|rivers|pond|bay|harbou?r|coast(al|line)?|waves?|reflections?|seaside|lagoon|stream|waterfront|canal)\b/,
  beach: /\b(beach(es)?|shore(line)?|sand|sandy|islands?|tropical|palms?|palm trees?)\b/,
  city: /\b(city|cities|skyline|buildings?|downtown|metropolis|skyscrapers?|streets?|urban|town|cityscape|megacity|tokyo|new york|towers)\b/,
  neon: /\b(neon|neons|glowing signs?|signage)\b/,
  trees: /\b(trees?|pines?|oaks?|birch(es)?|willows?|palms?|woods)\b/,
  forest: /\b(forests?|jungle|woods|woodland|rainforest|grove)\b/,
  garden: /\b(gardens?|park|backyard|greenhouse|orchard)\b/,
  flowers:
    /\b(flowers?|floral|blossoms?|roses?|tulips?|sunflowers?|blooms?|blooming|daisies|daisy|lilies|lily|lavender fields?|poppies|petals?|cherry)\b/,
  desert: /\b(deserts?|dunes?|sahara|cactus|cacti|canyons?|mesa|arid|oasis)\b/,
  snow: /\b(snow|snowy|snowfall|snowing|winter|wintry|ice|icy|frozen|blizzard|christmas|frost|frosty)\b/,
  rain: /\b(rain|rainy|raining|drizzle|downpour|rainfall|wet|puddles?)\b/,
  storm: /\b(storms?|stormy|thunder\w*|lightning|hurricane|tempest)\b/,
  clouds: /\b(clouds?|cloudy|overcast)\b/,
  fog: /\b(fog|foggy|mist|misty|haze|hazy|smoke|smoky)\b/,
  rainbow: /\b(rainbows?)\b/,
  robot: /\b(robots?|android|droids?|mechs?|cyborgs?|bots?|automaton)\b/,
  cat: /\b(cats?|kittens?|kitty|kitties|feline)\b/,
  dog: /\b(dogs?|puppy|puppies|doggo|corgi|retriever|canine)\b/,
  car: /\b(cars?|vehicles?|truck|taxis?|traffic|automobile)\b/,
  flyingCars:
    /\b(flying (cars?|vehicles?|taxis?)|hover ?cars?|aircars?|air ?taxis?|spaceships?|spacecraft)\b/,
  boat: /\b(boats?|ships?|sail|sailboats?|sailing|yachts?|canoe|kayak|ferry|fishing boat)\b/,
  bridge: /\b(bridges?)\b/,
  castle: /\b(castles?|palace|fortress|citadel|kingdom|medieval)\b/,
  house: /\b(house|houses|cottage|cabin|home|hut|barn|village|farm|farmhouse|chalet)\b/,
  lighthouse: /\b(lighthouses?)\b/,
  person:
    /\b(person|man|woman|girl|boy|people|child|kid|figure|hiker|traveller|traveler|wanderer|silhouette|couple|lady|knight|astronaut|explorer|someone)\b/,
  birds: /\b(birds?|seagulls?|gulls?|eagles?|flock)\b/,
  fox: /\b(fox|foxes|vixens?)\b/,
  wolf: /\b(wolf|wolves)\b/,
  deer: /\b(deers?|stags?|doe|fawns?|reindeers?|caribou|elks?)\b/,
  horse: /\b(horses?|pony|ponies|stallions?|mares?|foals?|mustangs?|unicorns?|steeds?)\b/,
  cow: /\b(cows?|cattle|calf|calves|oxen)\b/,
  rabbit: /\b(rabbits?|bunny|bunnies|hares?|jackrabbits?)\b/,
  bear: /\b(bears?|grizzly|grizzlies)\b/,
  sheep: /\b(sheep|lambs?|ewes?)\b/,
  camel: /\b(camels?|dromedary|dromedaries)\b/,
  elephant: /\b(elephants?)\b/,
  owl: /\b(owls?|owlets?)\b/,
  penguin: /\b(penguins?)\b/,
};

// Ordered so that the more specific phrase wins where two overlap ("golden hour" before "hour").
const TIME_PATTERNS: [TimeOfDay, RegExp][] = [
  ["golden", /\b(golden hour|golden light|magic hour|late afternoon|golden sunlight)\b/],
  ["dawn", /\b(dawn|sunrise|daybreak|first light|early morning)\b/],
  ["sunset", /\b(sunset|sundown|evening|setting sun)\b/],
  ["dusk", /\b(dusk|twilight|blue hour|nightfall|gloaming)\b/],
  ["midnight", /\b(midnight|dead of night)\b/],
  ["night", /\b(night|nighttime|night-time|nocturnal|after dark|at dark|moonlit)\b/],
  ["morning", /\b(morning|mornings)\b/],
  ["day", /\b(noon|midday|daytime|day|afternoon|broad daylight|daylight|sunny)\b/],
];

// In priority order: the first style that matches wins, so "watercolor painting" is watercolour, not oil.
const STYLE_PATTERNS: [Style, RegExp][] = [
  ["pixel", /\b(pixel|pixels|pixelated|pixel-art|8-?bit|16-?bit|retro game|sprite)\b/],
  ["watercolor", /\b(watercolou?rs?|aquarelle|gouache|ink wash)\b/],
  ["cyberpunk", /\b(cyberpunk|cyber-punk|synthwave|vaporwave|blade runner|outrun)\b/],
  [
    "vintage",
    /\b(vintage|sepia|retro photo|old photo(graph)?|antique|daguerreotype|1920s|1930s|1950s|faded film)\b/,
  ],
  ["oil", /\b(oil painting|oil on canvas|oils|impasto|painterly|van gogh|impressionis\w+|acrylic)\b/],
  ["minimal", /\b(minimal|minimalist|minimalism|flat|vector|simple|low[- ]poly|geometric|poster)\b/],
  ["photo", /\b(photo|photograph|photorealistic|realistic|hyperrealistic|4k|8k|hdr|cinematic|dslr)\b/],
  ["oil", /\b(painting|painted|canvas)\b/],
];

const NEGATION = /\b(?:no|without|not|minus|free of)\s+(?:any\s+|the\s+|a\s+)?([a-z-]+(?:\s+[a-z-]+)?)/g;

function normalize(text: string): string {
  return ` ${text
    .toLowerCase()
    .replace(/[’']/g, "")
    .replace(/[^a-z0-9#&\- ]+/g, " ")} `.replace(/\s+/g, " ");
}

function earliest(text: string, patterns: [string, RegExp][]): string | null {
  let best: string | null = null;
  let bestAt = Infinity;
  for (const [name, re] of patterns) {
    const m = re.exec(text);
    if (m && m.index < bestAt) {
      best = name;
      bestAt = m.index;
    }
  }
  return best;
}

function findColors(text: string, negative: string): Pick<PaletteHints, "colors" | "bound"> {
  // "golden hour" is a time, not a colour; "black and white" is a palette.
  const cleaned = text
    .replace(/golden (hour|light|sunlight)/g, "           ")
    .replace(/black (and|&) white/g, "               ");
  const found: [string, number, number][] = [];
  for (const name of [...Object.keys(NAMED_COLORS), "golden"]) {
    for (const m of cleaned.matchAll(new RegExp(`\\b${name}(s|ish)?\\b`, "g"))) {
      const color = name === "golden" ? "gold" : name;
      if (!new RegExp(`\\b${name}\\b`).test(negative)) found.push([color, m.index, m.index + m[0].length]);
    }
  }
  found.sort((a, b) => a[1] - b[1]);
  const colors: string[] = [];
  const bound: Partial<Record<Subject, string>> = {};
  for (const [color, , end] of found) {
    // The next two words decide whether the colour qualifies a noun ("a red vintage car").
    const following = cleaned.slice(end).trim().split(" ").slice(0, 2).join(" ");
    const subject = SUBJECTS.find((s) => SUBJECT_PATTERNS[s].test(` ${following} `));
    if (subject && bound[subject] === undefined) bound[subject] = color;
    else if (!subject && !colors.includes(color)) colors.push(color);
  }
  return { colors, bound };
}

export function parsePrompt(prompt: string, negativePrompt = ""): SceneSpec {
  let text = normalize(prompt);
  let negative = normalize(negativePrompt);
  for (const m of text.matchAll(NEGATION)) negative += ` ${m[1]} `;
  text = text.replace(NEGATION, " ");

  const subjects = new Set<Subject>();
  for (const subject of SUBJECTS) {
    if (SUBJECT_PATTERNS[subject].test(text)) subjects.add(subject);
  }
  // "flying cars" are not cars on a road; "sand" in a desert is not a beach.
  if (
    subjects.has("flyingCars") &&
    !/\b(cars?|vehicles?)\b/.test(text.replace(SUBJECT_PATTERNS.flyingCars, " "))
  )
    subjects.delete("car");
  if (subjects.has("desert") && subjects.has("beach") && !/\b(beach|shore|island|tropical|palm)/.test(text))
    subjects.delete("beach");
  if (/\bwaterfall/.test(text)) subjects.add("water");
  if (subjects.has("sun") && /\bsun(set|rise)/.test(text) && !/\bsun\b/.test(text)) subjects.delete("sun");
  // A flock of sheep is not a flock of birds.
  if (subjects.has("sheep") && !/\b(birds?|seagulls?|gulls?|eagles?)\b/.test(text)) subjects.delete("birds");

  for (const subject of SUBJECTS) {
    if (negative.trim() && SUBJECT_PATTERNS[subject].test(negative)) subjects.delete(subject);
  }

  let time = earliest(text, TIME_PATTERNS) as TimeOfDay | null;
  const timeExplicit = time !== null;

  const style: Style = STYLE_PATTERNS.find(([, re]) => re.test(text))?.[0] ?? "photo";
  const cyber = style === "cyberpunk";

  const palette: PaletteHints = {
    ...findColors(text, negative),
    pastel: /\b(pastels?|soft colou?rs?|pale|dreamy|cotton candy)\b/.test(text),
    neon: /\b(neon|vibrant|vivid|saturated|electric|fluorescent|psychedelic)\b/.test(text) || cyber,
    mono: /\b(monochrome|monochromatic|black (and|&) white|b ?& ?w|grayscale|greyscale|noir)\b/.test(text),
    muted: /\b(muted|desaturated|moody|gloomy|bleak|dull|overcast)\b/.test(text),
    warmth:
      (/\b(warm|warmth|cozy|cosy|fiery|hot|autumn|autumnal)\b/.test(text) ? 1 : 0) -
      (/\b(cool|cold|chilly|icy|frozen|arctic|wintry)\b/.test(text) ? 1 : 0),
  };

  const season: Season | null = /\b(autumn|autumnal|fall foliage|fall colou?rs?|in fall)\b/.test(text)
    ? "autumn"
    : subjects.has("snow") && /\b(winter|wintry|snow|snowy|christmas)\b/.test(text)
      ? "winter"
      : /\b(spring|springtime|cherry blossoms?)\b/.test(text)
        ? "spring"
        : /\b(summer|summertime)\b/.test(text)
          ? "summer"
          : null;

  const magical =
    /\b(magic|magical|enchanted|fairy|fairies|mystical|fantasy|ethereal|dreamlike|whimsical|fireflies|glowing|wonderland|spirits?|elven)\b/.test(
      text,
    );
  const futuristic =
    /\b(futuristic|future|sci-?fi|science fiction|utopia\w*|dystopia\w*|cyber\w*|space age|year 3000|holographic)\b/.test(
      text,
    ) || cyber;

  if (cyber) {
    subjects.add("city");
    subjects.add("neon");
  }
  if (subjects.has("neon") && !subjects.has("city") && !/\bneon (sign|light)s?\b/.test(text))
    subjects.add("city");

  if (!time) {
    if (cyber || subjects.has("neon")) time = "night";
    else if (subjects.has("moon") || subjects.has("stars") || subjects.has("planet")) time = "night";
    else if (magical && (subjects.has("forest") || subjects.has("trees"))) time = "dusk";
    // A lighthouse's beam or lamp is seen after dark.
    else if (
      subjects.has("lighthouse") &&
      /\b(beams?|beacon|lamp|lantern|sweeping|guiding light)\b/.test(text)
    )
      time = "night";
    else if (subjects.has("storm")) time = "day";
    else time = "day";
  }

  return {
    subjects,
    time,
    timeExplicit,
    style,
    palette,
    season,
    magical,
    futuristic,
    abstract: /\b(abstract|pattern|shapes|geometric|fractal|swirls?|waves of colou?r)\b/.test(text),
    serene: /\b(serene|calm|peaceful|tranquil|quiet|still|gentle)\b/.test(text),
    prompt: text,
    ...readProduct(text, negative, subjects, (s, t) => SUBJECT_PATTERNS[s].test(t)),
    openWater: /\b(seas?|ocean|oceans|seascape|seaside|open water|horizon)\b/.test(text),
    roughWater:
      /\b(choppy|rough (seas?|waters?|waves?)|crashing|turbulent|raging|churning|whitecaps?|breakers|surf|swell)\b/.test(
        text,
      ),
  };
}
