/** Loading source images and putting two of them together: subject into scene, blend, or side by side. */
import sharp from "sharp";
import type { SourceImage } from "../types.js";
import type { CombinePlan } from "./edit-plan.js";
import { toRaw, type RawImage } from "./raster.js";

/** Decode, honour EXIF orientation, drop transparency onto white, and cover the requested size. */
export function loadCover(src: SourceImage, width: number, height: number): Promise<RawImage> {
  return toRaw(
    sharp(src.bytes)
      .rotate()
      .flatten({ background: "#ffffff" })
      .resize(width, height, { fit: "cover", position: "centre" }),
  );
}

function loadInside(src: SourceImage, maxW: number, maxH: number): Promise<RawImage> {
  return toRaw(
    sharp(src.bytes)
      .rotate()
      .flatten({ background: "#ffffff" })
      .resize(Math.max(1, Math.round(maxW)), Math.max(1, Math.round(maxH)), { fit: "inside" }),
  );
}

function mean(img: RawImage): [number, number, number] {
  const d = img.data;
  let r = 0;
  let g = 0;
  let b = 0;
  // Every 7th pixel is plenty for an average, and keeps this cheap at 2048 px.
  let n = 0;
  for (let i = 0; i < d.length; i += 21) {
    r += d[i] as number;
    g += d[i + 1] as number;
    b += d[i + 2] as number;
    n++;
  }
  return [r / n, g / n, b / n];
}

/**
 * The subject image, scaled to about 55% of the height, stands centred in the lower part of the
 * background, faded out through a soft ellipse so its own backdrop melts away, nudged toward the
 * background's colour so the light matches, with a contact shadow under it.
 */
async function subjectInto(
  subjectSrc: SourceImage,
  bgSrc: SourceImage,
  W: number,
  H: number,
): Promise<RawImage> {
  const [bg, subject] = await Promise.all([
    loadCover(bgSrc, W, H),
    loadInside(subjectSrc, W * 0.62, H * 0.55),
  ]);
  const sw = subject.width;
  const sh = subject.height;
  const left = Math.round((W - sw) / 2);
  const top = Math.round(H * 0.96 - sh);
  const bgMean = mean(bg);
  const subMean = mean(subject);
  const shift = bgMean.map((v, c) => (v - (subMean[c] as number)) * 0.25);
  const out = bg.data;
  const sd = subject.data;
  const shadowY = top + sh * 0.97;
  const cx = left + sw / 2;
  // Contact shadow first, then the subject over it.
  for (let y = Math.max(0, Math.floor(shadowY - sh * 0.06)); y < Math.min(H, shadowY + sh * 0.06); y++) {
    for (let x = Math.max(0, Math.floor(cx - sw * 0.45)); x < Math.min(W, cx + sw * 0.45); x++) {
      const dx = (x - cx) / (sw * 0.45);
      const dy = (y - shadowY) / (sh * 0.06);
      const d = dx * dx + dy * dy;
      if (d >= 1) continue;
      const k = 1 - 0.35 * (1 - d);
      const i = (y * W + x) * 3;
      out[i] = (out[i] as number) * k;
      out[i + 1] = (out[i + 1] as number) * k;
      out[i + 2] = (out[i + 2] as number) * k;
    }
  }
  const key = await backdropKey(subject);
  for (let y = 0; y < sh; y++) {
    const oy = top + y;
    if (oy < 0 || oy >= H) continue;
    const ny = (y + 0.5) / sh - 0.5;
    for (let x = 0; x < sw; x++) {
      const ox = left + x;
      if (ox < 0 || ox >= W) continue;
      const nx = (x + 0.5) / sw - 0.5;
      // Elliptical feather: solid inside 60% of the radius, fading to nothing at the edge.
      const r = Math.sqrt(nx * nx + ny * ny) * 2;
      const a = r <= 0.6 ? 1 : r >= 1 ? 0 : 1 - (r - 0.6) / 0.4;
      if (a === 0) continue;
      const alpha = a * a * (3 - 2 * a) * ((key[y * sw + x] as number) / 255);
      if (alpha === 0) continue;
      const si = (y * sw + x) * 3;
      const oi = (oy * W + ox) * 3;
      for (let c = 0; c < 3; c++) {
        const v = Math.min(255, Math.max(0, (sd[si + c] as number) + (shift[c] as number)));
        out[oi + c] = v * alpha + (out[oi + c] as number) * (1 - alpha);
      }
    }
  }
  return bg;
}

