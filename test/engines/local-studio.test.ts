import sharp from "sharp";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LocalEngine } from "../../src/engines/local/index.js";
import { parsePrompt } from "../../src/engines/local/prompt.js";
import { composeStudio } from "../../src/engines/local/studio.js";
import type { EngineRequest } from "../../src/engines/types.js";
import { engineRequest } from "../helpers/engines.js";

// The studio composer, spied on but still drawing: tells a studio render from a landscape without
// comparing bytes against a stored hash.
vi.mock("../../src/engines/local/studio.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/engines/local/studio.js")>();
  return { ...original, composeStudio: vi.fn(original.composeStudio) };
});
const studioCalls = vi.mocked(composeStudio);

const engine = new LocalEngine();

const request = (overrides: Partial<EngineRequest> = {}): EngineRequest =>
  engineRequest({ prompt: "A cinematic product photo of premium headphones on marble", ...overrides });

interface Pixels {
  data: Buffer;
  width: number;
  height: number;
}

async function render(overrides: Partial<EngineRequest> = {}): Promise<Pixels> {
  const r = await engine.generate(request(overrides));
  const { data, info } = await sharp(r.bytes)
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Mean luminance, mean saturation and mean horizontal step between neighbours over a region (fractions of the frame). */
function stats(img: Pixels, x0: number, y0: number, x1: number, y1: number) {
  let lum = 0;
  let sat = 0;
  let step = 0;
  let count = 0;
  const xa = Math.floor(x0 * img.width);
  const xb = Math.floor(x1 * img.width);
  for (let y = Math.floor(y0 * img.height); y < Math.floor(y1 * img.height); y++)
    for (let x = xa; x < xb; x++) {
      const i = (y * img.width + x) * 3;
      const r = img.data[i] as number;
      const g = img.data[i + 1] as number;
      const b = img.data[i + 2] as number;
      const max = Math.max(r, g, b);
      lum += 0.299 * r + 0.587 * g + 0.114 * b;
      sat += max ? (max - Math.min(r, g, b)) / max : 0;
      if (x + 1 < xb)
        step +=
          Math.abs((img.data[i + 3] as number) - r) +
          Math.abs((img.data[i + 4] as number) - g) +
          Math.abs((img.data[i + 5] as number) - b);
      count++;
    }
  return { lum: lum / count, sat: sat / count, step: step / count };
}

/** The share of a region's pixels that pass a colour test. */
function share(
  img: Pixels,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  test: (r: number, g: number, b: number) => boolean,
): number {
  let hits = 0;
  let count = 0;
  for (let y = Math.floor(y0 * img.height); y < Math.floor(y1 * img.height); y++)
    for (let x = Math.floor(x0 * img.width); x < Math.floor(x1 * img.width); x++) {
      const i = (y * img.width + x) * 3;
      if (test(img.data[i] as number, img.data[i + 1] as number, img.data[i + 2] as number)) hits++;
      count++;
    }
  return hits / count;
}

const LANDSCAPES = [
  "A serene mountain landscape at golden hour",
  "A futuristic city at night",
  "A cute robot in a garden",
];

describe("product prompts", () => {
  it.each([
    ["A cinematic product photo of premium headphones on marble", "headphones", "marble"],
    ["A gold wristwatch on black velvet, luxury product shot", "watch", "fabric"],
    ["Red sneakers on a concrete floor, studio lighting", "sneakers", "concrete"],
    ["A perfume bottle on a white background, minimal", "perfume", "sweep"],
    ["A cup of coffee on a wooden table in the morning", "cup", "wood"],
    ["A smartphone product shot", "phone", "sweep"],
    ["A vintage camera on a desk", "camera", "wood"],
    ["A vase of tulips, still life, oil painting", "vase", "sweep"],
    ["A product photo", "box", "sweep"],
    ["A coffee mug on a desk", "mug", "wood"],
    ["A lamp on a coffee table", "lamp", "wood"],
    ["A bottle of red wine, studio", "wine", "sweep"],
    ["A cold beer, product shot", "beer", "sweep"],
    ["Skincare serum product photo", "skincare", "sweep"],
    ["A gift box", "box", "sweep"],
    ["Flowers on a table", "vase", "wood"],
    ["A pair of headphones", "headphones", "sweep"],
  ])("reads %s as %s on %s", (prompt, product, surface) => {
    const spec = parsePrompt(prompt);
    expect(spec.product).toBe(product);
    expect(spec.surface).toBe(surface);
  });

  it("binds colours to the object, the surface and the backdrop", () => {
    expect(parsePrompt("Red sneakers on a concrete floor").studioColors).toEqual({
      product: "red",
      surface: null,
      backdrop: null,
    });
    expect(parsePrompt("A gold wristwatch on black velvet, luxury product shot").studioColors).toEqual({
      product: "gold",
      surface: "black",
      backdrop: null,
    });
    expect(parsePrompt("A perfume bottle on a white background").studioColors.backdrop).toBe("white");
    // A colour ends at its phrase: the concrete is not red.
    expect(parsePrompt("red sneakers on concrete").studioColors.surface).toBeNull();
  });

  it.each([
    ...LANDSCAPES,
    "A bottle floating in the ocean",
    "watch the sunset over the sea",
    "A studio apartment overlooking the city",
    "A Studio Ghibli forest",
    "A cat on a table",
    "A red car, studio lighting",
    "A person holding a camera in the mountains",
    "A lantern in a dark forest",
    "A watch tower on a hill",
    "",
  ])("leaves %j a scene", (prompt) => {
    const spec = parsePrompt(prompt);
    expect(spec.product).toBeNull();
    expect(spec.surface).toBeNull();
  });

  it("honours negations and the negative prompt", () => {
    expect(parsePrompt("A product photo of a watch", "watch").product).toBe("box");
    expect(parsePrompt("headphones on marble, no marble").surface).not.toBe("marble");
  });
});

describe("studio renders", () => {
  afterEach(() => studioCalls.mockClear());

  it("draws landscapes without the studio, and product shots with it", async () => {
    for (const prompt of LANDSCAPES) await render({ prompt });
    expect(studioCalls).not.toHaveBeenCalled();
    await render();
    expect(studioCalls).toHaveBeenCalledTimes(1);
  });

  it("keeps landscape renders as they were: a saturated sky, not a studio backdrop", async () => {
    for (const prompt of LANDSCAPES) {
      const top = stats(await render({ prompt }), 0, 0, 1, 0.2);
      expect(top.sat).toBeGreaterThan(0.2);
    }
  });

  it("is deterministic", async () => {
    const a = await engine.generate(request());
    const b = await engine.generate(request());
    expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
  });

  it("puts a smooth, dark, neutral backdrop behind a cinematic product", async () => {
    const top = stats(await render(), 0, 0, 1, 0.2);
    expect(top.sat).toBeLessThan(0.15);
    expect(top.step).toBeLessThan(1.6);
    expect(top.lum).toBeLessThan(70);
  });

  it("brightens the set for a minimal white background", async () => {
    const img = await render({ prompt: "A perfume bottle on a white background, minimal" });
    expect(stats(img, 0, 0, 1, 0.2).lum).toBeGreaterThan(220);
    // The bottle stands out from the set in the middle of the frame.
    expect(
      share(img, 0.3, 0.3, 0.7, 0.8, (r, g, b) => Math.max(r, g, b) - Math.min(r, g, b) > 25),
    ).toBeGreaterThan(0.2);
  });

  it("lays marble below the horizon: bright and nearly grey on either side of the object", async () => {
    const img = await render();
    for (const [x0, x1] of [
      [0, 0.22],
      [0.78, 1],
    ] as const) {
      const floor = stats(img, x0, 0.72, x1, 0.88);
      expect(floor.lum).toBeGreaterThan(150);
      expect(floor.sat).toBeLessThan(0.08);
    }
    // ...and the backdrop above it is far darker: the horizon is there.
    expect(stats(img, 0, 0.45, 0.15, 0.55).lum).toBeLessThan(110);
  });

  it("paints the object in the colour the prompt binds to it", async () => {
    const red = (r: number, g: number, b: number) => r > 140 && r > g * 1.8 && r > b * 1.8;
    const sneakers = await render({ prompt: "Red sneakers on a concrete floor, studio lighting" });
    expect(share(sneakers, 0.2, 0.45, 0.8, 0.85, red)).toBeGreaterThan(0.1);
    expect(share(sneakers, 0, 0, 1, 0.3, red)).toBe(0);
    const gold = (r: number, g: number, b: number) => r > 150 && g > 100 && b < g * 0.7 && r > b * 1.6;
    const watch = await render({ prompt: "A gold wristwatch on black velvet, luxury product shot" });
    expect(share(watch, 0.35, 0.2, 0.65, 0.85, gold)).toBeGreaterThan(0.1);
  });

  it.each([
    ["A camera on a desk", 384, 256],
    ["A smartphone product shot", 256, 384],
    ["A cup of coffee on a wooden table in the morning", 256, 256],
  ])("centres %s at %ix%i", async (prompt, width, height) => {
    const img = await render({ prompt, width, height });
    expect([img.width, img.height]).toEqual([width, height]);
    // The middle holds the object's detail; the top corners are plain backdrop.
    const middle = stats(img, 0.35, 0.35, 0.65, 0.75).step;
    expect(middle).toBeGreaterThan(
      3 * Math.max(stats(img, 0, 0, 0.15, 0.15).step, stats(img, 0.85, 0, 1, 0.15).step),
    );
  });

  it("finishes in the prompt's style", async () => {
    const gray = await render({ prompt: "A black and white product photo of headphones" });
    for (let i = 0; i < gray.data.length; i += 3 * 97) {
      expect(gray.data[i]).toBe(gray.data[i + 1]);
      expect(gray.data[i]).toBe(gray.data[i + 2]);
    }
    const pixel = await render({ prompt: "Pixel art red sneakers, product shot" });
    // 256 / 128 cells = 2 px per cell.
    for (const [x, y] of [
      [60, 180],
      [128, 150],
      [200, 40],
    ] as const) {
      const at = (px: number, py: number) =>
        pixel.data.subarray((py * 256 + px) * 3, (py * 256 + px) * 3 + 3);
      expect(at(x + 1, y + 1)).toEqual(at(x, y));
    }
    for (const prompt of [
      "A watercolor painting of a perfume bottle",
      "A minimal product shot of a gold watch",
      "A vintage camera, sepia product photo",
      "An oil painting of a vase of roses, still life",
    ]) {
      const img = await render({ prompt });
      expect(stats(img, 0.3, 0.3, 0.7, 0.8).step).toBeGreaterThan(1);
    }
  });
});
