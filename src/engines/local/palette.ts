/** Colours for a scene: a base look per time of day, shifted by season and by the prompt's palette words. */
import { darken, hsl, lighten, mix, NAMED_COLORS, saturate, toward } from "./color.js";
import type { Rng } from "./rng.js";
import type { SceneSpec, TimeOfDay } from "./prompt.js";

interface TimeLook {
  /** Colour of far landforms: atmospheric perspective. */
  distant: string;
  skyTop: string;
  skyMid: string;
  skyLow: string;
  sun: string | null;
  moon: string | null;
  glow: string;
  haze: string;
  /** How brightly lit surfaces are, 0..1. */
  light: number;
  ambient: string;
  ambientAmount: number;
  stars: number;
  /** Height of the sun or moon above the horizon, as a fraction of the horizon's height. */
  celestial: number;
  cloudLit: string;
  cloudShade: string;
}

const LOOKS: Record<TimeOfDay, TimeLook> = {
  dawn: {
    distant: "#8a7ca2",
    skyTop: "#34457a",
    skyMid: "#b08aaa",
    skyLow: "#ffc89e",
    sun: "#fff0c8",
    moon: null,
    glow: "#ffb27a",
    haze: "#d8aeb0",
    light: 0.8,
    ambient: "#ff9f80",
    ambientAmount: 0.16,
    stars: 0.1,
    celestial: 0.12,
    cloudLit: "#ffd6b8",
    cloudShade: "#8c7396",
  },
  morning: {
    distant: "#8fa8c6",
    skyTop: "#4c8bd8",
    skyMid: "#8fc1ea",
    skyLow: "#e4eff2",
    sun: "#fff8e4",
    moon: null,
    glow: "#fff0c8",
    haze: "#c6dbea",
    light: 1,
    ambient: "#fff2dc",
    ambientAmount: 0.06,
    stars: 0,
    celestial: 0.5,
    cloudLit: "#ffffff",
    cloudShade: "#aebfd6",
  },
  day: {
    distant: "#86a2c6",
    skyTop: "#2a6fce",
    skyMid: "#66a9e6",
    skyLow: "#cfe4f4",
    sun: "#fffdf2",
    moon: null,
    glow: "#fffbe8",
    haze: "#b9d3ea",
    light: 1,
    ambient: "#ffffff",
    ambientAmount: 0,
    stars: 0,
    celestial: 0.78,
    cloudLit: "#ffffff",
    cloudShade: "#b3c3d8",
  },
  golden: {
    distant: "#8784a8",
    skyTop: "#4d6fa6",
    skyMid: "#dcae72",
    skyLow: "#ffd488",
    sun: "#fff3c0",
    moon: null,
    glow: "#ffc45c",
    haze: "#e9c496",
    light: 0.95,
    ambient: "#ffaa4a",
    ambientAmount: 0.22,
    stars: 0,
    celestial: 0.22,
    cloudLit: "#ffe3a6",
    cloudShade: "#a98a7e",
  },
  sunset: {
    distant: "#6a4c7c",
    skyTop: "#22265e",
    skyMid: "#b5527a",
    skyLow: "#ff9448",
    sun: "#ffd27a",
    moon: null,
    glow: "#ff8a3c",
    haze: "#d98070",
    light: 0.72,
    ambient: "#ff6a40",
    ambientAmount: 0.28,
    stars: 0.05,
    celestial: 0.06,
    cloudLit: "#ffb286",
    cloudShade: "#6e4670",
  },
  dusk: {
    distant: "#3f3a68",
    skyTop: "#111840",
    skyMid: "#423777",
    skyLow: "#c87588",
    sun: null,
    moon: "#f3efdc",
    glow: "#d0708a",
    haze: "#6c5d8c",
    light: 0.5,
    ambient: "#4d4a92",
    ambientAmount: 0.4,
    stars: 0.5,
    celestial: 0.7,
    cloudLit: "#c88ea4",
    cloudShade: "#3b3262",
  },
  night: {
    distant: "#1b2642",
    skyTop: "#03060f",
    skyMid: "#0b1834",
    skyLow: "#22375e",
    sun: null,
    moon: "#f4f1de",
    glow: "#7088ba",
    haze: "#1f2e4e",
    light: 0.32,
    ambient: "#213a6c",
    ambientAmount: 0.55,
    stars: 1,
    celestial: 0.62,
    cloudLit: "#56668e",
    cloudShade: "#1a2238",
  },
  midnight: {
    distant: "#121a30",
    skyTop: "#020308",
    skyMid: "#070e22",
    skyLow: "#152440",
    sun: null,
    moon: "#ecebe0",
    glow: "#5a6fa0",
    haze: "#15203a",
    light: 0.24,
    ambient: "#1a2c58",
    ambientAmount: 0.6,
    stars: 1,
    celestial: 0.75,
    cloudLit: "#45557a",
    cloudShade: "#121a2c",
  },
};

export interface Palette {
  night: boolean;
  light: number;
  stars: number;
  celestial: number;
  skyTop: string;
  skyMid: string;
  skyLow: string;
  sun: string | null;
  moon: string | null;
  glow: string;
  haze: string;
  /** What far landforms fade toward: hazy blue by day, violet silhouettes against a low sun. */
  distant: string;
  cloudLit: string;
  cloudShade: string;
  water: string;
  waterDeep: string;
  grass: string;
  grassDark: string;
  foliage: string;
  foliageDark: string;
  trunk: string;
  rock: string;
  rockDark: string;
  sand: string;
  sandShade: string;
  snow: string;
  snowShade: string;
  stone: string;
  roof: string;
  building: string;
  buildingDark: string;
  windowLit: string;
  /** Colours for subjects (flowers, robot, cars); the prompt's own colours come first. */
  accents: string[];
  neon: string[];
  /** Light a surface colour for the time of day and push it into the haze with depth (0 near, 1 far). */
  tone(color: string, depth?: number): string;
  /** Push an already lit colour into the distance (0 near, 1 far). */
  recede(color: string, depth: number): string;
  /** The prompt's palette shift, for colours that must not be lit (emissive lights, sky). */
  grade(color: string): string;
}

