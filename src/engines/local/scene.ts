/** Composes a parsed prompt into two SVG layers: a soft background and a sharp foreground. */
import { lighten, mix } from "./color.js";
import { buildPalette, type Palette } from "./palette.js";
import { ANIMALS, type SceneSpec, type Subject } from "./prompt.js";
import type { Rng } from "./rng.js";
import { circle, ellipse, Layer, paint, pathTag, rect, smoothLine, type Point } from "./svg.js";
import type { Ctx } from "./elements/context.js";
import {
  birds,
  cloudField,
  moon,
  overcast,
  planet,
  rainbow,
  sky,
  stars,
  streakClouds,
  sun,
  sunGlow,
} from "./elements/sky.js";
import { beach, dunes, field, hills, mountainRange, shoreDetails, water } from "./elements/terrain.js";
import { abstractPiece } from "./elements/abstract.js";
import {
  broadleaf,
  bushes,
  cactus,
  flowers,
  forestFrame,
  mushrooms,
  palm,
  pines,
  treeline,
} from "./elements/flora.js";
import { streetScene } from "./elements/street.js";
import { bridge, castle, house, lighthouse, skyline } from "./elements/buildings.js";
import { cat, dog, person, robot } from "./elements/figures.js";
import { ANIMAL_HEIGHT, animalGroup, isAnimal, onSand } from "./elements/animals.js";
import { car, flyingCar, sailboat } from "./elements/vehicles.js";
import { fireflies, fogBand, lightRays, lightning, rain, snowfall } from "./elements/weather.js";
import { composeStudio } from "./studio.js";

export interface ComposedScene {
  /** Sky, glows, clouds and water: meant to be rasterized small and scaled up (soft). */
  background: Layer;
  /** Everything with edges, transparent elsewhere. */
  foreground: Layer;
  unitW: number;
  unitH: number;
  palette: Palette;
}

const LAND: Subject[] = [
  "mountains",
  "hills",
  "water",
  "beach",
  "city",
  "forest",
  "garden",
  "desert",
  "castle",
  "house",
  "bridge",
  "lighthouse",
];
const HEROES = ["robot", "cat", "dog", "person", "car", ...ANIMALS] as const;
type Hero = (typeof HEROES)[number];

/** What every composition starts from: the canvas in units (1000 tall), its palette and its two layers. */
export interface Canvas {
  W: number;
  H: number;
  /** Flat style: gradients collapse to solid colours and glows disappear. */
  flat: boolean;
  pal: Palette;
  bg: Layer;
  fg: Layer;
}

