/**
 * Renders sample prompts with the local engine into a directory (default /tmp/zekron-samples),
 * printing the time each took. Usage: npx tsx scripts/render-samples.ts [outDir] [size|WxH] [format]
 * PROMPT="..." renders just that prompt; SEED=n changes the seed (default 42).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LocalEngine } from "../src/engines/local/index.js";
import type { OutputFormat } from "../src/engines/types.js";

const PROMPTS = [
  "A serene mountain landscape at golden hour",
  "A futuristic city with flying cars at sunset",
  "A cute robot in a garden",
  "A sunset over the ocean",
  "A magical forest",
  "cyberpunk city at night, neon lights",
  "pixel art castle",
  "watercolor lake with pastel colors",
];

const outDir = process.argv[2] ?? "/tmp/zekron-samples";
const [width, height] = (process.argv[3] ?? "768").split("x").map(Number) as [number, number?];
const format = (process.argv[4] ?? "png") as OutputFormat;
const only = process.env.PROMPT;

const engine = new LocalEngine();
await mkdir(outDir, { recursive: true });
for (const [i, prompt] of (only ? [only] : PROMPTS).entries()) {
  const started = performance.now();
  const result = await engine.generate({
    prompt,
    width,
    height: height ?? width,
    seed: Number(process.env.SEED ?? 42),
    format,
    images: [],
    model: "local",
    signal: new AbortController().signal,
  });
  const ms = performance.now() - started;
  const slug = prompt
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 40);
  const file = join(
    outDir,
    `${String(i + 1).padStart(2, "0")}-${slug}.${format === "jpeg" ? "jpg" : format}`,
  );
  await writeFile(file, result.bytes);
  console.log(
    `${ms.toFixed(0).padStart(5)} ms  ${(result.bytes.length / 1024).toFixed(0).padStart(5)} KiB  ${file}`,
  );
}