export function buildPalette(spec: SceneSpec, rng: Rng): Palette {
  const look = LOOKS[spec.time];
  const hints = spec.palette;
  const night = spec.time === "night" || spec.time === "midnight" || spec.time === "dusk";
  const named = hints.colors.map((c) => NAMED_COLORS[c] ?? "#888888");
  if (spec.style === "cyberpunk" && named.length === 0) named.push("#7a2bd6", "#ff2bd6");

  const grade = (c: string): string => {
    let out = c;
    if (hints.warmth > 0) out = toward(out, "#ff9a40", 0.14);
    if (hints.warmth < 0) out = toward(out, "#4a90e0", 0.16);
    if (hints.pastel) out = lighten(saturate(out, 0.75), 0.2);
    if (hints.neon) out = saturate(out, 1.35);
    if (hints.muted) out = saturate(out, 0.55);
    return out;
  };
  const tint = (c: string, i: number, amount: number): string => {
    const target = named[i % Math.max(1, named.length)];
    return target ? toward(c, target, amount) : c;
  };
  const boundSky = hints.bound.sky ? NAMED_COLORS[hints.bound.sky] : undefined;
  const sky = (c: string, i: number): string =>
    grade(boundSky ? toward(c, boundSky, 0.55) : tint(c, i, night ? 0.35 : 0.42));

  const season = spec.season;
  let grass = "#5f9a3c";
  let foliage = "#3f7d36";
  if (season === "autumn") {
    grass = "#a08a3c";
    foliage = rng.pick(["#c8642a", "#d4862c", "#b8452a"]);
  } else if (season === "spring") {
    grass = "#78b24a";
    foliage = "#6aa848";
  } else if (season === "summer") {
    grass = "#58a03a";
    foliage = "#2f7a30";
  }
  if (spec.subjects.has("desert")) grass = "#b79a5c";

  const ambient = look.ambient;
  const ambientAmount = look.ambientAmount;
  const haze = sky(look.haze, 1);
  const light = look.light;
  const distant = sky(look.distant, 0);

  const tone = (c: string, depth = 0): string => {
    let out = mix(c, ambient, ambientAmount);
    if (light < 1) out = darken(out, (1 - light) * 0.85);
    out = mix(out, distant, Math.min(1, depth) * 0.85);
    return grade(tint(out, 0, 0.18));
  };

  const accentsBase = ["#e94f64", "#f4c542", "#f08a5d", "#b76ee0", "#f7f3e8", "#5aa9e6"];
  const accents = [...named, ...accentsBase.map((c) => (hints.pastel ? lighten(c, 0.3) : c))];
  const neonBase = ["#ff2bd6", "#22e6ff", "#8a5bff", "#ff4f7a", "#3dffa8", "#ffd23d"];
  const neon = named.length ? [...named.map((c) => saturate(lighten(c, 0.15), 1.4)), ...neonBase] : neonBase;

  return {
    night,
    light,
    stars: look.stars,
    celestial: look.celestial,
    skyTop: sky(look.skyTop, 0),
    skyMid: sky(look.skyMid, 1),
    skyLow: sky(look.skyLow, 1),
    sun: look.sun ? grade(look.sun) : null,
    moon: look.moon,
    glow: sky(look.glow, 1),
    haze,
    distant,
    cloudLit: sky(look.cloudLit, 1),
    cloudShade: sky(look.cloudShade, 0),
    water: tone(hints.bound.water ? (NAMED_COLORS[hints.bound.water] ?? "#2d6f95") : "#2d6f95"),
    waterDeep: tone("#143a5c"),
    grass: tone(grass),
    grassDark: tone(darken(grass, 0.45)),
    foliage: tone(foliage),
    foliageDark: tone(darken(foliage, 0.5)),
    trunk: tone("#5a3d2b"),
    rock: tone("#6d6f7c"),
    rockDark: tone("#3a3c48"),
    sand: tone("#e3c48e"),
    sandShade: tone("#b8925e"),
    snow: tone("#f4f7fb"),
    snowShade: tone("#b9c8de"),
    stone: tone("#a59c90"),
    roof: tone(rng.pick(["#8e3b32", "#3d5a80", "#6b4b3a"])),
    building: tone(spec.futuristic ? "#51607a" : "#5e6472"),
    buildingDark: tone(spec.futuristic ? "#232c40" : "#2e323d"),
    windowLit: grade(rng.pick(["#ffd27a", "#ffe2a0", "#ffc864"])),
    accents,
    neon,
    tone,
    recede: (c: string, depth: number): string => mix(c, distant, Math.min(1, depth) * 0.85),
    grade,
  };
}

/** A seeded harmonious palette for abstract pieces when the prompt names no colours. */
export function abstractColors(spec: SceneSpec, rng: Rng): string[] {
  const named = spec.palette.colors.map((c) => NAMED_COLORS[c] ?? "#888888");
  if (named.length >= 2) return named;
  const base = rng.range(0, 360);
  const scheme = rng.pick([
    [0, 30, 60],
    [0, 150, 180],
    [0, 120, 240],
    [0, -30, 200],
  ]);
  const sat = spec.palette.pastel ? 0.45 : spec.palette.muted ? 0.3 : 0.65;
  const colors = scheme.map((d, i) => hsl(base + d, sat, 0.35 + i * 0.15));
  if (named[0]) colors[0] = named[0];
  return colors;
}
