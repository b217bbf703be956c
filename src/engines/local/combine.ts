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

/** Where the subject stands in its image, as found by `subjectRegion`: a box and a matte for it. */
interface SubjectCut {
  /** The box, in the image's pixels. */
  x: number;
  y: number;
  w: number;
  h: number;
  /** 0..255 per pixel of the box: the subject's own pixels keep, its backdrop and the rest fall away. */
  alpha: Buffer;
}

/** Cells next to a set cell (4-neighbours) set too. */
function dilateGrid(g: Uint8Array, gw: number, gh: number): Uint8Array {
  return g.map((v, c) => {
    const x = c % gw;
    return v ||
      (x > 0 && g[c - 1]) ||
      (x < gw - 1 && g[c + 1]) ||
      (c >= gw && g[c - gw]) ||
      (c + gw < gw * gh && g[c + gw])
      ? 1
      : 0;
  });
}

/** Cells with an unset neighbour (4-neighbours; the frame's outside counts as unset) unset too. */
function erodeGrid(g: Uint8Array, gw: number, gh: number): Uint8Array {
  return g.map((v, c) => {
    const x = c % gw;
    return v &&
      x > 0 &&
      g[c - 1] &&
      x < gw - 1 &&
      g[c + 1] &&
      c >= gw &&
      g[c - gw] &&
      c + gw < gw * gh &&
      g[c + gw]
      ? 1
      : 0;
  });
}

/** Unset cells that no path of unset cells joins to the frame's edge set. */
function fillHoles(g: Uint8Array, gw: number, gh: number): Uint8Array {
  const outside = new Uint8Array(gw * gh);
  const queue: number[] = [];
  for (let c = 0; c < gw * gh; c++) {
    const x = c % gw;
    const y = (c - x) / gw;
    if (!g[c] && (x === 0 || y === 0 || x === gw - 1 || y === gh - 1)) {
      outside[c] = 1;
      queue.push(c);
    }
  }
  while (queue.length) {
    const c = queue.pop() as number;
    const x = c % gw;
    for (const n of [x > 0 ? c - 1 : -1, x < gw - 1 ? c + 1 : -1, c - gw, c + gw]) {
      if (n >= 0 && n < gw * gh && !g[n] && !outside[n]) {
        outside[n] = 1;
        queue.push(n);
      }
    }
  }
  return g.map((v, c) => (v || !outside[c] ? 1 : 0));
}

/** The grid the matte's regions are found on: coarse enough to be quick, fine enough for a small figure. */
const REGION_GRID = 96;

/**
 * The subject of an image: the region of `surround` (its `surroundKey`) that most looks like what a prompt
 * means by "the person from image 1": large, central, upright, reaching low, and not a band across the
 * whole picture (a horizon, a ridge) nor something in the sky (clouds, a sun). Null when no region stands
 * out, or when the key keeps most of the picture (a subject that fills the frame): then the whole image is
 * the subject. `rows` (its `backdropKey`) is consulted only inside the region found, for the parts of the
 * figure `surround` took for backdrop.
 */
