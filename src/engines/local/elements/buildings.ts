/** Built things: city skylines (with lit windows and neon), castles, houses, bridges, lighthouses. */
import { darken, lighten, mix } from "../color.js";
import { circle, ellipse, n, paint, pathTag, polygon, rect, type Point } from "../svg.js";
import type { Ctx } from "./context.js";

export interface SkylineOptions {
  base: number;
  depth: number;
  minH: number;
  maxH: number;
  /** Centre of the tallest cluster, in units. */
  downtown: number;
  reflect: boolean;
  neon: boolean;
}

export function skyline(ctx: Ctx, o: SkylineOptions): void {
  const { fg, rng, W, pal, spec } = ctx;
  const night = pal.night || spec.time === "sunset";
  const futuristic = spec.futuristic;
  const side = ctx.light.x > W / 2 ? 1 : -1;
  let shade = "";
  let lit = "";
  let litCool = "";
  let glass = "";
  let details = "";
  let beacons = "";
  // Bodies share three tones so each tone is one path: far fewer elements for the rasterizer.
  const tones = [-0.1, 0, 0.1];
  const bodies = ["", "", ""];
  const reflections: string[] = [];
  const signs: { d: string; color: string }[] = [];

  const baseColor = mix(mix(pal.building, pal.buildingDark, 0.5), pal.distant, Math.pow(o.depth, 0.8) * 0.85);
  let x = -rng.range(0, 40);
  while (x < W + 10) {
    const w = rng.range(38, 95) * (1 - o.depth * 0.35);
    const dx = (x + w / 2 - o.downtown) / (W * 0.32);
    const envelope = 0.3 + 0.7 * Math.exp(-dx * dx);
    const h = o.minH + (o.maxH - o.minH) * envelope * rng.range(0.45, 1);
    const top = o.base - h;
    const toneIndex = rng.int(0, 2);
    const tone = tones[toneIndex] as number;
    const body = tone > 0 ? lighten(baseColor, tone) : darken(baseColor, -tone);
    const kind = futuristic
      ? rng.pick(["taper", "round", "spire", "flat", "step"])
      : rng.pick(["flat", "flat", "step", "spire", "crown"]);
    let outline: Point[];
    if (kind === "taper")
      outline = [
        [x, o.base],
        [x, top + h * 0.12],
        [x + w * 0.5, top],
        [x + w, top + h * 0.2],
        [x + w, o.base],
      ];
    else if (kind === "step")
      outline = [
        [x, o.base],
        [x, top + h * 0.18],
        [x + w * 0.18, top + h * 0.18],
        [x + w * 0.18, top],
        [x + w * 0.82, top],
        [x + w * 0.82, top + h * 0.1],
        [x + w, top + h * 0.1],
        [x + w, o.base],
      ];
    else
      outline = [
        [x, o.base],
        [x, top],
        [x + w, top],
        [x + w, o.base],
      ];
    let d = polygon(outline);
    if (kind === "round") d += ellipse(x + w / 2, top, w / 2, w * 0.28);
    if (kind === "spire" || kind === "crown") {
      const sh = h * rng.range(0.08, 0.2);
      d += polygon([
        [x + w * 0.46, top],
        [x + w * 0.5, top - sh],
        [x + w * 0.54, top],
      ]);
      if (night) beacons += circle(x + w * 0.5, top - sh, 2.4);
    }
    if (kind === "crown") d += rect(x + w * 0.15, top - 10, w * 0.7, 10);
    bodies[toneIndex] += d;
    if (o.reflect) reflections.push(pathTag(d, paint(body)));
    // The face away from the light.
    shade += rect(side > 0 ? x : x + w * 0.72, top + (kind === "taper" ? h * 0.2 : 0), w * 0.28, h);

    // Windows: whole floors go dark together, which reads as "offices" rather than noise.
    if (o.depth < 0.85) {
      const ww = Math.max(3, w * 0.09);
      const wh = ww * 1.5;
      const gx = ww * 0.9;
      const gy = wh * 0.9;
      const cols = Math.floor((w - gx) / (ww + gx));
      const rows = Math.floor((h * 0.88 - gy) / (wh + gy));
      const x0 = x + (w - (cols * (ww + gx) - gx)) / 2;
      const litShare = rng.range(0.25, 0.6) * (pal.night ? 1 : 0.5);
      for (let r = 0; r < rows; r++) {
        const y = o.base - h * 0.88 + gy + r * (wh + gy);
        const floorOn = rng.chance(0.75);
        for (let c = 0; c < cols; c++) {
          const wx = x0 + c * (ww + gx);
          if (night) {
            if (floorOn && rng.chance(litShare)) {
              const wr = rect(wx, y, ww, wh);
              if (rng.chance(0.18)) litCool += wr;
              else lit += wr;
            }
          } else if (rng.chance(0.9)) glass += rect(wx, y, ww, wh);
        }
      }
      if (!night && rng.chance(0.4)) details += rect(x + w * 0.08, top + h * 0.05, w * 0.84, 3);
    }
    if (o.neon && o.depth < 0.6 && rng.chance(0.45)) {
      const sw = rng.range(6, 11);
      const sh = rng.range(40, Math.min(140, h * 0.6));
      const sx = rng.chance(0.5) ? x + 4 : x + w - sw - 4;
      const sy = o.base - h * rng.range(0.3, 0.8);
      signs.push({ d: rect(sx, sy, sw, sh), color: rng.pick(pal.neon) });
      if (rng.chance(0.4))
        signs.push({ d: rect(x + w * 0.15, sy - 24, w * 0.7, 6), color: rng.pick(pal.neon) });
    }
    x += w + rng.range(-8, 6);
  }
  bodies.forEach((d, k) => {
    const t = tones[k] as number;
    fg.add(pathTag(d, paint(t > 0 ? lighten(baseColor, t) : darken(baseColor, -t))));
  });
  if (!ctx.flat) fg.add(pathTag(shade, paint(darken(pal.buildingDark, 0.2), 0.35)));
  fg.add(pathTag(glass, paint(mix(pal.skyMid, pal.building, 0.4), 0.45 * (1 - o.depth))));
  fg.add(pathTag(details, paint(lighten(pal.building, 0.3), 0.4)));
  const warm = pal.grade(mix(pal.windowLit, pal.haze, o.depth * 0.5));
  const cool = pal.grade(mix("#cfe6ff", pal.haze, o.depth * 0.5));
  fg.add(pathTag(lit, paint(warm, 0.92)));
  fg.add(pathTag(litCool, paint(cool, 0.85)));
  fg.add(pathTag(beacons, paint("#ff4a3a")));
  for (const s of signs) {
    fg.add(
      `<path d="${s.d}" fill="none" stroke="${s.color}" stroke-opacity="0.12" stroke-width="14" stroke-linejoin="round"/>`,
    );
    fg.add(
      `<path d="${s.d}" fill="none" stroke="${s.color}" stroke-opacity="0.3" stroke-width="6" stroke-linejoin="round"/>`,
    );
    fg.add(pathTag(s.d, paint(lighten(s.color, 0.45))));
  }
  if (o.reflect) {
    ctx.reflect.push(...reflections);
    if (night) ctx.reflect.push(pathTag(lit, paint(warm, 0.8)));
    for (const s of signs)
      ctx.reflect.push(pathTag(s.d, `fill="${s.color}" stroke="${s.color}" stroke-width="8"`));
  }
}

