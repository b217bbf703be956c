/** Raster finishing per style: paper and pooling for watercolour, strokes for oil, palette for pixel art. */
import type { Style } from "./prompt.js";
import { applyGrade, fromRaw, noiseSource, toRaw, type Grade, type RawImage } from "./raster.js";

/** Pixel art is drawn on a grid this many cells across its longer side, then scaled up without smoothing. */
export const PIXEL_GRID = 128;

export function pixelGridSize(width: number, height: number): { width: number; height: number } {
  const scale = PIXEL_GRID / Math.max(width, height);
  return { width: Math.max(8, Math.round(width * scale)), height: Math.max(8, Math.round(height * scale)) };
}

/** Snap each channel to a few levels: the limited palette of old consoles. */
export function quantize(img: RawImage, levels: number): void {
  const { data } = img;
  const step = 255 / (levels - 1);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(Math.round((data[i] as number) / step) * step);
}

export async function upscaleNearest(img: RawImage, width: number, height: number): Promise<RawImage> {
  return toRaw(fromRaw(img).resize(width, height, { kernel: "nearest", fit: "fill" }));
}

/**
 * Smooth value noise in [0, 1]: a grid of random values with cells cw x ch, interpolated.
 * Long thin cells read as brush marks, square ones as blotches.
 */
export function valueNoise(
  width: number,
  height: number,
  cw: number,
  ch: number,
  seed: number,
): Float32Array {
  const gw = Math.ceil(width / cw) + 2;
  const gh = Math.ceil(height / ch) + 2;
  const rand = noiseSource(seed);
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = rand();
  const out = new Float32Array(width * height);
  for (let y = 0, p = 0; y < height; y++) {
    const gy = y / ch;
    const y0 = Math.floor(gy);
    const ty = gy - y0;
    const sy = ty * ty * (3 - 2 * ty);
    const row0 = y0 * gw;
    const row1 = row0 + gw;
    for (let x = 0; x < width; x++, p++) {
      const gx = x / cw;
      const x0 = Math.floor(gx);
      const tx = gx - x0;
      const sx = tx * tx * (3 - 2 * tx);
      const a =
        (grid[row0 + x0] as number) + ((grid[row0 + x0 + 1] as number) - (grid[row0 + x0] as number)) * sx;
      const b =
        (grid[row1 + x0] as number) + ((grid[row1 + x0 + 1] as number) - (grid[row1 + x0] as number)) * sx;
      out[p] = a + (b - a) * sy;
    }
  }
  return out;
}

/** A reduced copy (at most half size, at most about 800 px): soft styles are worked small, then scaled up. */
async function reduced(img: RawImage, median: boolean): Promise<RawImage> {
  const factor = Math.max(2, Math.max(img.width, img.height) / 800);
  const w = Math.max(8, Math.round(img.width / factor));
  const h = Math.max(8, Math.round(img.height / factor));
  const s = fromRaw(img).resize(w, h, { fit: "fill", kernel: "linear" });
  return toRaw(median ? s.median(3) : s);
}

/**
 * Watercolour, worked at reduced size (it is soft anyway): a median flattens detail into washes, pigment
 * pools unevenly (blotch noise) and gathers at wash boundaries (found against a wide blur), and the
 * wash stops short of the paper's ragged edge.
 */
async function watercolor(img: RawImage, seed: number): Promise<RawImage> {
  const washes = await reduced(img, true);
  const { width, height } = washes;
  const long = Math.max(width, height);
  const [soft, wide] = await Promise.all([
    toRaw(fromRaw(washes).blur(Math.max(0.6, long / 700))),
    toRaw(fromRaw(washes).blur(Math.max(1.2, long / 160))),
  ]);
  const blot = valueNoise(width, height, long / 22, long / 22, seed);
  const paper = [250, 246, 236] as const;
  const d = soft.data;
  const wd = wide.data;
  const sd = washes.data;
  for (let y = 0, p = 0, i = 0; y < height; y++) {
    const dy = Math.min(y, height - 1 - y);
    for (let x = 0; x < width; x++, p++, i += 3) {
      const lumA = (sd[i] as number) * 0.3 + (sd[i + 1] as number) * 0.59 + (sd[i + 2] as number) * 0.11;
      const lumB = (wd[i] as number) * 0.3 + (wd[i + 1] as number) * 0.59 + (wd[i + 2] as number) * 0.11;
      const edge = Math.min(1, Math.abs(lumA - lumB) / 40);
      const b = blot[p] as number;
      const pool = 0.9 + b * 0.14 + edge * 0.18;
      const margin = long * (0.018 + 0.022 * b);
      const reach = Math.min(x, width - 1 - x, dy);
      const cover =
        reach >= margin ? 1 : reach <= margin * 0.35 ? 0 : (reach - margin * 0.35) / (margin * 0.65);
      for (let c = 0; c < 3; c++) {
        const pc = paper[c] as number;
        const v = (d[i + c] as number) * 0.92 + pc * 0.08;
        const out = pc + (255 - (255 - v) * pool - pc) * cover;
        d[i + c] = out < 0 ? 0 : out > 255 ? 255 : out;
      }
    }
  }
  applyGrade(soft, { saturation: 1.12 });
  // No grain: paper tooth as per-pixel noise would double the PNG size and encode time.
  return toRaw(fromRaw(soft).resize(img.width, img.height, { fit: "fill", kernel: "linear" }));
}

