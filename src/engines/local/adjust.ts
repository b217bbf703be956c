/** Per-pixel adjustments used by edits: recolouring, seasonal hue shifts, gradients over the frame. */
import { parseHex, rgbToHsl } from "./color.js";
import { fromRaw, toRaw, type RawImage } from "./raster.js";

const clampView = (img: RawImage): Uint8ClampedArray =>
  new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length);

/** RGB (0..255) to hue (degrees), saturation and value (0..1), written into out. */
function toHsv(r: number, g: number, b: number, out: Float64Array): void {
  const max = r > g ? (r > b ? r : b) : g > b ? g : b;
  const min = r < g ? (r < b ? r : b) : g < b ? g : b;
  const d = max - min;
  let h = 0;
  if (d > 0) {
    if (max === r) h = ((g - b) / d) % 6;
    else if (max === g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
    h *= 60;
    if (h < 0) h += 360;
  }
  out[0] = h;
  out[1] = max === 0 ? 0 : d / max;
  out[2] = max / 255;
}

function fromHsv(h: number, s: number, v: number, out: Float64Array): void {
  const c = v * s;
  const hh = (((h % 360) + 360) % 360) / 60;
  const x = c * (1 - Math.abs((hh % 2) - 1));
  const m = v - c;
  const k = Math.floor(hh);
  // Which channel carries c, which x, and which nothing, for each sixth of the hue circle.
  const r = k === 0 || k === 5 ? c : k === 1 || k === 4 ? x : 0;
  const g = k === 1 || k === 2 ? c : k === 0 || k === 3 ? x : 0;
  const b = k === 3 || k === 4 ? c : k === 2 || k === 5 ? x : 0;
  out[0] = (r + m) * 255;
  out[1] = (g + m) * 255;
  out[2] = (b + m) * 255;
}

/**
 * Recolour toward a named colour: hues move to the target, greys pick up a tint, lightness stays, so
 * the picture still reads. With skyOnly the effect fades out down the frame.
 */
export function recolor(img: RawImage, color: string, amount: number, skyOnly: boolean): void {
  const px = clampView(img);
  const [th, ts] = rgbToHsl(parseHex(color));
  const hsv = new Float64Array(3);
  const rgb = new Float64Array(3);
  const { width, height } = img;
  for (let y = 0, i = 0; y < height; y++) {
    const rowWeight = skyOnly ? Math.max(0, Math.min(1, 1.6 - (y / height) * 2.6)) : 1;
    for (let x = 0; x < width; x++, i += 3) {
      if (rowWeight <= 0) continue;
      const r = px[i] as number;
      const g = px[i + 1] as number;
      const b = px[i + 2] as number;
      toHsv(r, g, b, hsv);
      const s = hsv[1] as number;
      const v = hsv[2] as number;
      // Sky-only: act on the blue-ish and bright pixels, leave the land alone.
      const hue = hsv[0] as number;
      const skyLike = skyOnly ? (hue > 170 && hue < 260 ? 1 : v > 0.75 && s < 0.25 ? 0.8 : 0.15) : 1;
      const k = amount * rowWeight * skyLike;
      fromHsv(th, Math.max(s, ts * 0.55), v, rgb);
      px[i] = r + ((rgb[0] as number) - r) * k;
      px[i + 1] = g + ((rgb[1] as number) - g) * k;
      px[i + 2] = b + ((rgb[2] as number) - b) * k;
    }
  }
}

/** Seasonal foliage: greens turn orange and red in autumn, fresher and lighter in spring. */
export function seasonalFoliage(img: RawImage, season: "autumn" | "spring", seed: number): void {
  const px = clampView(img);
  const hsv = new Float64Array(3);
  const rgb = new Float64Array(3);
  let state = seed | 1;
  for (let i = 0; i < px.length; i += 3) {
    const r = px[i] as number;
    const g = px[i + 1] as number;
    const b = px[i + 2] as number;
    toHsv(r, g, b, hsv);
    const h = hsv[0] as number;
    const s = hsv[1] as number;
    if (h < 45 || h > 190 || s < 0.08) continue;
    // Strongest in the middle of the green band.
    const k = Math.min(1, (h - 45) / 25, (190 - h) / 30) * Math.min(1, s * 4);
    if (season === "autumn") {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const target = 18 + ((state >>> 0) % 26);
      fromHsv(target, Math.min(1, s * 1.35 + 0.1), (hsv[2] as number) * 1.05, rgb);
    } else fromHsv(h - 8, Math.min(1, s * 1.2), Math.min(1, (hsv[2] as number) * 1.1), rgb);
    const kk = season === "autumn" ? k * 0.85 : k * 0.6;
    px[i] = r + ((rgb[0] as number) - r) * kk;
    px[i + 1] = g + ((rgb[1] as number) - g) * kk;
    px[i + 2] = b + ((rgb[2] as number) - b) * kk;
  }
}

/**
 * Blend toward a colour by an amount that varies down the frame (0 at the top ... 1 at the bottom):
 * dark skies at night, warm skies at sunset, fog low down, snow lying on the ground.
 * mode "multiply" darkens toward the colour, "mix" paints it over.
 */
export function verticalWash(
  img: RawImage,
  color: string,
  amountAt: (t: number) => number,
  mode: "mix" | "multiply" | "screen",
): void {
  const px = clampView(img);
  const [cr, cg, cb] = parseHex(color);
  const { width, height } = img;
  for (let y = 0, i = 0; y < height; y++) {
    const k = Math.max(0, Math.min(1, amountAt(y / Math.max(1, height - 1))));
    if (k === 0) {
      i += width * 3;
      continue;
    }
    for (let x = 0; x < width; x++, i += 3) {
      for (let c = 0; c < 3; c++) {
        const v = px[i + c] as number;
        const t = c === 0 ? cr : c === 1 ? cg : cb;
        const target =
          mode === "mix" ? t : mode === "multiply" ? (v * t) / 255 : 255 - ((255 - v) * (255 - t)) / 255;
        px[i + c] = v + (target - v) * k;
      }
    }
  }
}

/** Snow settles on surfaces that face up: brighten light, low-saturation pixels in the lower frame. */
export function settleSnow(img: RawImage): void {
  const px = clampView(img);
  const { width, height } = img;
  for (let y = 0, i = 0; y < height; y++) {
    const low = Math.max(0, (y / height - 0.45) / 0.55);
    for (let x = 0; x < width; x++, i += 3) {
      const r = px[i] as number;
      const g = px[i + 1] as number;
      const b = px[i + 2] as number;
      const l = 0.3 * r + 0.59 * g + 0.11 * b;
      // Greens and browns (the ground) whiten most; the brightest parts are already light.
      const ground = g >= b ? 1 : 0.5;
      const k = Math.min(0.85, low * ground * (0.35 + (l / 255) * 0.6));
      px[i] = r + (245 - r) * k;
      px[i + 1] = g + (248 - g) * k;
      px[i + 2] = b + (255 - b) * k;
    }
  }
}

export function invert(img: RawImage): void {
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] = 255 - (d[i] as number);
}

/** A soft glow: a blurred copy screened over the image. */
export async function bloom(img: RawImage, strength: number): Promise<RawImage> {
  const blurred = await toRaw(fromRaw(img).blur(Math.max(1, Math.max(img.width, img.height) / 90)));
  const px = clampView(img);
  const bd = blurred.data;
  for (let i = 0; i < px.length; i++) {
    const a = px[i] as number;
    const b = bd[i] as number;
    px[i] = a + (255 - ((255 - a) * (255 - b)) / 255 - a) * strength;
  }
  return img;
}
