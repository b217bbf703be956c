import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { LocalEngine } from "../../src/engines/local/index.js";
import {
  ANIMALS,
  parsePrompt,
  type Animal,
  type SceneSpec,
  type Subject,
} from "../../src/engines/local/prompt.js";
import { buildPalette } from "../../src/engines/local/palette.js";
import { renderLayers } from "../../src/engines/local/raster.js";
import { createRng } from "../../src/engines/local/rng.js";
import { composeScene } from "../../src/engines/local/scene.js";
import { Layer } from "../../src/engines/local/svg.js";
import {
  ANIMAL_HEIGHT,
  animalGroup,
  drawAnimal,
  herdSize,
} from "../../src/engines/local/elements/animals.js";
import type { Ctx } from "../../src/engines/local/elements/context.js";

const engine = new LocalEngine();
const SIZE = 256;

async function render(prompt: string, seed: number): Promise<Buffer> {
  const r = await engine.generate({
    prompt,
    width: SIZE,
    height: SIZE,
    seed,
    format: "png",
    images: [],
    model: "local",
    signal: new AbortController().signal,
  });
  const { data } = await sharp(r.bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return data;
}

/** Pixels in the box (fractions of the frame) that pass the test, and the width of the box around them. */
function cluster(
  data: Buffer,
  box: { x0: number; x1: number; y0: number; y1: number },
  test: (r: number, g: number, b: number) => boolean,
): { count: number; spread: number } {
  let count = 0;
  let minX = SIZE;
  let maxX = -1;
  for (let y = Math.floor(box.y0 * SIZE); y < box.y1 * SIZE; y++)
    for (let x = Math.floor(box.x0 * SIZE); x < box.x1 * SIZE; x++) {
      const i = (y * SIZE + x) * 3;
      if (test(data[i] as number, data[i + 1] as number, data[i + 2] as number)) {
        count++;
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
      }
    }
  return { count, spread: count ? (maxX - minX + 1) / SIZE : 0 };
}

const foxOrange = (r: number, g: number, b: number): boolean => r > 140 && r - g > 45 && g - b > 20;

/** A drawing context on a bare canvas, for one drawer at a time. */
function bareCtx(prompt: string): Ctx {
  const spec = parsePrompt(prompt);
  const rng = createRng(prompt);
  const fg = new Layer("f", false);
  return {
    W: 1000,
    H: 1000,
    hy: 550,
    spec,
    pal: buildPalette(spec, rng.fork("palette")),
    rng,
    bg: new Layer("b", false),
    fg,
    flat: false,
    light: { x: 800, y: 200 },
    detail: 1,
    reflect: [],
    has: (s) => spec.subjects.has(s),
  };
}

/** The bounding box of the opaque pixels of a layer rendered at SIZE, in canvas units. */
async function opaqueBox(
  ctx: Ctx,
): Promise<{ left: number; right: number; top: number; bottom: number; area: number }> {
  const svg = ctx.fg.render(ctx.W, ctx.H, SIZE, SIZE);
  const { data } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  let left = SIZE;
  let right = -1;
  let top = SIZE;
  let bottom = -1;
  let area = 0;
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) {
      // Past the ground shadow's own opacity: the figure, not its shadow.
      if ((data[(y * SIZE + x) * 4 + 3] as number) < 160) continue;
      area++;
      left = Math.min(left, x);
      right = Math.max(right, x);
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
    }
  const u = ctx.H / SIZE;
  return {
    left: left * u,
    right: (right + 1) * u,
    top: top * u,
    bottom: (bottom + 1) * u,
    area: area * u * u,
  };
}