/**
 * Oil: flattened at reduced size into patches of colour, scaled back and sharpened so the patches have
 * edges, then modulated by brush-stroke noise (sideways strokes in some places, upright in others) and
 * a faint canvas weave.
 */
async function oil(img: RawImage, seed: number): Promise<RawImage> {
  const { width, height } = img;
  const long = Math.max(width, height);
  const factor = Math.max(2, long / 340);
  const sw = Math.max(8, Math.round(width / factor));
  const sh = Math.max(8, Math.round(height / factor));
  // sharp runs sharpen after resize whatever the call order, so each step is its own pipeline: sharpening
  // the small copy is cheap, sharpening the full-size one is not.
  const small = await toRaw(fromRaw(img).resize(sw, sh, { fit: "fill", kernel: "linear" }).median(3));
  const crisp = await toRaw(fromRaw(small).sharpen({ sigma: 1, m2: 2 }));
  const painted = await toRaw(fromRaw(crisp).resize(width, height, { fit: "fill", kernel: "linear" }));
  // Stroke fields at half size, sampled nearest: they are smooth, so no one can tell.
  const hw = Math.ceil(width / 2);
  const hh = Math.ceil(height / 2);
  const cellLong = long / 28;
  const cellShort = long / 320;
  const across = valueNoise(hw, hh, cellShort, cellLong, seed);
  const down = valueNoise(hw, hh, cellLong, cellShort, seed ^ 0x27d4eb2d);
  const which = valueNoise(hw, hh, long / 20, long / 20, seed ^ 0x165667b1);
  const d = new Uint8ClampedArray(painted.data.buffer, painted.data.byteOffset, painted.data.length);
  const f = (2 * Math.PI) / Math.max(3, Math.round(long / 256) * 3);
  const weaveX = new Float32Array(width);
  for (let x = 0; x < width; x++) weaveX[x] = Math.sin(x * f);
  for (let y = 0, i = 0; y < height; y++) {
    const sy = 0.03 * Math.sin(y * f);
    const row = (y >> 1) * hw;
    for (let x = 0; x < width; x++, i += 3) {
      const q = row + (x >> 1);
      const k = which[q] as number;
      const stroke = (across[q] as number) * k + (down[q] as number) * (1 - k) - 0.5;
      const m = 1 + (weaveX[x] as number) * sy + stroke * 0.18;
      d[i] = (d[i] as number) * m;
      d[i + 1] = (d[i + 1] as number) * m;
      d[i + 2] = (d[i + 2] as number) * m;
    }
  }
  applyGrade(painted, { saturation: 1.15, contrast: 1.05, vignette: 0.25 });
  return painted;
}

const FINISH: Partial<Record<Style, Grade>> = {
  photo: { vignette: 0.35, contrast: 1.03 },
  cyberpunk: { contrast: 1.1, saturation: 1.2, vignette: 0.55, lift: [8, 0, 10] },
  vintage: { sepia: true, fade: 0.08, vignette: 0.7, grain: 0.07, contrast: 0.95 },
};

/** Finishes a rendered (or edited) image in a style. Pixel art upscaling is the caller's business. */
export async function finish(img: RawImage, style: Style, seed: number, mono: boolean): Promise<RawImage> {
  let out = img;
  if (style === "watercolor") out = await watercolor(img, seed);
  else if (style === "oil") out = await oil(img, seed);
  const grade: Grade = { ...(FINISH[style] ?? {}), seed };
  if (mono) {
    grade.gray = true;
    grade.sepia = false;
    grade.contrast = (grade.contrast ?? 1) * 1.08;
  }
  if (Object.keys(grade).length > 1) applyGrade(out, grade);
  return out;
}
