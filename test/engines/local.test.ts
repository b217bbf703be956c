import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { LocalEngine } from "../../src/engines/local/index.js";
import { planEdit } from "../../src/engines/local/edit-plan.js";
import { parsePrompt, type Subject } from "../../src/engines/local/prompt.js";
import { buildPalette } from "../../src/engines/local/palette.js";
import { createRng } from "../../src/engines/local/rng.js";
import { Layer } from "../../src/engines/local/svg.js";
import { lighthouse } from "../../src/engines/local/elements/buildings.js";
import { renderLayers } from "../../src/engines/local/raster.js";
import { backdropKey, subjectRegion, surroundKey } from "../../src/engines/local/combine.js";
import { EngineError, type OutputFormat, type SourceImage } from "../../src/engines/types.js";
import { engineRequest } from "../helpers/engines.js";

const engine = new LocalEngine();

const request = engineRequest;

async function source(prompt: string, width = 320, height = 240): Promise<SourceImage> {
  const r = await engine.generate(request({ prompt, width, height, format: "jpeg", seed: 7 }));
  return { bytes: r.bytes, format: r.format, width, height };
}

async function rawPixels(bytes: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(bytes)
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum / a.length;
}

function stdDev(data: Buffer): number {
  let sum = 0;
  for (const v of data) sum += v;
  const mean = sum / data.length;
  let sq = 0;
  for (const v of data) sq += (v - mean) ** 2;
  return Math.sqrt(sq / data.length);
}

describe("LocalEngine basics", () => {
  it("declares its capabilities", () => {
    expect(engine.kind).toBe("local");
    expect(engine.supportsEdit).toBe(true);
    expect(engine.maxSourceImages).toBe(2);
  });

  it("is deterministic: same inputs give identical bytes", async () => {
    const a = await engine.generate(request());
    const b = await engine.generate(request());
    expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
  });

  it("gives different bytes for a different seed, prompt or negative prompt", async () => {
    const base = await engine.generate(request());
    const seed = await engine.generate(request({ seed: 43 }));
    const prompt = await engine.generate(request({ prompt: "A sunset over the ocean" }));
    const negative = await engine.generate(request({ negativePrompt: "trees" }));
    expect(Buffer.compare(base.bytes, seed.bytes)).not.toBe(0);
    expect(Buffer.compare(base.bytes, prompt.bytes)).not.toBe(0);
    expect(Buffer.compare(base.bytes, negative.bytes)).not.toBe(0);
  });

  it.each([
    [256, 256],
    [512, 512],
    [1024, 1024],
    [1024, 768],
    [768, 1024],
    [1536, 1024],
    [1024, 1536],
    [2048, 2048],
  ])("renders %ix%i at exactly that size", async (width, height) => {
    const r = await engine.generate(
      request({ width, height, prompt: "A futuristic city with flying cars at sunset" }),
    );
    expect(r.width).toBe(width);
    expect(r.height).toBe(height);
    const meta = await sharp(r.bytes).metadata();
    expect(meta.width).toBe(width);
    expect(meta.height).toBe(height);
  });

  const MAGIC: Record<OutputFormat, (b: Buffer) => boolean> = {
    png: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
    jpeg: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
    webp: (b) =>
      b.subarray(0, 4).toString("latin1") === "RIFF" && b.subarray(8, 12).toString("latin1") === "WEBP",
  };

  it.each(["png", "jpeg", "webp"] as const)("encodes %s with the right magic bytes", async (format) => {
    const r = await engine.generate(request({ format }));
    expect(r.format).toBe(format);
    expect(MAGIC[format](r.bytes)).toBe(true);
    const meta = await sharp(r.bytes).metadata();
    expect(meta.format).toBe(format);
    expect(meta.exif).toBeUndefined();
  });

  it("never returns a blank image, even for a prompt it does not understand", async () => {
    for (const prompt of ["", "qwzx plorb", "the feeling of a long weekend"]) {
      const r = await engine.generate(request({ prompt }));
      const { data } = await rawPixels(r.bytes);
      expect(stdDev(data)).toBeGreaterThan(10);
    }
  });

  it.each([
    "A cute robot in a garden",
    "A magical forest",
    "cyberpunk city at night, neon lights",
    "pixel art castle",
    "watercolor lake with pastel colors",
    "oil painting of a harbour with boats",
    "vintage photo of a house in winter",
    "minimal flat desert with a cactus",
    "black and white photo of a bridge in fog",
    "a stormy sea with a lighthouse and rain",
  ])("renders %s", async (prompt) => {
    const r = await engine.generate(request({ prompt, width: 320, height: 240 }));
    const { data, width, height } = await rawPixels(r.bytes);
    expect([width, height]).toEqual([320, 240]);
    expect(stdDev(data)).toBeGreaterThan(8);
  });

  it("reads words that name an object's own properties as words, not as colours", async () => {
    // A colour lookup on a prompt's words once found Object's constructor for "constructor" and threw.
    for (const prompt of [
      "a wristwatch with a constructor strap",
      "a toString valueOf sky over hasOwnProperty hills",
      "a __proto__ leather watch on marble",
    ]) {
      const r = await engine.generate(request({ prompt }));
      expect(r.bytes.length).toBeGreaterThan(1000);
    }
  });

  it("renders black-and-white prompts in grey", async () => {
    const r = await engine.generate(request({ prompt: "black and white photo of a city skyline" }));
    const { data } = await rawPixels(r.bytes);
    for (let i = 0; i < data.length; i += 3 * 97) {
      expect(data[i]).toBe(data[i + 1]);
      expect(data[i]).toBe(data[i + 2]);
    }
  });

  it("draws pixel art in blocks", async () => {
    const r = await engine.generate(request({ prompt: "pixel art castle", width: 512, height: 512 }));
    const { data } = await rawPixels(r.bytes);
    // 512 / 128 cells = 4 px per cell: pixels inside a cell share a colour.
    for (const [x, y] of [
      [40, 40],
      [200, 300],
      [400, 120],
    ] as const) {
      const cx = x - (x % 4);
      const cy = y - (y % 4);
      const at = (px: number, py: number) => data.subarray((py * 512 + px) * 3, (py * 512 + px) * 3 + 3);
      expect(at(cx + 1, cy + 2)).toEqual(at(cx, cy));
    }
  });

  it("reports progress up to 1", async () => {
    const seen: number[] = [];
    await engine.generate(request({ onProgress: (p) => seen.push(p) }));
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(seen[seen.length - 1]).toBe(1);
  });
});

