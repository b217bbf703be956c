/** Raw-pixel helpers shared by generation and editing: the sharp round trips and the per-pixel passes. */
import sharp, { type Sharp, type SharpOptions } from "sharp";
import type { OutputFormat } from "../types.js";

/** An interleaved 8-bit RGB image. */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
}

export const rawInput = (img: RawImage): SharpOptions => ({
  raw: { width: img.width, height: img.height, channels: 3 },
});

export async function toRaw(pipeline: Sharp): Promise<RawImage> {
  const { data, info } = await pipeline
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
  return { data, width: info.width, height: info.height };
}

export const fromRaw = (img: RawImage): Sharp => sharp(img.data, rawInput(img));

/**
 * Rasterizes the soft background small and scales it up, and the foreground at full size, on separate
 * threads, then lays one over the other here: quicker than a sharp composite of an SVG input.
 */
export async function renderLayers(
  bgSvg: string,
  fgSvg: string,
  width: number,
  height: number,
): Promise<RawImage> {
  const [bg, fg] = await Promise.all([
    // Rasterized at its own small size, then scaled up as pixels: in one pipeline libvips would render
    // the SVG again for each part of the scaled image it reads (measured: twice the time at 1024 px).
    toRaw(sharp(Buffer.from(bgSvg))).then((small) =>
      toRaw(fromRaw(small).resize(width, height, { fit: "fill", kernel: "linear" })),
    ),
    renderRgba(fgSvg, width, height, false),
  ]);
  blendOver(bg, fg);
  return bg;
}

/** An SVG as straight-alpha RGBA at exactly width x height (scaled up from its own size if smaller). */
export async function renderRgba(
  svg: string,
  width: number,
  height: number,
  scale: boolean,
): Promise<Buffer> {
  let s = sharp(Buffer.from(svg));
  if (scale) s = s.resize(width, height, { fit: "fill", kernel: "linear" });
  const { data, info } = await s.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 4)
    throw new Error(`layer rendered as ${info.width}x${info.height}x${info.channels}`);
  return data;
}

/** Alpha-blends a straight-alpha RGBA layer (as sharp hands it back) over an RGB image, in place. */
export function blendOver(img: RawImage, rgba: Buffer): void {
  const out = img.data;
  const f = rgba;
  for (let i = 0, j = 0; i < out.length; i += 3, j += 4) {
    const a = f[j + 3] as number;
    if (a === 0) continue;
    if (a === 255) {
      out[i] = f[j] as number;
      out[i + 1] = f[j + 1] as number;
      out[i + 2] = f[j + 2] as number;
    } else {
      const ia = 255 - a;
      out[i] = ((f[j] as number) * a + (out[i] as number) * ia + 127) / 255;
      out[i + 1] = ((f[j + 1] as number) * a + (out[i + 1] as number) * ia + 127) / 255;
      out[i + 2] = ((f[j + 2] as number) * a + (out[i + 2] as number) * ia + 127) / 255;
    }
  }
}

export async function encode(img: RawImage, format: OutputFormat): Promise<Buffer> {
  const s = fromRaw(img);
  if (format === "png") return s.png({ compressionLevel: 6 }).toBuffer();
  if (format === "jpeg") return s.jpeg({ quality: 90 }).toBuffer();
  // effort 2 keeps WebP encoding within a few times JPEG's cost at large sizes.
  return s.webp({ quality: 90, effort: 2 }).toBuffer();
}

/** A fast seeded generator for per-pixel noise (mulberry32), where the object-based Rng would be too slow. */
export function noiseSource(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Separable vignette weights: darkening toward the corners by up to `strength`. */
export function vignetteWeights(
  width: number,
  height: number,
  strength: number,
): { wx: Float32Array; wy: Float32Array } {
  const wx = new Float32Array(width);
  const wy = new Float32Array(height);
  for (let x = 0; x < width; x++) {
    const d = (x / (width - 1 || 1)) * 2 - 1;
    wx[x] = strength ? 1 - strength * Math.pow(Math.abs(d), 2.4) * 0.6 : 1;
  }
  for (let y = 0; y < height; y++) {
    const d = (y / (height - 1 || 1)) * 2 - 1;
    wy[y] = strength ? 1 - strength * Math.pow(Math.abs(d), 2.4) * 0.6 : 1;
  }
  return { wx, wy };
}

export interface Grade {
  /** Multiplier on every channel. */
  brightness?: number;
  /** Around mid grey. */
  contrast?: number;
  saturation?: number;
  /** Added per channel after the other steps (a colour cast), -255..255. */
  lift?: [number, number, number];
  /** Lifts the black point, as film fade does, 0..1. */
  fade?: number;
  vignette?: number;
  grain?: number;
  sepia?: boolean;
  gray?: boolean;
  seed?: number;
}

/** One pass over the pixels applying a colour grade; all steps are optional. */
export function applyGrade(img: RawImage, g: Grade): void {
  const { data, width, height } = img;
  // A clamped view rounds and clips on store, which keeps the loop free of range checks.
  const px = new Uint8ClampedArray(data.buffer, data.byteOffset, data.length);
  const b = g.brightness ?? 1;
  const c = g.contrast ?? 1;
  const fadeK = 1 - (g.fade ?? 0);
  const fadeA = (g.fade ?? 0) * 255;
  const tone = new Float32Array(256);
  for (let v = 0; v < 256; v++) tone[v] = (v * b - 128) * c + 128;
  const s = g.saturation ?? 1;
  const mode = g.sepia ? 2 : g.gray ? 1 : s !== 1 ? 3 : 0;
  const [lr, lg, lb] = g.lift ?? [0, 0, 0];
  const grain = (g.grain ?? 0) * 255;
  const v = vignetteWeights(width, height, g.vignette ?? 0);
  const wx = v.wx;
  let seed = (g.seed ?? 1) | 1;
  let i = 0;
  for (let y = 0; y < height; y++) {
    const vy = v.wy[y] as number;
    for (let x = 0; x < width; x++, i += 3) {
      let r = tone[px[i] as number] as number;
      let gr = tone[px[i + 1] as number] as number;
      let bl = tone[px[i + 2] as number] as number;
      if (mode !== 0) {
        const l = 0.299 * r + 0.587 * gr + 0.114 * bl;
        if (mode === 1) {
          r = l;
          gr = l;
          bl = l;
        } else if (mode === 2) {
          r = l * 1.07 + 18;
          gr = l * 0.93 + 8;
          bl = l * 0.72;
        } else {
          r = l + (r - l) * s;
          gr = l + (gr - l) * s;
          bl = l + (bl - l) * s;
        }
      }
      const w = (wx[x] as number) * vy * fadeK;
      r = (r + lr) * w + fadeA;
      gr = (gr + lg) * w + fadeA;
      bl = (bl + lb) * w + fadeA;
      if (grain !== 0) {
        // xorshift inline: a closure call per pixel costs more than the rest of the loop.
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        const nz = (seed / 4294967296) * grain;
        r += nz;
        gr += nz;
        bl += nz;
      }
      px[i] = r;
      // Gray must stay exactly gray: one value for all three channels.
      px[i + 1] = mode === 1 ? r : gr;
      px[i + 2] = mode === 1 ? r : bl;
    }
  }
}