export async function subjectRegion(
  img: RawImage,
  surround: Buffer,
  rows: Buffer,
): Promise<SubjectCut | null> {
  const { width: w, height: h } = img;
  const cell = Math.max(1, Math.ceil(Math.max(w, h) / REGION_GRID));
  const gw = Math.ceil(w / cell);
  const gh = Math.ceil(h / cell);
  // A cell is the subject's when a quarter of its pixels are mostly kept: a limb thinner than a cell counts.
  let on = new Uint8Array(gw * gh);
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      let kept = 0;
      let count = 0;
      for (let y = gy * cell; y < Math.min(h, (gy + 1) * cell); y++) {
        for (let x = gx * cell; x < Math.min(w, (gx + 1) * cell); x++) {
          if ((surround[y * w + x] as number) > 128) kept++;
          count++;
        }
      }
      on[gy * gw + gx] = kept * 4 >= count ? 1 : 0;
    }
  }
  // A cell with nothing kept above or below it belongs to a line (a ridge, a horizon the key caught), not
  // to a figure, whose thinnest parts, its legs, stand upright; a thin level tail or arm goes with it.
  on = on.map((v, c) => (v && (on[c - gw] || on[c + gw]) ? 1 : 0));
  // Connected regions (4-neighbours), each with its size, box and score.
  const label = new Int32Array(gw * gh).fill(-1);
  const regions: { cells: number; x0: number; y0: number; x1: number; y1: number; score: number }[] = [];
  const queue = new Int32Array(gw * gh);
  for (let start = 0; start < gw * gh; start++) {
    if (!on[start] || label[start] !== -1) continue;
    const id = regions.length;
    const r = { cells: 0, x0: gw, y0: gh, x1: 0, y1: 0, score: 0 };
    let sx = 0;
    let sy = 0;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    label[start] = id;
    while (head < tail) {
      const c = queue[head++] as number;
      const cx = c % gw;
      const cy = (c - cx) / gw;
      r.cells++;
      sx += cx;
      sy += cy;
      r.x0 = Math.min(r.x0, cx);
      r.x1 = Math.max(r.x1, cx);
      r.y0 = Math.min(r.y0, cy);
      r.y1 = Math.max(r.y1, cy);
      for (const [nx, ny] of [
        [cx - 1, cy],
        [cx + 1, cy],
        [cx, cy - 1],
        [cx, cy + 1],
      ] as const) {
        if (nx < 0 || ny < 0 || nx >= gw || ny >= gh) continue;
        const n = ny * gw + nx;
        if (on[n] && label[n] === -1) {
          label[n] = id;
          queue[tail++] = n;
        }
      }
    }
    const mx = (sx / r.cells + 0.5) / gw;
    const my = (sy / r.cells + 0.5) / gh;
    const central = Math.max(0, 1 - ((mx - 0.5) / 0.5) ** 2);
    const band = r.x0 === 0 && r.x1 === gw - 1 ? 0.15 : 1;
    // Figures stand taller than they are wide, or about as wide; streaks of sky and ridges do not.
    const bw = r.x1 - r.x0 + 1;
    const bh = r.y1 - r.y0 + 1;
    const shape = bw > 3 * bh ? 0.3 : bh >= 1.3 * bw ? 1.5 : 1;
    const skyward = r.y0 === 0 || my < 0.35 ? 0.2 : 1;
    // And they stand on the ground: the lower a region reaches, the likelier it is one (a sun low over
    // the sea is as central and larger, but it hangs at the horizon).
    const low = ((r.y1 + 1) / gh) ** 4;
    r.score = r.cells * central * low * band * shape * skyward;
    regions.push(r);
  }
  const best = regions.reduce<(typeof regions)[number] | undefined>(
    (a, r) => (!a || r.score > a.score ? r : a),
    undefined,
  );
  // Nothing but a sun, a glow or a cloud stands out: there is no subject to take. A subject stands in the
  // lower part of its picture; what the key keeps only higher up is sky (a dark figure against a sunset
  // is the colour of the dark ground at the frame's edges, and the key does not see it).
  if (!best || best.cells < gw * gh * 0.004 || best.score <= 0 || best.y0 === 0) return null;
  if ((best.y0 + best.y1 + 1) / 2 / gh < 0.35 || (best.y1 + 1) / gh < 0.7) return null;
  const keptCells = on.reduce((n, v) => n + v, 0);
  if (keptCells > gw * gh * 0.7) return null;
  // Other regions within the best one's box, a little enlarged, are parts of the same subject (a head keyed
  // apart from its body).
  const padX = Math.max(1, Math.round((best.x1 - best.x0 + 1) * 0.1));
  const padY = Math.max(1, Math.round((best.y1 - best.y0 + 1) * 0.1));
  // Upward by more: a head may stand apart from the shoulders under it.
  const padUp = Math.max(padY, Math.round((best.y1 - best.y0 + 1) * 0.3));
  const keep = new Set<number>();
  regions.forEach((r, id) => {
    const near =
      r.x1 >= best.x0 - padX && r.x0 <= best.x1 + padX && r.y1 >= best.y0 - padUp && r.y0 <= best.y1 + padY;
    if (near && r.score > 0) keep.add(id);
  });
  let grid: Uint8Array = new Uint8Array(gw * gh);
  for (let c = 0; c < gw * gh; c++) if (keep.has(label[c] as number)) grid[c] = 1;
  // Closed (a neck or a collar the key lost no longer parts head from body) and without holes (a belly
  // or a shirt the colour of the sky stays part of the figure).
  for (let i = 0; i < 2; i++) grid = dilateGrid(grid, gw, gh);
  for (let i = 0; i < 2; i++) grid = erodeGrid(grid, gw, gh);
  grid = fillHoles(grid, gw, gh);
  const inner = erodeGrid(grid, gw, gh);
  let x0 = gw;
  let y0 = gh;
  let x1 = 0;
  let y1 = 0;
  for (let c = 0; c < gw * gh; c++) {
    if (!grid[c]) continue;
    const cx = c % gw;
    const cy = (c - cx) / gw;
    x0 = Math.min(x0, cx);
    x1 = Math.max(x1, cx);
    y0 = Math.min(y0, cy);
    y1 = Math.max(y1, cy);
  }
  // The box in pixels, with a margin of two cells for the matte's soft edge.
  const bx = Math.max(0, (x0 - 2) * cell);
  const by = Math.max(0, (y0 - 2) * cell);
  const bw = Math.min(w, (x1 + 3) * cell) - bx;
  const bh = Math.min(h, (y1 + 3) * cell) - by;
  // The cells, grown and smoothed to full size, bound the key: what it keeps elsewhere (a cloud, a ridge,
  // a strip of beach) stays behind. Inside the figure, away from its outline, every pixel is kept.
  const toPixels = (cells: Uint8Array, grow: number) => {
    let g = cells;
    for (let i = 0; i < grow; i++) g = dilateGrid(g, gw, gh);
    return sharp(Buffer.from(g.map((v) => v * 255)), { raw: { width: gw, height: gh, channels: 1 } })
      .resize(gw * cell, gh * cell, { kernel: "nearest" })
      .extract({ left: bx, top: by, width: bw, height: bh })
      .blur(Math.max(0.8, cell / 2))
      .extractChannel(0)
      .raw()
      .toBuffer();
  };
  const [region, solid] = await Promise.all([toPixels(grid, 1), toPixels(inner, 0)]);
  const alpha = Buffer.alloc(bw * bh);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const p = (by + y) * w + bx + x;
      // Either key may keep a pixel of the figure (the other may have taken its colour for backdrop); the
      // key is soft, so it is firmed up, and thin parts (limbs, ears) come out solid rather than ghostly.
      const kept = Math.max(surround[p] as number, rows[p] as number) / 255;
      const k = Math.min(1, Math.max(0, (kept - 0.2) / 0.5));
      const edge = (k * k * (3 - 2 * k) * (region[y * bw + x] as number)) / 255;
      const s = (solid[y * bw + x] as number) / 255;
      alpha[y * bw + x] = Math.round(255 * (s + (1 - s) * edge));
    }
  }
  return { x: bx, y: by, w: bw, h: bh, alpha };
}