describe("flat styles", () => {
  it("draw a fading gradient as a wash of its average opacity, not an opaque slab", () => {
    const flat = new Layer("f", true);
    // Fog: clear, then three quarters, then clear again: on average three eighths.
    expect(
      flat.linear([
        [0, "#ffffff", 0],
        [0.5, "#ffffff", 0.75],
        [1, "#ffffff", 0],
      ]),
    ).toBe("rgba(255,255,255,0.38)");
    expect(
      flat.linear([
        [0, "#102030", 0],
        [1, "#102030", 0.45],
      ]),
    ).toBe("rgba(16,32,48,0.23)");
    // Opaque stops stay a plain colour, the middle one.
    expect(
      flat.linear([
        [0, "#000000"],
        [0.5, "#336699"],
        [1, "#ffffff"],
      ]),
    ).toBe("#336699");
  });
});

describe("renderLayers", () => {
  it("scales the soft layer up from its own small size, so its edges come out soft", async () => {
    // A 16 px background, black on the left and white on the right, under an empty foreground.
    const bg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">` +
      `<rect width="8" height="16" fill="#000"/><rect x="8" width="8" height="16" fill="#fff"/></svg>`;
    const fg = `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 16 16"></svg>`;
    const img = await renderLayers(bg, fg, 256, 256);
    expect([img.width, img.height]).toEqual([256, 256]);
    const row = 128 * 256 * 3;
    let between = 0;
    for (let x = 0; x < 256; x++) {
      const v = img.data[row + x * 3] as number;
      if (v > 10 && v < 245) between++;
    }
    // Drawn at 256 px, the edge would be a pixel or two; scaled up 16 times, it ramps over many.
    expect(between).toBeGreaterThan(8);
  });
});

describe("LocalEngine cancellation", () => {
  it("rejects at once when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(engine.generate(request({ signal: controller.signal }))).rejects.toBeInstanceOf(EngineError);
  });

  it("rejects when aborted part way through", async () => {
    const controller = new AbortController();
    const pending = engine.generate(
      request({
        width: 1024,
        height: 1024,
        signal: controller.signal,
        onProgress: (p) => {
          if (p >= 0.1) controller.abort();
        },
      }),
    );
    await expect(pending).rejects.toThrow(/cancel/);
  });

  it("rejects an edit when aborted", async () => {
    const img = await source("green hills");
    const controller = new AbortController();
    controller.abort();
    await expect(
      engine.generate(request({ prompt: "make it winter", images: [img], signal: controller.signal })),
    ).rejects.toBeInstanceOf(EngineError);
  });
});