describe("animal prompts", () => {
  const finds: [string, Subject][] = [
    ["A red fox in a meadow of flowers under a blue sky", "fox"],
    ["two foxes in the snow", "fox"],
    ["a lone wolf howling", "wolf"],
    ["A deer in a misty forest at dawn", "deer"],
    ["a stag on a hill", "deer"],
    ["reindeer pulling a sleigh", "deer"],
    ["A white horse on a beach", "horse"],
    ["a pony in a paddock", "horse"],
    ["a unicorn in an enchanted forest", "horse"],
    ["cows in a pasture", "cow"],
    ["A bunny in a garden", "rabbit"],
    ["a hare in a field", "rabbit"],
    ["rabbits at dusk", "rabbit"],
    ["A polar bear on the ice at night", "bear"],
    ["a grizzly by the river", "bear"],
    ["Sheep grazing on rolling hills", "sheep"],
    ["a lamb in spring", "sheep"],
    ["Desert dunes at sunset with a camel caravan", "camel"],
    ["An elephant in the savanna at sunset", "elephant"],
    ["An owl in a moonlit forest", "owl"],
    ["penguins on an iceberg", "penguin"],
  ];
  it.each(finds)("finds the animal in %j", (prompt, animal) => {
    expect(parsePrompt(prompt).subjects.has(animal)).toBe(true);
  });

  it.each([
    ["a ship bearing north under a grey sky", "bear"],
    ["share the view of the mountains", "rabbit"],
    ["a caravan parked by the lake", "camel"],
    ["a wooden bowl on a table by the window", "owl"],
    ["the wind howls through the valley", "owl"],
    ["firefox logo on a screen in a city", "fox"],
    ["what the sea does at night", "deer"],
    ["a foxglove garden", "fox"],
    ["a horseback trail in the hills", "horse"],
    ["a cowboy at sunset", "cow"],
  ] as [string, Subject][])("does not read an animal into %j", (prompt, animal) => {
    expect(parsePrompt(prompt).subjects.has(animal)).toBe(false);
  });

  it("takes a flock of sheep for sheep, not birds, and keeps birds that are named", () => {
    const a = parsePrompt("a flock of sheep on a hillside");
    expect(a.subjects.has("sheep")).toBe(true);
    expect(a.subjects.has("birds")).toBe(false);
    expect(parsePrompt("a flock of birds over the sea").subjects.has("birds")).toBe(true);
    expect(parsePrompt("sheep under a sky full of birds").subjects.has("birds")).toBe(true);
  });

  it("binds a colour to the animal it qualifies instead of tinting the scene", () => {
    const a = parsePrompt("A white horse on a beach");
    expect(a.palette.bound.horse).toBe("white");
    expect(a.palette.colors).not.toContain("white");
    expect(parsePrompt("a red fox in the snow").palette.bound.fox).toBe("red");
  });

  it("counts herds, plurals and numbers", () => {
    const rng = createRng("count");
    const count = (prompt: string, animal: Animal): number =>
      herdSize(parsePrompt(prompt).prompt, animal, rng);
    expect(count("Desert dunes at sunset with a camel caravan", "camel")).toBe(3);
    expect(count("a caravan of camels crossing the dunes", "camel")).toBe(3);
    expect(count("A deer in a misty forest at dawn", "deer")).toBe(1);
    expect(count("Sheep grazing on rolling hills", "sheep")).toBe(3);
    expect(count("a sheep on a hill", "sheep")).toBe(1);
    expect(count("a flock of sheep", "sheep")).toBe(3);
    expect(count("two white horses on a beach", "horse")).toBe(2);
    expect(count("a herd of elephants at sunset", "elephant")).toBe(3);
    expect(count("A polar bear on the ice", "bear")).toBe(1);
    expect([2, 3]).toContain(count("foxes in a meadow", "fox"));
  });
});