export function castle(ctx: Ctx, cx: number, base: number, s: number, depth: number): void {
  const { fg, rng, pal } = ctx;
  const stone = pal.tone("#b3aa9c", depth);
  const stoneDark = darken(stone, 0.3);
  const roof = pal.tone(
    ctx.spec.palette.bound.castle
      ? (pal.accents[0] ?? "#3d5a80")
      : rng.pick(["#3d5a80", "#8e3b32", "#4a6b8a"]),
    depth,
  );
  const side = ctx.light.x > cx ? 1 : -1;
  let walls = "";
  let shade = "";
  let roofs = "";
  let windows = "";
  const merlons = (x: number, y: number, w: number): string => {
    let d = "";
    const m = Math.max(3, w / 9);
    for (let i = 0; i + m <= w + 0.1; i += m * 2) d += rect(x + i, y - m * 0.9, m, m * 0.9 + 1);
    return d;
  };
  const wallW = s * 2.1;
  const wallH = s * 0.38;
  walls += rect(cx - wallW / 2, base - wallH, wallW, wallH) + merlons(cx - wallW / 2, base - wallH, wallW);
  const towers: { x: number; w: number; h: number; cone: boolean }[] = [
    { x: cx - wallW / 2 - s * 0.05, w: s * 0.3, h: s * 0.72, cone: true },
    { x: cx + wallW / 2 - s * 0.25, w: s * 0.3, h: s * 0.72, cone: true },
    { x: cx - s * 0.55, w: s * 0.26, h: s * 0.95, cone: rng.chance(0.7) },
    { x: cx + s * 0.3, w: s * 0.26, h: s * 0.9, cone: rng.chance(0.7) },
    { x: cx - s * 0.22, w: s * 0.44, h: s * 1.15, cone: true },
  ];
  for (const t of towers) {
    const top = base - t.h;
    walls += rect(t.x, top, t.w, t.h);
    shade += rect(side > 0 ? t.x : t.x + t.w * 0.65, top, t.w * 0.35, t.h);
    if (t.cone) {
      const rh = t.w * 1.25;
      roofs += polygon([
        [t.x - t.w * 0.12, top],
        [t.x + t.w / 2, top - rh],
        [t.x + t.w * 1.12, top],
      ]);
      const fx = t.x + t.w / 2;
      const fy = top - rh;
      fg.add(`<path d="M${n(fx)} ${n(fy)}v${n(-s * 0.14)}" stroke="${stoneDark}" stroke-width="1.5"/>`);
      fg.add(
        pathTag(
          polygon([
            [fx, fy - s * 0.14],
            [fx + s * 0.1, fy - s * 0.11],
            [fx, fy - s * 0.08],
          ]),
          paint(pal.tone(pal.accents[0] ?? "#e94f64", depth)),
        ),
      );
    } else walls += merlons(t.x - 2, top, t.w + 4);
    for (let k = 0; k < 2; k++) {
      const wy = top + t.h * (0.25 + k * 0.3);
      const ww = t.w * 0.18;
      windows += rect(t.x + t.w / 2 - ww / 2, wy, ww, ww * 1.8) + circle(t.x + t.w / 2, wy, ww / 2);
    }
  }
  const gateW = s * 0.26;
  const gate = `M${n(cx - gateW / 2)} ${n(base)}v${n(-gateW * 0.9)}a${n(gateW / 2)} ${n(gateW / 2)} 0 0 1 ${n(gateW)} 0v${n(gateW * 0.9)}Z`;
  fg.add(pathTag(walls, paint(stone)));
  if (!ctx.flat) fg.add(pathTag(shade, paint(stoneDark, 0.45)));
  fg.add(pathTag(roofs, paint(roof)));
  fg.add(pathTag(windows, paint(pal.night ? pal.windowLit : darken(stone, 0.65))));
  fg.add(pathTag(gate, paint(darken(stone, 0.7))));
  ctx.reflect.push(pathTag(walls, paint(stone)), pathTag(roofs, paint(roof)));
}