describe("prompt parsing", () => {
  it("finds subjects, time of day and style", () => {
    const a = parsePrompt("A serene mountain landscape at golden hour");
    expect(a.subjects.has("mountains")).toBe(true);
    expect(a.time).toBe("golden");
    expect(a.timeExplicit).toBe(true);
    expect(a.style).toBe("photo");
    expect(a.serene).toBe(true);

    const b = parsePrompt("A futuristic city with flying cars at sunset");
    expect(b.subjects.has("city")).toBe(true);
    expect(b.subjects.has("flyingCars")).toBe(true);
    expect(b.subjects.has("car")).toBe(false);
    expect(b.futuristic).toBe(true);
    expect(b.time).toBe("sunset");

    const c = parsePrompt("cyberpunk city at night, neon lights");
    expect(c.style).toBe("cyberpunk");
    expect(c.time).toBe("night");
    expect(c.subjects.has("neon")).toBe(true);
    expect(c.palette.neon).toBe(true);

    const d = parsePrompt("watercolor lake with pastel colors");
    expect(d.style).toBe("watercolor");
    expect(d.subjects.has("water")).toBe(true);
    expect(d.palette.pastel).toBe(true);

    const e = parsePrompt("pixel art castle");
    expect(e.style).toBe("pixel");
    expect(e.subjects.has("castle")).toBe(true);

    const f = parsePrompt("A cute robot in a garden");
    expect([...f.subjects].sort()).toEqual(["garden", "robot"]);
    expect(f.time).toBe("day");
    expect(f.timeExplicit).toBe(false);

    const g = parsePrompt("A magical forest");
    expect(g.magical).toBe(true);
    expect(g.subjects.has("forest")).toBe(true);
  });

  it("reads palettes, bound colours, seasons and negations", () => {
    const a = parsePrompt("a red car under a purple sky, black and white, warm");
    expect(a.palette.bound.car).toBe("red");
    expect(a.palette.bound.sky).toBe("purple");
    expect(a.palette.mono).toBe(true);
    expect(a.palette.warmth).toBe(1);

    const b = parsePrompt("an abstract piece in teal and gold");
    expect(b.abstract).toBe(true);
    expect(b.palette.colors).toEqual(["teal", "gold"]);

    const c = parsePrompt("golden hour over snowy mountains without clouds", "people, birds");
    expect(c.palette.colors).not.toContain("gold");
    expect(c.season).toBe("winter");
    expect(c.subjects.has("clouds")).toBe(false);
    expect(c.subjects.has("person")).toBe(false);
    expect(c.subjects.has("snow")).toBe(true);

    expect(parsePrompt("a sunrise over the sea").time).toBe("dawn");
    expect(parsePrompt("a quiet street at midnight").time).toBe("midnight");
    expect(parsePrompt("a vintage sepia photo of a dog").style).toBe("vintage");
    expect(parsePrompt("an oil painting of a cat").style).toBe("oil");
    expect(parsePrompt("minimalist flat poster of hills").style).toBe("minimal");
  });

  it("reads a lighthouse's beam as night, choppy water as rough, and grey as a colour", () => {
    const beam = parsePrompt("A solitary lighthouse beam sweeping across choppy black sea, cinematic");
    expect(beam.time).toBe("night");
    expect(beam.timeExplicit).toBe(false);
    expect(beam.roughWater).toBe(true);
    expect(beam.palette.bound.water).toBe("black");
    // A time the prompt names wins over the inference; a lighthouse without its light is not night.
    expect(parsePrompt("a lighthouse beacon at noon").time).toBe("day");
    expect(parsePrompt("a lighthouse on a cliff").time).toBe("day");
    expect(parsePrompt("a calm lake at dawn").roughWater).toBe(false);
    expect(parsePrompt("waves under a grey sky").palette.bound.sky).toBe("grey");
    expect(parsePrompt("a grayscale photo").palette.bound.sky).toBeUndefined();
  });

  it("draws a lighthouse's beam at night, inside the picture", async () => {
    const mean = async (prompt: string) => {
      const { data } = await rawPixels((await engine.generate(request({ prompt, seed: 3 }))).bytes);
      let sum = 0;
      for (const v of data) sum += v;
      return sum / data.length;
    };
    // The beam makes the scene a night one: far darker than the same lighthouse by day.
    expect(await mean("a lighthouse beam over the sea")).toBeLessThan(
      (await mean("a lighthouse over the sea")) * 0.6,
    );
    // On either side of the picture the beam reaches across it, not off the nearer edge.
    const spec = parsePrompt("a lighthouse at night");
    const W = 1000;
    for (const x of [100, 900]) {
      const fg = new Layer("f", false);
      const ctx = {
        W,
        H: 1000,
        hy: 600,
        spec,
        pal: buildPalette(spec, createRng("beam")),
        rng: createRng("beam"),
        bg: new Layer("b", false),
        fg,
        flat: false,
        light: { x: 500, y: 200 },
        detail: 1,
        reflect: [],
        has: (s: Subject) => spec.subjects.has(s),
      };
      lighthouse(ctx, x, 700, 230);
      const beam = [...fg.render(W, 1000, 100, 100).matchAll(/<path d="M([\d.-]+) [\d.-]+L([\d.-]+) /g)].at(
        -1,
      );
      expect(beam?.[1]).toBe(String(x));
      const far = Number(beam?.[2]);
      expect(far).toBeGreaterThan(0);
      expect(far).toBeLessThan(W);
      expect(Math.abs(far - x)).toBeGreaterThan(400);
    }
  });

  it("plans edits", () => {
    expect(planEdit("make it winter", 1).season).toBe("winter");
    expect(planEdit("make it blue", 1).recolor?.color).toBeDefined();
    expect(planEdit("black and white", 1).gray).toBe(true);
    expect(planEdit("add a rainbow", 1).overlays).toContain("rainbow");
    expect(planEdit("add the moon", 1).overlays).toContain("moon");
    expect(planEdit("add a fox and two sheep", 1).overlays).toEqual(expect.arrayContaining(["fox", "sheep"]));
    expect(planEdit("make the fox look older", 1).overlays).toEqual([]);
    expect(planEdit("turn the house red", 1).overlays).toEqual([]);
    expect(planEdit("do something nice", 1).fallback).toBe(true);
    const combine = planEdit(
      "combine these two images: put the person from image 1 into the background of image 2",
      2,
    );
    expect(combine.combine).toEqual({ mode: "subject", subject: 0 });
    expect(planEdit("put the dog from the second image into the first image", 2).combine).toEqual({
      mode: "subject",
      subject: 1,
    });
    expect(planEdit("blend them", 2).combine?.mode).toBe("blend");
    expect(planEdit("", 2).combine?.mode).toBe("side");
  });
});

describe("LocalEngine edits", () => {
  it("returns the requested size and changes the picture", async () => {
    const img = await source("green hills with a house");
    for (const prompt of [
      "make it winter",
      "make it autumn",
      "add a rainbow",
      "make it night",
      "something else",
    ]) {
      const r = await engine.generate(request({ prompt, images: [img], width: 384, height: 256 }));
      expect([r.width, r.height]).toEqual([384, 256]);
      const out = await rawPixels(r.bytes);
      expect([out.width, out.height]).toEqual([384, 256]);
      const { data: before } = await rawPixels(
        await sharp(img.bytes).resize(384, 256, { fit: "cover" }).png().toBuffer(),
      );
      expect(meanAbsDiff(out.data, before)).toBeGreaterThan(2);
    }
  });

  it("is deterministic", async () => {
    const img = await source("a lake");
    const a = await engine.generate(request({ prompt: "make it rainy", images: [img] }));
    const b = await engine.generate(request({ prompt: "make it rainy", images: [img] }));
    expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
  });

  it("makes black and white images grey", async () => {
    const img = await source("a colourful garden with flowers");
    const r = await engine.generate(
      request({ prompt: "make it black and white", images: [img], format: "png" }),
    );
    const { data } = await rawPixels(r.bytes);
    let coloured = 0;
    for (let i = 0; i < data.length; i += 3 * 31)
      if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) coloured++;
    expect(coloured).toBe(0);
  });

  it("recolours toward the named colour", async () => {
    const img = await source("green hills");
    const r = await engine.generate(request({ prompt: "make it red", images: [img] }));
    const { data } = await rawPixels(r.bytes);
    let red = 0;
    let green = 0;
    for (let i = 0; i < data.length; i += 3) {
      red += data[i] as number;
      green += data[i + 1] as number;
    }
    expect(red).toBeGreaterThan(green);
  });

  it("adds an animal the prompt names, beside the picture's own middle", async () => {
    const img = await source("green hills");
    const r = await engine.generate(request({ prompt: "add a red fox", images: [img] }));
    const { data, width, height } = await rawPixels(r.bytes);
    // Fox-orange in the lower part of the picture, none of it in the middle column.
    let fox = 0;
    let middle = 0;
    for (let y = Math.floor(height * 0.5); y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 3;
        const [r0, g0, b0] = [data[i] as number, data[i + 1] as number, data[i + 2] as number];
        if (r0 > 150 && g0 > 50 && g0 < 130 && b0 < 80) {
          fox++;
          if (Math.abs(x - width / 2) < width * 0.08) middle++;
        }
      }
    }
    expect(fox).toBeGreaterThan(200);
    expect(middle).toBe(0);
  });

  it("combines two images", async () => {
    const subject = await source("a cute robot", 240, 320);
    const background = await source("a sunset over the ocean", 320, 240);
    const prompt = "combine these two images: put the person from image 1 into the background of image 2";
    const r = await engine.generate(
      request({ prompt, images: [subject, background], width: 512, height: 384 }),
    );
    expect([r.width, r.height]).toEqual([512, 384]);
    const out = await rawPixels(r.bytes);
    const bg = await rawPixels(
      await sharp(background.bytes).resize(512, 384, { fit: "cover" }).png().toBuffer(),
    );
    // The top of the frame is the background's; the middle bottom now holds the subject.
    const rowBytes = 512 * 3;
    expect(meanAbsDiff(out.data.subarray(0, rowBytes * 40), bg.data.subarray(0, rowBytes * 40))).toBeLessThan(
      4,
    );
    expect(meanAbsDiff(out.data, bg.data)).toBeGreaterThan(1);

    for (const p of ["blend these two", "side by side"]) {
      const other = await engine.generate(
        request({ prompt: p, images: [subject, background], width: 300, height: 200 }),
      );
      expect([other.width, other.height]).toEqual([300, 200]);
    }
  });

  it("cuts the person out of their picture, leaving its sky, clouds and field behind", async () => {
    // A small figure in a wide field under clouds: the figure alone goes into the other picture.
    const subject = await source("A person standing in a field", 512, 512);
    const background = await source("a sunset over the ocean", 512, 384);
    const prompt = "Combine these two images: put the person from image 1 into the background of image 2";
    const r = await engine.generate(
      request({ prompt, images: [subject, background], width: 512, height: 384 }),
    );
    const out = await rawPixels(r.bytes);
    const bg = await rawPixels(
      await sharp(background.bytes).resize(512, 384, { fit: "cover" }).png().toBuffer(),
    );
    // Where the picture changed (the contact shadow aside): one upright figure in the middle.
    let x0 = 512;
    let x1 = -1;
    let y0 = 384;
    let y1 = -1;
    let changed = 0;
    for (let y = 0; y < 384; y++) {
      for (let x = 0; x < 512; x++) {
        const i = (y * 512 + x) * 3;
        const d = [0, 1, 2].reduce(
          (s, c) => s + Math.abs((out.data[i + c] as number) - (bg.data[i + c] as number)),
          0,
        );
        if (d < 60) continue;
        changed++;
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
    expect(changed).toBeGreaterThan(512 * 384 * 0.01);
    expect(x1 - x0).toBeLessThan(512 * 0.3);
    expect(y1 - y0).toBeGreaterThan((x1 - x0) * 1.5);
    expect((x0 + x1) / 2).toBeGreaterThan(512 * 0.35);
    expect((x0 + x1) / 2).toBeLessThan(512 * 0.65);
  });

  it("takes a figure standing low in its picture as the subject, never a sun over the horizon", async () => {
    const cutOf = async (prompt: string, seed: number) => {
      const r = await engine.generate(request({ prompt, seed, width: 512, height: 512 }));
      const img = await rawPixels(r.bytes);
      return subjectRegion(img, await surroundKey(img, 0.6), await backdropKey(img, 0.6));
    };
    // A small figure in a field: a narrow, upright box low in the frame.
    const person = await cutOf("A person standing in a field", 5);
    expect(person).not.toBeNull();
    expect(person!.h).toBeGreaterThan(person!.w * 1.4);
    expect((person!.y + person!.h) / 512).toBeGreaterThan(0.8);
    // A dark figure against a sunset, which the colour key cannot see: not the sun and its glow instead.
    for (const [prompt, seed] of [
      ["a person standing on a beach at sunset", 3],
      ["a person on a hill at sunset", 1],
    ] as const) {
      const cut = await cutOf(prompt, seed);
      if (cut) expect((cut.y + cut.h) / 512).toBeGreaterThanOrEqual(0.7);
    }
  });

  it("refuses more than two source images", async () => {
    const img = await source("hills");
    await expect(
      engine.generate(request({ prompt: "blend", images: [img, img, img] })),
    ).rejects.toBeInstanceOf(EngineError);
  });
});