describe("animal drawers", () => {
  it.each(ANIMALS.map((a) => [a]))(
    "draws a %s of the asked height, standing on the ground line",
    async (animal) => {
      for (const dir of [1, -1]) {
        const ctx = bareCtx(`a ${animal} in a field`);
        const h = ANIMAL_HEIGHT[animal];
        const cx = 500;
        const base = 900;
        drawAnimal(ctx, animal, cx, base, h, dir);
        const box = await opaqueBox(ctx);
        // Feet (or the owl's stump) on the ground line, the top about h above it.
        expect(Math.abs(box.bottom - base)).toBeLessThan(12);
        expect(base - box.top).toBeGreaterThan(h * 0.8);
        expect(base - box.top).toBeLessThan(h * 1.12);
        // Centred on cx whichever way it faces, and a solid figure rather than a few strokes.
        expect(Math.abs((box.left + box.right) / 2 - cx)).toBeLessThan(h * 0.05);
        expect(box.area).toBeGreaterThan(h * (box.right - box.left) * 0.2);
      }
    },
  );

  it("spreads a herd across the frame, every one of it in frame", async () => {
    const one = bareCtx("a camel in the desert");
    animalGroup(one, "camel", 500, 900, 380, 900);
    const caravan = bareCtx("Desert dunes at sunset with a camel caravan");
    animalGroup(caravan, "camel", 500, 900, 380, 900);
    const a = await opaqueBox(one);
    const b = await opaqueBox(caravan);
    expect(b.right - b.left).toBeGreaterThan((a.right - a.left) * 1.8);
    expect(b.left).toBeGreaterThan(0);
    expect(b.right).toBeLessThan(1000);
    expect(b.area).toBeGreaterThan(a.area * 1.4);
  });

  it("mirrors the figure to face the other way", async () => {
    const boxes = [];
    for (const dir of [1, -1]) {
      const ctx = bareCtx("a horse in a field");
      drawAnimal(ctx, "horse", 500, 900, 340, dir);
      boxes.push(await opaqueBox(ctx));
    }
    const [right, left] = boxes as [
      Awaited<ReturnType<typeof opaqueBox>>,
      Awaited<ReturnType<typeof opaqueBox>>,
    ];
    expect(Math.abs(right.left - (1000 - left.right))).toBeLessThan(8);
    expect(Math.abs(right.right - (1000 - left.left))).toBeLessThan(8);
  });
});

describe("animals in scenes", () => {
  it("keeps an animal visible at night in the flat styles, which have no moonlit shading", async () => {
    const heroes = { x0: 0.15, x1: 0.85, y0: 0.5, y1: 0.97 };
    const pale = (r: number, g: number, b: number) => r + g + b > 3 * 70;
    for (const prompt of ["an elephant at night, pixel art", "an elephant at night, minimalist poster"]) {
      const lit = cluster(await render(prompt, 1), heroes, pale);
      // The body, not only its moonlit outline (which alone came to about 450 pixels here).
      expect(lit.count, prompt).toBeGreaterThan(SIZE * SIZE * 0.04);
    }
  });

  it("draws a fox: a cluster of fox-orange pixels where heroes stand, absent without the fox", async () => {
    const heroes = { x0: 0.15, x1: 0.85, y0: 0.5, y1: 0.97 };
    for (const seed of [1, 2, 3]) {
      const fox = cluster(await render("A red fox in a field", seed), heroes, foxOrange);
      expect(fox.count).toBeGreaterThan(300);
      expect(fox.spread).toBeLessThan(0.45);
      const none = cluster(await render("A field", seed), heroes, foxOrange);
      expect(none.count).toBeLessThan(10);
    }
  });

  it("changes only the region where the hero stands when one animal stands in for another", async () => {
    // The same prompt, seed and layout; only the hero differs, so the rest of the picture is identical.
    const spec = parsePrompt("A fox in a field at noon");
    const swap = (from: Subject, to: Subject): SceneSpec => {
      const subjects = new Set(spec.subjects);
      subjects.delete(from);
      subjects.add(to);
      return { ...spec, subjects };
    };
    const draw = async (s: SceneSpec): Promise<Buffer> => {
      const scene = composeScene(s, createRng("swap").fork("scene"), 1, SIZE);
      const img = await renderLayers(
        scene.background.render(scene.unitW, scene.unitH, 128, 128),
        scene.foreground.render(scene.unitW, scene.unitH, SIZE, SIZE),
        SIZE,
        SIZE,
      );
      return img.data;
    };
    const fox = await draw(spec);
    const elephant = await draw(swap("fox", "elephant"));
    let inside = 0;
    let outside = 0;
    for (let y = 0; y < SIZE; y++)
      for (let x = 0; x < SIZE; x++) {
        const i = (y * SIZE + x) * 3;
        const d =
          Math.abs((fox[i] as number) - (elephant[i] as number)) +
          Math.abs((fox[i + 1] as number) - (elephant[i + 1] as number)) +
          Math.abs((fox[i + 2] as number) - (elephant[i + 2] as number));
        if (d < 30) continue;
        if (y > SIZE * 0.45 && x > SIZE * 0.1 && x < SIZE * 0.9) inside++;
        else outside++;
      }
    // An elephant is a lot bigger than a fox: thousands of pixels change where it stands, none elsewhere.
    expect(inside).toBeGreaterThan(SIZE * SIZE * 0.08);
    expect(outside).toBe(0);
  });
});