export function house(ctx: Ctx, x: number, base: number, s: number, depth: number): void {
  const { fg, rng, pal } = ctx;
  const wall = pal.tone(rng.pick(["#e8dcc4", "#d9b99b", "#f1e6d2", "#c98c6a"]), depth);
  const roof = pal.recede(
    ctx.spec.palette.bound.house ? pal.tone(pal.accents[0] ?? "#8e3b32") : pal.roof,
    depth,
  );
  const w = s;
  const h = s * 0.6;
  const side = ctx.light.x > x ? 1 : -1;
  fg.add(pathTag(rect(x + w * 0.62, base - h - s * 0.5, s * 0.1, s * 0.35), paint(darken(wall, 0.35))));
  fg.add(pathTag(rect(x, base - h, w, h), paint(wall)));
  fg.add(pathTag(rect(side > 0 ? x : x + w * 0.7, base - h, w * 0.3, h), paint(darken(wall, 0.4), 0.3)));
  fg.add(
    pathTag(
      polygon([
        [x - w * 0.1, base - h],
        [x + w / 2, base - h - s * 0.45],
        [x + w * 1.1, base - h],
      ]),
      paint(roof),
    ),
  );
  const winColor = pal.night || ctx.spec.time === "sunset" ? pal.windowLit : mix(pal.skyMid, "#334", 0.5);
  const ww = w * 0.17;
  fg.add(
    pathTag(
      rect(x + w * 0.12, base - h * 0.7, ww, ww) + rect(x + w * 0.71, base - h * 0.7, ww, ww),
      paint(winColor),
    ),
  );
  if (pal.night)
    fg.add(
      pathTag(
        circle(x + w * 0.2, base - h * 0.62, ww * 1.6) + circle(x + w * 0.79, base - h * 0.62, ww * 1.6),
        paint(pal.windowLit, 0.12),
      ),
    );
  fg.add(pathTag(rect(x + w * 0.42, base - h * 0.55, w * 0.16, h * 0.55), paint(darken(roof, 0.3))));
  if (!ctx.flat) {
    let smoke = "";
    for (let i = 0; i < 5; i++)
      smoke += circle(
        x + w * 0.67 + i * 6 + rng.range(-3, 3),
        base - h - s * 0.55 - i * s * 0.12,
        s * (0.05 + i * 0.025),
      );
    fg.add(pathTag(smoke, paint(pal.tone("#d8dde4"), 0.3)));
  }
  ctx.reflect.push(
    pathTag(rect(x, base - h, w, h), paint(wall)),
    pathTag(
      polygon([
        [x - w * 0.1, base - h],
        [x + w / 2, base - h - s * 0.45],
        [x + w * 1.1, base - h],
      ]),
      paint(roof),
    ),
  );
}