/**
 * A rough matte: pixels close in colour to the image's own border (compared row by row, so a sky
 * gradient counts as backdrop) fade out. Blurred, so it has no speckle; 255 keeps, 0 drops.
 */
async function backdropKey(img: RawImage): Promise<Buffer> {
  const { width: w, height: h, data } = img;
  const edge = Math.max(1, Math.round(Math.min(w, h) * 0.02));
  const sample = (x0: number, y: number): [number, number, number] => {
    let r = 0;
    let g = 0;
    let b = 0;
    for (let x = x0; x < x0 + edge; x++) {
      const i = (y * w + x) * 3;
      r += data[i] as number;
      g += data[i + 1] as number;
      b += data[i + 2] as number;
    }
    return [r / edge, g / edge, b / edge];
  };
  const mask = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) {
    const left = sample(0, y);
    const right = sample(w - edge, y);
    for (let x = 0; x < w; x++) {
      const t = x / Math.max(1, w - 1);
      const i = (y * w + x) * 3;
      // Hue matters more than brightness: lens vignetting and soft light change the latter.
      const rr = (left[0] as number) * (1 - t) + (right[0] as number) * t;
      const rg = (left[1] as number) * (1 - t) + (right[1] as number) * t;
      const rb = (left[2] as number) * (1 - t) + (right[2] as number) * t;
      const r = data[i] as number;
      const g = data[i + 1] as number;
      const b = data[i + 2] as number;
      const l = (r + g + b) / 3;
      const rl = (rr + rg + rb) / 3;
      const d =
        Math.abs(r - l - (rr - rl)) +
        Math.abs(g - l - (rg - rl)) +
        Math.abs(b - l - (rb - rl)) +
        0.35 * Math.abs(l - rl);
      const k = Math.min(1, Math.max(0, (d - 22) / 45));
      mask[y * w + x] = Math.round(k * k * (3 - 2 * k) * 255);
    }
  }
  return sharp(mask, { raw: { width: w, height: h, channels: 1 } })
    .blur(Math.max(0.8, Math.min(w, h) / 150))
    .extractChannel(0)
    .raw()
    .toBuffer();
}

async function blend(a: SourceImage, b: SourceImage, W: number, H: number): Promise<RawImage> {
  const [x, y] = await Promise.all([loadCover(a, W, H), loadCover(b, W, H)]);
  const out = x.data;
  const yd = y.data;
  // A double exposure: a lighten-leaning mix keeps the brighter detail of both.
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    const q = yd[i] as number;
    const screen = 255 - ((255 - p) * (255 - q)) / 255;
    out[i] = (p + q) * 0.3 + screen * 0.4;
  }
  return x;
}

async function sideBySide(a: SourceImage, b: SourceImage, W: number, H: number): Promise<RawImage> {
  const across = W >= H;
  const feather = Math.round((across ? W : H) * 0.04);
  const halfW = across ? Math.ceil(W / 2) + feather : W;
  const halfH = across ? H : Math.ceil(H / 2) + feather;
  const [first, second] = await Promise.all([loadCover(a, halfW, halfH), loadCover(b, halfW, halfH)]);
  const out = Buffer.alloc(W * H * 3);
  const mid = (across ? W : H) / 2;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const pos = across ? x : y;
      // Weight of the second image across a soft seam.
      const t = Math.min(1, Math.max(0, (pos - (mid - feather)) / (2 * feather)));
      const k = t * t * (3 - 2 * t);
      const o = (y * W + x) * 3;
      const ai = across ? (y * halfW + Math.min(halfW - 1, x)) * 3 : (Math.min(halfH - 1, y) * halfW + x) * 3;
      const bx = across ? x - (W - halfW) : x;
      const by = across ? y : y - (H - halfH);
      const bi = (Math.max(0, by) * halfW + Math.max(0, bx)) * 3;
      for (let c = 0; c < 3; c++) {
        const va = k < 1 ? (first.data[ai + c] as number) : 0;
        const vb = k > 0 ? (second.data[bi + c] as number) : 0;
        out[o + c] = va * (1 - k) + vb * k;
      }
    }
  }
  return { data: out, width: W, height: H };
}

export function combine(images: SourceImage[], plan: CombinePlan, W: number, H: number): Promise<RawImage> {
  const subject = images[plan.subject];
  const other = images[1 - plan.subject];
  if (!subject || !other) throw new Error("combine needs two images");
  if (plan.mode === "subject") return subjectInto(subject, other, W, H);
  if (plan.mode === "blend") return blend(subject, other, W, H);
  return sideBySide(subject, other, W, H);
}
