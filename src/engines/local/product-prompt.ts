/**
 * Reads a product shot or still life out of a prompt: which object, what it stands on, and the colours
 * bound to each. parsePrompt calls this; a prompt with a landscape in it is left to the landscape composer.
 */
import { NAMED_COLORS } from "./color.js";
import type { Subject } from "./prompt.js";

export type ProductKind =
  | "headphones"
  | "watch"
  | "sneakers"
  | "perfume"
  | "wine"
  | "beer"
  | "skincare"
  | "mug"
  | "cup"
  | "phone"
  | "camera"
  | "vase"
  | "lamp"
  | "box";

/** "sweep": seamless paper curving from the backdrop into the floor, when the prompt names no surface. */
export type Surface = "marble" | "wood" | "concrete" | "fabric" | "sweep";

/** Colour names (keys of NAMED_COLORS) bound to a part of a studio set: "red sneakers", "black velvet". */
export interface StudioColors {
  product: string | null;
  surface: string | null;
  backdrop: string | null;
}

interface ProductReading {
  product: ProductKind | null;
  surface: Surface | null;
  studioColors: StudioColors;
}

// A verb ("watch the sunset") is not a wristwatch.
const WATCH_VERB =
  "(?! (?:the|a|an|as|over|out|for|tower|towers|me|us|them|it|him|her|this|that|from|while|my|your)\\b)";

/** Object words; the earliest in the prompt wins ("a perfume bottle" is perfume, "a lamp on a coffee table" a lamp). */
const PRODUCT_PATTERNS: [ProductKind, RegExp][] = [
  ["headphones", /\b(head ?phones?|headsets?|earphones?|earbuds?)\b/],
  [
    "watch",
    new RegExp(
      `\\b(wrist ?watch(es)?|smart ?watch(es)?|timepieces?|chronographs?|rolex|watch(es)?\\b${WATCH_VERB})\\b`,
    ),
  ],
  ["sneakers", /\b(sneakers?|trainers?|running shoes?|shoes?|kicks|footwear|high ?tops?)\b/],
  ["perfume", /\b(perfumes?|fragrances?|colognes?|eau de \w+|scent bottles?)\b/],
  ["wine", /\b(wines?|champagne|prosecco|whiske?y|bourbon|cognac|vodka|liquor|spirits bottle)\b/],
  ["beer", /\b(beers?|lager|ale|ipa|stout|pilsner)\b/],
  [
    "skincare",
    /\b(skin ?care|serums?|moisturi[sz]ers?|lotions?|(face|hand|night|body|day) creams?|cream jars?|cosmetics?|beauty products?|shampoo|conditioner|pump bottles?|dropper bottles?)\b/,
  ],
  ["mug", /\b(mugs?)\b/],
  [
    "cup",
    /\b(cups?|teacups?|(coffee|espresso|latte|cappuccino|americano|mocha|hot chocolate)(?! (tables?|mugs?|beans?|machines?|makers?|shops?)\b)|(cup|pot|glass) of tea)\b/,
  ],
  ["phone", /\b(smart ?phones?|iphones?|phones?|mobile phones?|cell ?phones?|handsets?)\b/],
  ["camera", /\b(cameras?|polaroids?|camcorders?|rangefinders?)\b/],
  [
    "vase",
    /\b(vases?|bouquets?|flower ?pots?|pots? of (flowers|tulips|roses)|urns?|vessels?|amphora|jugs?|pitchers?)\b/,
  ],
  ["lamp", /\b(lamps?|lanterns?|light ?bulbs?|chandeliers?|sconces?|nightlights?)\b/],
  ["box", /\b(gift ?box(es)?|gifts?|boxes|box|packages?|packaging|parcels?)\b/],
];

/** A bottle that no other word explains: wine-shaped glass. */
const BOTTLE = /\b(bottles?|flasks?|decanters?)\b/;
/** The product shot itself, without an object: a box on a sweep, or a vase for a still life. */
const PRODUCT_WORD = /\b(products?|merchandise|packshots?|pack shots?|item)\b/;

/** Words that ask for a studio set rather than a place. */
const STUDIO =
  /\b(products? (photo(graph)?s?|photography|shots?|images?|renders?|pictures?|shoot)|studio(?! ghibli)|still[ -]life|packshots?|pack shots?|advertisements?|advert|ad campaign|commercial (photo|shot|image)s?|catalog(ue)? (photo|shot|image)s?|e-?commerce|mock-?ups?|(white|plain|black|gr[ae]y|solid|seamless|neutral|colou?red|pastel) (background|backdrop)|backdrop|tabletop|flat ?lay|hero shot)\b/;