export function bridge(ctx: Ctx, deckY: number, depth: number): void {
  const { fg, rng, W, pal } = ctx;
  const named = ctx.spec.palette.bound.bridge;
  const color = pal.tone(named ? (pal.accents[0] ?? "#b8432f") : rng.pick(["#b8432f", "#6b7280"]), depth);
  const t1 = W * rng.range(0.22, 0.3);
  const t2 = W * rng.range(0.7, 0.78);
  const towerH = (t2 - t1) * 0.42;
  const top = deckY - towerH;
  const tw = 9;
  let d = rect(-10, deckY, W + 20, 7);
  for (const tx of [t1, t2]) {
    d += rect(tx - tw, top, tw * 0.7, towerH + 60) + rect(tx + tw * 0.3, top, tw * 0.7, towerH + 60);
    for (let k = 0; k < 4; k++) d += rect(tx - tw, top + 8 + k * towerH * 0.28, tw * 2, 4);
  }
  fg.add(pathTag(d, paint(color)));
  const sag = deckY - 10;
  const cable =
    `M-10 ${n(deckY - 4)}Q${n(t1 * 0.6)} ${n(deckY - towerH * 0.3)} ${n(t1)} ${n(top + 4)}` +
    `Q${n((t1 + t2) / 2)} ${n(sag + (sag - top) * 0.9)} ${n(t2)} ${n(top + 4)}` +
    `Q${n(t2 + (W - t2) * 0.4)} ${n(deckY - towerH * 0.3)} ${n(W + 10)} ${n(deckY - 4)}`;
  fg.add(`<path d="${cable}" fill="none" stroke="${color}" stroke-width="3.5"/>`);
  let hangers = "";
  for (let x = t1 + 14; x < t2; x += 14) {
    const t = (x - t1) / (t2 - t1);
    // The quadratic Bézier's y at parameter t (x is linear in t for this symmetric curve).
    const cy =
      (1 - t) * (1 - t) * (top + 4) + 2 * (1 - t) * t * (sag + (sag - top) * 0.9) + t * t * (top + 4);
    hangers += `M${n(x)} ${n(cy)}V${n(deckY)}`;
  }
  fg.add(pathTag(hangers, `fill="none" stroke="${color}" stroke-width="1.1" stroke-opacity="0.8"`));
  if (pal.night) {
    let lamps = "";
    for (let x = 10; x < W; x += 38) lamps += circle(x, deckY - 3, 2.2);
    fg.add(pathTag(lamps, paint(pal.windowLit)));
  }
  ctx.reflect.push(pathTag(d, paint(color)));
}

export function lighthouse(ctx: Ctx, x: number, base: number, s: number): void {
  const { fg, pal } = ctx;
  const wb = s * 0.22;
  const wt = s * 0.14;
  const body: Point[] = [
    [x - wb / 2, base],
    [x - wt / 2, base - s],
    [x + wt / 2, base - s],
    [x + wb / 2, base],
  ];
  fg.add(pathTag(polygon(body), paint(pal.tone("#f1ede4"))));
  let stripes = "";
  for (let k = 0; k < 3; k++) {
    const y0 = base - s * (0.15 + k * 0.3);
    const y1 = y0 - s * 0.13;
    const w0 = wb + (wt - wb) * ((base - y0) / s);
    const w1 = wb + (wt - wb) * ((base - y1) / s);
    stripes += polygon([
      [x - w0 / 2, y0],
      [x - w1 / 2, y1],
      [x + w1 / 2, y1],
      [x + w0 / 2, y0],
    ]);
  }
  fg.add(pathTag(stripes, paint(pal.tone("#c0392b"))));
  fg.add(
    pathTag(
      rect(x - wt * 0.45, base - s - s * 0.14, wt * 0.9, s * 0.14),
      paint(pal.night ? "#fff3c0" : pal.tone("#3a3f4a")),
    ),
  );
  fg.add(
    pathTag(
      polygon([
        [x - wt * 0.6, base - s - s * 0.14],
        [x, base - s - s * 0.26],
        [x + wt * 0.6, base - s - s * 0.14],
      ]),
      paint(pal.tone("#2a2e36")),
    ),
  );
  if (pal.night || ctx.spec.time === "sunset") {
    const ly = base - s - s * 0.07;
    // Swept toward the open side of the picture, not off its nearer edge; brightest at the lamp.
    const dir = x < ctx.W / 2 ? 1 : -1;
    const beam = fg.linear(
      [
        [0, "#fff6cc", 0.55],
        [1, "#fff6cc", 0],
      ],
      dir > 0 ? 0 : 1,
      0,
      dir > 0 ? 1 : 0,
      0,
    );
    fg.add(
      pathTag(
        polygon([
          [x, ly - 4],
          [x + dir * s * 2.6, ly - s * 0.35],
          [x + dir * s * 2.6, ly + s * 0.25],
          [x, ly + 4],
        ]),
        `fill="${beam}"`,
      ),
    );
  }
}