/** pixels: the longer side of the raster the foreground will be drawn at (sets the level of detail). */
export function composeScene(spec: SceneSpec, rng: Rng, aspect: number, pixels: number): ComposedScene {
  const H = 1000;
  const W = H * aspect;
  const flat = spec.style === "minimal" || spec.style === "pixel";
  const pal = buildPalette(spec, rng.fork("palette"));
  const bg = new Layer("b", flat);
  const fg = new Layer("f", flat);
  const has = (s: Subject): boolean => spec.subjects.has(s);

  // A product shot or still life stands on a studio set instead of in a landscape.
  if (spec.product) return composeStudio(spec, rng, { W, H, flat, pal, bg, fg }, pixels);
  const recognized = spec.subjects.size > 0 || spec.timeExplicit || spec.magical;
  if (spec.abstract || (!recognized && rng.fork("kind").chance(0.35))) {
    abstractPiece(spec, rng.fork("abstract"), bg, fg, W, H);
    return { background: bg, foreground: fg, unitW: W, unitH: H, palette: pal };
  }

  const layout = rng.fork("layout");
  const heroes = HEROES.filter((h) => has(h));
  const city = has("city") || has("flyingCars");
  const desert = has("desert");
  const snowy = has("snow") || spec.season === "winter";
  const forest = has("forest");
  const garden = has("garden") || has("flowers");
  let wet = has("water") || has("beach") || has("boat") || has("bridge") || has("lighthouse");
  const open = wet && (spec.openWater || has("beach") || has("lighthouse"));
  // A city with nothing underfoot gets a street if the prompt suggests one (cars, rain, someone to
  // stand on it), else a river.
  const street =
    city &&
    !wet &&
    (spec.style === "cyberpunk" ||
      has("car") ||
      has("rain") ||
      heroes.some((h) => h !== "car") ||
      /\bstreets?\b/.test(spec.prompt));
  if (city && !wet && !street) wet = true;
  const landMentioned = LAND.some((s) => has(s));
  const mountains =
    has("mountains") ||
    (snowy && !city && !garden) ||
    (!landMentioned && !city && !desert && layout.chance(heroes.length ? 0.35 : 0.7)) ||
    (wet && !open && !city && layout.chance(0.6));
  // Mountains with nothing else underfoot: a still lake (for the reflections) or a meadow.
  if (
    mountains &&
    !wet &&
    !heroes.length &&
    !garden &&
    !forest &&
    !desert &&
    !has("house") &&
    layout.chance(0.5)
  )
    wet = true;

  let hy: number;
  if (city) hy = H * (wet ? layout.range(0.6, 0.66) : layout.range(0.66, 0.72));
  else if (heroes.length && !wet) hy = H * layout.range(0.5, 0.56);
  else if (wet) hy = H * layout.range(0.55, 0.62);
  else if (forest) hy = H * 0.62;
  else hy = H * layout.range(0.55, 0.64);

  const time = spec.time;
  const stormy = has("storm");
  const rainy = has("rain") || stormy;
  const overcastSky = stormy || (rainy && !has("moon") && !has("stars") && !has("sun"));
  const sunX = W * (layout.chance(0.5) ? layout.range(0.22, 0.38) : layout.range(0.62, 0.78));
  let celestialY = hy - hy * pal.celestial * layout.range(0.9, 1.1);
  // A low sun would set behind mountains or towers: keep it just above them, where it can be seen.
  if ((mountains || city) && celestialY > hy * 0.5)
    celestialY = hy * layout.range(mountains ? 0.34 : 0.42, mountains ? 0.42 : 0.5);
  const light = { x: sunX, y: celestialY };
  const detail = Math.min(1, Math.max(0.35, pixels / 1024));
  const ctx: Ctx = { W, H, hy, spec, pal, rng, bg, fg, flat, light, detail, reflect: [], has };

  // --- Sky ---
  sky(ctx);
  if (pal.stars > 0 && !overcastSky)
    stars({ ...ctx, rng: rng.fork("stars") }, pal.stars * (has("clouds") ? 0.6 : 1));
  let celestial: { x: number; color: string; strength: number } | null = null;
  const glowStrength: Record<string, number> = {
    dawn: 0.8,
    morning: 0.55,
    day: 0.45,
    golden: 0.95,
    sunset: 1,
    dusk: 0.5,
  };
  if (pal.sun && !overcastSky) {
    const r = time === "sunset" || time === "dawn" ? 46 : time === "golden" ? 40 : 30;
    sunGlow(ctx, sunX, celestialY, glowStrength[time] ?? 0.5);
    sun(ctx, sunX, celestialY, r, pal.sun);
    celestial = { x: sunX, color: pal.sun, strength: time === "day" || time === "morning" ? 0.45 : 0.9 };
  } else if (pal.moon && !overcastSky) {
    moon(
      { ...ctx, rng: rng.fork("moon") },
      sunX,
      celestialY,
      layout.range(26, 38),
      pal.moon,
      layout.chance(0.4),
    );
    celestial = { x: sunX, color: pal.moon, strength: 0.55 };
  } else if (time === "dusk" || time === "sunset") sunGlow(ctx, sunX, hy, 0.6);
  if (has("moon") && pal.sun && !pal.moon) moon(ctx, W - sunX, hy * 0.25, 22, "#f4f4f0", true);
  if (has("planet")) planet({ ...ctx, rng: rng.fork("planet") });

  const cloudRng = rng.fork("clouds");
  const cctx = { ...ctx, rng: cloudRng };
  if (overcastSky) {
    overcast(cctx, stormy ? 0.6 : 0.35);
    cloudField(cctx, cloudRng.int(4, 6), true);
  } else if (has("clouds")) cloudField(cctx, cloudRng.int(4, 7), false);
  else if (time === "sunset" || time === "golden" || time === "dawn") {
    streakClouds(cctx, cloudRng.int(5, 9));
    if (cloudRng.chance(0.3)) cloudField(cctx, 1, false);
  } else if (!pal.night && !spec.serene && spec.style !== "cyberpunk" && !desert)
    cloudField(cctx, cloudRng.int(1, 4), false);
  else if (!pal.night && cloudRng.chance(0.5)) streakClouds(cctx, cloudRng.int(2, 4));
  if (has("rainbow")) rainbow({ ...ctx, rng: rng.fork("rainbow") });
  if (has("birds") || (!pal.night && (has("beach") || has("water")) && layout.chance(0.3)))
    birds({ ...ctx, rng: rng.fork("birds") });

  // --- Far ---
  const farRng = rng.fork("far");
  const fctx = { ...ctx, rng: farRng };
  const foggy = has("fog");
  if (mountains) {
    const snowLine = (base: number, amp: number): number | null =>
      desert || (spec.season === "summer" && !snowy)
        ? null
        : snowy
          ? base - amp * 0.1
          : farRng.chance(0.75)
            ? base - amp * 0.75
            : null;
    const ranges = [
      { depth: 0.82, base: hy - hy * 0.3, amp: hy * 0.26, roughness: 0.5 },
      { depth: 0.6, base: hy - hy * 0.16, amp: hy * 0.2, roughness: 0.52 },
      { depth: 0.38, base: hy - hy * 0.04, amp: hy * 0.13, roughness: 0.55 },
    ];
    ranges.forEach((r, i) => {
      mountainRange(fctx, {
        ...r,
        snowLine: i < 2 ? snowLine(r.base, r.amp) : snowy ? r.base - r.amp * 0.3 : null,
        reflect: wet,
      });
      if (foggy || (i === 0 && !pal.night)) fogBand(ctx, r.base + 10, 60 + i * 20, foggy ? 0.9 : 0.35);
    });
  } else if (!city && !desert && !open) {
    hills(fctx, hy - 40, 70, 0.55, mix(pal.foliage, pal.grass, 0.4), wet, wet ? hy + 2 : H + 5);
    if (wet) treeline(fctx, hy + 4, 45, 0.7, 1.2, snowy, true);
  }
  if (mountains && !city && !desert) treeline(fctx, hy + 6, 38, 0.55, 1.3, snowy, wet);
  if (desert) {
    if (farRng.chance(0.6))
      mountainRange(fctx, {
        depth: 0.75,
        base: hy - 30,
        amp: 70,
        roughness: 0.35,
        snowLine: null,
        reflect: false,
      });
  }
  if (city && (pal.night || spec.style === "cyberpunk")) {
    // Light pollution: the sky over a city at night glows from below.
    const glow = spec.style === "cyberpunk" || has("neon") ? (pal.neon[0] ?? "#ff2bd6") : pal.windowLit;
    const r = W * 0.7;
    const fill = bg.radial(
      [
        [0, glow, 0.55],
        [0.5, glow, 0.18],
        [1, glow, 0],
      ],
      W / 2,
      hy,
      r,
      true,
    );
    if (fill !== "none") bg.add(pathTag(circle(W / 2, hy, r), `fill="${fill}"`));
  }
  if (city) {
    const downtown = W * (sunX > W / 2 ? farRng.range(0.25, 0.45) : farRng.range(0.55, 0.75));
    const cityRng = rng.fork("city");
    const sctx = { ...ctx, rng: cityRng };
    skyline(sctx, {
      base: hy,
      depth: 0.72,
      minH: 80,
      maxH: hy * 0.62,
      downtown: downtown + 120,
      reflect: wet || street,
      neon: false,
    });
    if (foggy || spec.style === "cyberpunk") fogBand(ctx, hy - 40, 140, 0.6);
    skyline(sctx, {
      base: hy + 2,
      depth: 0.3,
      minH: 60,
      maxH: hy * 0.55,
      downtown,
      reflect: wet || street,
      neon: has("neon"),
    });
  }

  // --- Mid ---
  const midRng = rng.fork("mid");
  const mctx = { ...ctx, rng: midRng };
  const groundColor = snowy ? pal.snow : desert ? pal.sand : pal.grass;
  const groundDark = snowy ? pal.snowShade : desert ? pal.sandShade : pal.grassDark;
  let groundTop = H;
  if (desert) {
    dunes(mctx);
    groundTop = hy + 40;
  } else if (!wet && !street) {
    const ridge = hills(
      mctx,
      hy + 20,
      45,
      0.45,
      forest ? mix(groundColor, pal.foliageDark, 0.6) : groundColor,
      false,
    );
    groundTop = Math.min(...ridge.map((p) => p[1]));
    if (forest) {
      if (spec.magical) {
        const glowColor = pal.neon[1] ?? "#22e6ff";
        const glow = bg.radial(
          [
            [0, glowColor, 0.45],
            [1, glowColor, 0],
          ],
          W / 2,
          hy,
          W * 0.45,
          true,
        );
        if (glow !== "none") bg.add(pathTag(circle(W / 2, hy, W * 0.45), `fill="${glow}"`));
      }
      treeline(mctx, hy + 12, 110, 0.75, 1.4, snowy, false);
      if (foggy || spec.magical) fogBand(ctx, hy + 10, 80, 0.7);
      treeline(mctx, hy + (H - hy) * 0.25, 200, 0.45, 1.1, snowy, false);
    } else if (has("trees") || (!garden && midRng.chance(0.5)))
      treeline(mctx, hy + 14, 60, 0.65, 0.7, snowy, false);
  }

  if (has("castle")) {
    const cx = W * (heroes.length ? 0.7 : midRng.range(0.4, 0.6));
    const s = heroes.length ? 150 : 210;
    const top = hy - (wet ? 30 : 10);
    if (!wet) {
      const hill: Point[] = [
        [cx - s * 2.5, hy + 60],
        [cx - s * 1.2, top + 10],
        [cx + s * 1.2, top + 10],
        [cx + s * 2.5, hy + 60],
      ];
      fg.add(pathTag(smoothLine(hill) + "Z", paint(pal.recede(mix(groundColor, pal.rock, 0.3), 0.35))));
    } else {
      fg.add(pathTag(ellipse(cx, hy, s * 1.6, 40), paint(pal.recede(pal.rock, 0.4))));
    }
    castle(mctx, cx, top + 12, s, 0.3);
  }
  if (has("bridge") && wet) bridge(mctx, hy - 28, 0.35);
  if (has("lighthouse")) {
    const lx = W * (sunX > W / 2 ? 0.18 : 0.82);
    const rockBase = hy + 60;
    fg.add(
      pathTag(
        ellipse(lx, rockBase, 130, 45) + ellipse(lx + 50, rockBase + 10, 90, 30),
        paint(pal.tone("#4a4640", 0.2)),
      ),
    );
    lighthouse(mctx, lx, rockBase - 25, 230);
  }

  // --- Water / ground ---
  if (wet) water(ctx, hy, celestial);
  if (street) streetScene(ctx, celestial);
  if (has("boat") && wet) {
    const boatRng = rng.fork("boat");
    const count = boatRng.int(1, 2);
    for (let i = 0; i < count; i++) {
      const t = boatRng.range(0.15, 0.5);
      const y = hy + (H - hy) * t;
      sailboat({ ...ctx, rng: boatRng }, W * boatRng.range(0.2, 0.8), y, 60 + 200 * t, 0.5 - t);
    }
  }

  // --- Foreground ---
  const fgRng = rng.fork("foreground");
  const fctx2 = { ...ctx, rng: fgRng };
  const shore = has("beach") ? beach(fctx2) : null;
  const needsGround = heroes.some((h) => h !== "car") || garden || (has("house") && !wet) || has("trees");
  const lakeShore = wet && !has("beach") && !city && (needsGround || fgRng.chance(0.5));
  if (lakeShore) {
    groundTop = hy + (H - hy) * fgRng.range(0.55, 0.7);
    field(fctx2, groundTop, groundColor, groundDark, !snowy);
    if (!heroes.length && !garden) shoreDetails(fctx2, groundTop);
  } else if (!wet && !street && !desert) {
    groundTop = hy + (H - hy) * (garden ? 0.35 : 0.5);
    field(fctx2, groundTop, lighten(groundColor, 0.04), groundDark, !snowy);
  }
  const heroRng = rng.fork("heroes");
  const ground =
    !wet && !street
      ? Math.max(groundTop + 90, H * 0.86)
      : lakeShore
        ? Math.max(groundTop + 80, H * 0.88)
        : H * 0.92;
  if (heroes.includes("car") && !street) {
    // A country road for the car to stand on.
    const top = ground - 45;
    fg.add(pathTag(rect(-5, top, W + 10, 75), paint(pal.tone("#4a4c52"))));
    fg.add(pathTag(rect(-5, top - 4, W + 10, 5) + rect(-5, top + 73, W + 10, 5), paint(pal.tone("#8a8478"))));
    let dashes = "";
    for (let x = -30; x < W; x += 90) dashes += rect(x, top + 34, 50, 4);
    fg.add(pathTag(dashes, paint(pal.tone("#e8e2c8"), 0.8)));
  }
  if (has("house")) {
    const village = /\bvillage|town\b/.test(spec.prompt);
    const count = village ? fgRng.int(3, 5) : 1;
    for (let i = 0; i < count; i++) {
      const x =
        count === 1
          ? W * (heroes.length ? 0.12 : fgRng.range(0.2, 0.6))
          : W * (0.08 + (0.8 * i) / count) + fgRng.range(-20, 20);
      const s = count === 1 ? 130 : fgRng.range(80, 120);
      house(fctx2, x, Math.min(groundTop, H * 0.9) + 10 + fgRng.range(0, 30) * (count > 1 ? 1 : 0), s, 0.2);
    }
  }
  if (desert && has("desert")) {
    const count = /cact/.test(spec.prompt) ? fgRng.int(2, 3) : fgRng.int(0, 2);
    for (let i = 0; i < count; i++) {
      const near = i === 0;
      cactus(
        fctx2,
        // Animals stand in the middle: cacti keep to the edges, out of their way.
        W *
          (heroes.some(isAnimal)
            ? fgRng.pick(near ? [0.05, 0.95] : [0.04, 0.12, 0.88, 0.96])
            : near
              ? fgRng.pick([0.2, 0.78])
              : fgRng.range(0.1, 0.9)),
        H * (near ? 0.95 : fgRng.range(0.75, 0.85)),
        near ? 320 : fgRng.range(90, 150),
      );
    }
  }

  const heroZone = heroes.length ? { x: W * 0.5, w: 400 } : null;
  if (garden) {
    bushes(fctx2, groundTop + 15, fgRng.int(3, 5));
    flowers(fctx2, groundTop, fgRng.int(60, 110), heroZone);
  }
  if (mountains && !wet && !forest && !garden) {
    // Foreground conifers on one side frame a mountain view.
    const side = sunX > W / 2 ? 0 : 1;
    const trees = [0, 1, 2, 3].map((i) => ({
      x: W * (side ? 1 - i * 0.06 : i * 0.06) + fgRng.range(-15, 15),
      base: H + 20,
      h: fgRng.range(320, 520) - i * 50,
    }));
    pines(fctx2, trees, { color: mix(pal.foliageDark, pal.foliage, 0.3), snowy, depth: 0 });
  }
  if (has("trees") && !forest) {
    const count = fgRng.int(1, 3);
    for (let i = 0; i < count; i++) {
      const x = i === 0 ? (sunX > W / 2 ? W * 0.12 : W * 0.88) : fgRng.range(0, W);
      const base = Math.max(groundTop, H * 0.78) + fgRng.range(10, 60);
      const style = { color: pal.foliage, snowy, depth: 0 };
      if (has("beach")) palm(fctx2, x, base, 420, pal.foliage);
      else if (snowy || fgRng.chance(0.4)) pines(fctx2, [{ x, base, h: 380 }], style);
      else broadleaf(fctx2, x, base, 420, style);
    }
  }
  if (forest) {
    forestFrame(fctx2, snowy);
    if (spec.magical) mushrooms(fctx2, H * 0.9, 9);
    if (spec.magical && pal.sun) lightRays(ctx, sunX, 5, mix(pal.glow, "#fff6d8", 0.5));
  }

  const placed = placeHeroes(
    heroes.filter((h) => h !== "car" || !street),
    W,
    heroRng,
  );
  for (const p of placed) {
    const hctx = { ...ctx, rng: heroRng };
    const ground0 = ground + heroRng.range(-10, 10);
    // On a beach, whoever stands stands on the sand, not in the sea.
    const [x, base] =
      shore && p.hero !== "car" ? onSand(ctx, shore, p.x, ground0, placed.length === 1) : [p.x, ground0];
    const scale = heroes.length === 1 ? 1 : 0.8;
    if (p.hero === "robot") robot(hctx, x, base, 380 * scale);
    if (p.hero === "cat") cat(hctx, x, base, 250 * scale);
    if (p.hero === "dog") dog(hctx, x, base, 280 * scale);
    if (p.hero === "person")
      person(hctx, x, base, (landMentioned && heroes.length === 1 ? 180 : 300) * scale);
    if (p.hero === "car") car(hctx, x, base, 300 * scale, heroRng.chance(0.5) ? 1 : -1);
    if (isAnimal(p.hero))
      animalGroup(hctx, p.hero, x, base, ANIMAL_HEIGHT[p.hero] * scale, (W / placed.length) * 0.9);
  }
  if (has("flyingCars")) {
    const fr = rng.fork("flying");
    const count = fr.int(5, 8);
    for (let i = 0; i < count; i++) {
      const depth = fr.next();
      const y = hy * (0.25 + 0.55 * fr.next());
      flyingCar(
        { ...ctx, rng: fr },
        fr.range(0.05, 0.95) * W,
        y,
        120 - depth * 70,
        fr.chance(0.5) ? 1 : -1,
        depth * 0.6,
      );
    }
  }

  // --- Air ---
  const air = { ...ctx, rng: rng.fork("air") };
  if (foggy) fogBand(ctx, H * 0.85, 260, 0.6);
  if (rainy) rain(air, stormy);
  if (stormy) lightning(air);
  if (snowy) snowfall(air, has("storm") ? 1.6 : 1);
  if (spec.magical) fireflies(air, 40, hy * 0.6, H * 0.95);
  if (spec.style === "cyberpunk" && !rainy) rain(air, false);

  return { background: bg, foreground: fg, unitW: W, unitH: H, palette: pal };
}

function placeHeroes(heroes: Hero[], W: number, rng: Rng): { hero: Hero; x: number }[] {
  if (heroes.length === 0) return [];
  if (heroes.length === 1) return [{ hero: heroes[0] as Hero, x: W * rng.pick([0.42, 0.5, 0.58]) }];
  const gap = W / (heroes.length + 1);
  return heroes.map((hero, i) => ({ hero, x: gap * (i + 1) + rng.range(-gap, gap) * 0.15 }));
}