// Materials first, so "a marble table" is marble and only a bare "table" falls through to wood.
const SURFACE_WORDS: [Surface, string][] = [
  ["marble", "marble|marbled|terrazzo|quartz countertops?"],
  ["fabric", "velvet|silk|satin|fabric|cloth|linen|tablecloth|cushion|pillow|drapes?|drapery"],
  ["concrete", "concrete|cement|stone|slate|granite|floor|pavement|asphalt"],
  ["wood", "wood|wooden|oak|walnut|teak|timber|hardwood|parquet|plywood"],
  ["wood", "tables?|tabletop|desks?|counters?|countertops?|shelf|workbench|nightstand|dresser"],
];
const SURFACE_PATTERNS: [Surface, RegExp][] = SURFACE_WORDS.map(([kind, words]) => [
  kind,
  new RegExp(`\\b(${words})\\b`),
]);
/** "on marble", "on a wooden desk", "on black velvet": an object standing on something. */
const ON_SURFACE = new RegExp(
  `\\b(on|atop|upon|against) (a |an |the |some )?([a-z-]+ ){0,2}(${SURFACE_WORDS.map(([, w]) => w).join("|")})\\b`,
);

/** Subjects a product shot can carry without becoming a landscape: a vase's flowers, smoke, a neon glow. */
const STUDIO_SAFE = new Set<string>(["flowers", "fog", "neon", "rain"]);
/** Phrases that set off a landscape subject without meaning a place: a water bottle, its reflection. */
const NOT_A_PLACE =
  /\b(water bottles?|water droplets?|droplets?|splash(es)?|reflections?|reflective|bottle of water|glass of water|ice cubes?|on ice)\b/g;

const COLOR_NAMES = new Set([...Object.keys(NAMED_COLORS), "golden"]);
/** Words that end the phrase a colour could qualify: "red sneakers on concrete" does not make the concrete red. */
const PHRASE_END = new Set(
  "on of in with and at against atop upon by for from under over near beside to is are".split(" "),
);

/** The colour word among the (up to) three words before index `at` in its phrase, as a NAMED_COLORS key. */
function colorBefore(text: string, at: number): string | null {
  const words = text.slice(0, at).trim().split(" ").slice(-3).reverse();
  for (const w of words) {
    if (PHRASE_END.has(w)) return null;
    const name = COLOR_NAMES.has(w) ? w : w.replace(/(ish|s)$/, "");
    if (COLOR_NAMES.has(name)) return name === "golden" ? "gold" : name;
  }
  return null;
}

/**
 * text and negative are normalized (lower case, single spaces, padded); subjects are the scene subjects
 * already found, and `mentions` re-tests one of them on other text (to see what is left once the
 * object's own words are taken out).
 */
export function readProduct(
  text: string,
  negative: string,
  subjects: ReadonlySet<Subject>,
  mentions: (subject: Subject, text: string) => boolean,
): ProductReading {
  const none: ProductReading = {
    product: null,
    surface: null,
    studioColors: { product: null, surface: null, backdrop: null },
  };
  const refused = (re: RegExp): boolean => negative.trim() !== "" && re.test(negative);

  let product: ProductKind | null = null;
  let at = Infinity;
  let end = 0;
  for (const [kind, re] of PRODUCT_PATTERNS) {
    const m = re.exec(text);
    if (m && m.index < at && !refused(re)) {
      product = kind;
      at = m.index;
      end = m.index + m[0].length;
    }
  }
  if (!product) {
    const m = BOTTLE.exec(text);
    if (m && !refused(BOTTLE)) {
      product = "wine";
      at = m.index;
      end = m.index + m[0].length;
    }
  }

  const onSurface = ON_SURFACE.exec(text);
  const studio = STUDIO.test(text) || onSurface !== null;
  // What the prompt still describes once the object's own words are gone: a place, or someone in it.
  const blank = (m: string): string => " ".repeat(m.length);
  let rest = text.replace(NOT_A_PLACE, blank);
  if (product) rest = rest.slice(0, at) + blank(text.slice(at, end)) + rest.slice(end);
  const scene = [...subjects].some((s) => !STUDIO_SAFE.has(s) && mentions(s, rest));

  if (!product) {
    if (scene || !(studio || PRODUCT_WORD.test(text))) return none;
    // A still life or a studio shot of flowers is a vase of them; any other unnamed product is a box.
    product = subjects.has("flowers") || /\bstill[ -]life\b/.test(text) ? "vase" : "box";
  } else if (scene && !studio) return none;

  let surface: Surface = "sweep";
  let surfaceAt = -1;
  // The surface named in "on ...", else any surface word, in material-first order.
  const where = onSurface ? text.slice(onSurface.index) : text;
  for (const [kind, re] of SURFACE_PATTERNS) {
    const m = re.exec(where);
    if (m && !refused(re)) {
      surface = kind;
      surfaceAt = (onSurface ? onSurface.index : 0) + m.index;
      break;
    }
  }

  const backdrop = /\b([a-z]+) (background|backdrop|wall|seamless|paper)\b/.exec(text);
  return {
    product,
    surface,
    studioColors: {
      product: colorBefore(text, at === Infinity ? 0 : at),
      surface: surfaceAt >= 0 ? colorBefore(text, surfaceAt) : null,
      backdrop: backdrop ? colorBefore(text, backdrop.index + (backdrop[1]?.length ?? 0) + 1) : null,
    },
  };
}