/**
 * The subject, cut from its image (`subjectRegion`) and scaled to about 55% of the height, stands centred
 * in the lower part of the background, nudged toward the background's colour so the light matches, with
 * a contact shadow under it. When no subject stands out of its image, the whole image is the subject,
 * faded out through a soft ellipse so its own backdrop melts away.
 */
async function subjectInto(
  subjectSrc: SourceImage,
  bgSrc: SourceImage,
  W: number,
  H: number,
): Promise<RawImage> {
  const [bg, whole] = await Promise.all([
    loadCover(bgSrc, W, H),
    // Analysed at the output's size or 1024 px, whichever is less (a smaller source is scaled up to it).
    loadInside(subjectSrc, Math.min(W, 1024), Math.min(H, 1024)),
  ]);
  // A finer key than the whole-image fallback's: the region found bounds it, so speckle elsewhere is no matter.
  const keys = await Promise.all([surroundKey(whole, 0.6), backdropKey(whole, 0.6)]);
  const cut = await subjectRegion(whole, ...keys);
  let subject: RawImage;
  let key: Buffer;
  let feather: boolean;
  if (cut) {
    // Scaled up no more than twice: a small figure in its picture stays sharp rather than filling this one.
    const scale = Math.min((H * 0.55) / cut.h, (W * 0.62) / cut.w, 2);
    const sw = Math.max(1, Math.round(cut.w * scale));
    const sh = Math.max(1, Math.round(cut.h * scale));
    [subject, key] = await Promise.all([
      toRaw(
        sharp(whole.data, { raw: { width: whole.width, height: whole.height, channels: 3 } })
          .extract({ left: cut.x, top: cut.y, width: cut.w, height: cut.h })
          .resize(sw, sh, { fit: "fill" }),
      ),
      sharp(cut.alpha, { raw: { width: cut.w, height: cut.h, channels: 1 } })
        .resize(sw, sh, { fit: "fill" })
        .extractChannel(0)
        .raw()
        .toBuffer(),
    ]);
    feather = false;
  } else {
    subject = await loadInside(subjectSrc, W * 0.62, H * 0.55);
    key = await backdropKey(subject);
    feather = true;
  }
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
  for (let y = 0; y < sh; y++) {
    const oy = top + y;
    if (oy < 0 || oy >= H) continue;
    const ny = (y + 0.5) / sh - 0.5;
    for (let x = 0; x < sw; x++) {
      const ox = left + x;
      if (ox < 0 || ox >= W) continue;
      let a = 1;
      if (feather) {
        const nx = (x + 0.5) / sw - 0.5;
        // Elliptical feather: solid inside 60% of the radius, fading to nothing at the edge.
        const r = Math.sqrt(nx * nx + ny * ny) * 2;
        a = r <= 0.6 ? 1 : r >= 1 ? 0 : 1 - (r - 0.6) / 0.4;
        if (a === 0) continue;
        a = a * a * (3 - 2 * a);
      }
      const alpha = (a * (key[y * sw + x] as number)) / 255;
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

/** At most this many colours stand for an image's surroundings in `surroundKey`. */
const SURROUND_COLORS = 64;

/**
 * How far a colour is from another for a matte: hue counts more than brightness, which lens vignetting
 * and soft light change.
 */
function keyDistance(r: number, g: number, b: number, rr: number, rg: number, rb: number): number {
  const l = (r + g + b) / 3;
  const rl = (rr + rg + rb) / 3;
  return (
    Math.abs(r - l - (rr - rl)) +
    Math.abs(g - l - (rg - rl)) +
    Math.abs(b - l - (rb - rl)) +
    0.35 * Math.abs(l - rl)
  );
}

/**
 * A matte for finding a subject: a pixel is its surroundings when its colour is close to one of the
 * colours along the image's top and sides (sky, sea, fields, walls: whatever reaches the frame), and kept
 * otherwise. Not the bottom edge: a standing figure or a portrait's shoulders are cut by it. 255 keeps.
 */
export async function surroundKey(img: RawImage, blur: number): Promise<Buffer> {
  const { width: w, height: h, data } = img;
  const edge = Math.max(1, Math.round(Math.min(w, h) * 0.02));
  const colors: number[] = [];
  const addSample = (x0: number, y0: number) => {
    let r = 0;
    let g = 0;
    let b = 0;
    for (let y = y0; y < y0 + edge; y++) {
      for (let x = x0; x < x0 + edge; x++) {
        const i = (y * w + x) * 3;
        r += data[i] as number;
        g += data[i + 1] as number;
        b += data[i + 2] as number;
      }
    }
    const n = edge * edge;
    [r, g, b] = [r / n, g / n, b / n];
    for (let c = 0; c < colors.length; c += 3) {
      if (keyDistance(r, g, b, colors[c] as number, colors[c + 1] as number, colors[c + 2] as number) < 10)
        return;
    }
    if (colors.length < SURROUND_COLORS * 3) colors.push(r, g, b);
  };
  const step = Math.max(edge, Math.round(Math.max(w, h) / 96));
  for (let y = 0; y + edge <= h; y += step) {
    addSample(0, y);
    addSample(w - edge, y);
  }
  for (let x = 0; x + edge <= w; x += step) addSample(x, 0);
  const mask = Buffer.alloc(w * h);
  // Each colour's answer is kept by its 15-bit value (a few levels per channel are far below the key's
  // thresholds): a picture has far fewer colours than pixels, and the answer is up to 64 comparisons.
  const known = new Int16Array(32768).fill(-1);
  for (let p = 0, i = 0; p < w * h; p++, i += 3) {
    const r = data[i] as number;
    const g = data[i + 1] as number;
    const b = data[i + 2] as number;
    const q = ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
    let v = known[q] as number;
    if (v < 0) {
      const [qr, qg, qb] = [(r & 0xf8) + 4, (g & 0xf8) + 4, (b & 0xf8) + 4];
      let d = Infinity;
      for (let c = 0; c < colors.length && d > 22; c += 3) {
        d = Math.min(
          d,
          keyDistance(qr, qg, qb, colors[c] as number, colors[c + 1] as number, colors[c + 2] as number),
        );
      }
      const k = Math.min(1, Math.max(0, (d - 22) / 45));
      known[q] = v = Math.round(k * k * (3 - 2 * k) * 255);
    }
    mask[p] = v;
  }
  return sharp(mask, { raw: { width: w, height: h, channels: 1 } })
    .blur(blur)
    .extractChannel(0)
    .raw()
    .toBuffer();
}

/**
 * A rough matte: pixels close in colour to the image's own border (compared row by row, so a sky
 * gradient counts as backdrop) fade out. Blurred (by `blur`, a sigma in pixels), so it has no speckle;
 * 255 keeps, 0 drops.
 */
export async function backdropKey(
  img: RawImage,
  blur = Math.max(0.8, Math.min(img.width, img.height) / 150),
): Promise<Buffer> {
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
      const rr = (left[0] as number) * (1 - t) + (right[0] as number) * t;
      const rg = (left[1] as number) * (1 - t) + (right[1] as number) * t;
      const rb = (left[2] as number) * (1 - t) + (right[2] as number) * t;
      const d = keyDistance(data[i] as number, data[i + 1] as number, data[i + 2] as number, rr, rg, rb);
      const k = Math.min(1, Math.max(0, (d - 22) / 45));
      mask[y * w + x] = Math.round(k * k * (3 - 2 * k) * 255);
    }
  }
  return sharp(mask, { raw: { width: w, height: h, channels: 1 } })
    .blur(blur)
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
