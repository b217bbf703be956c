/**
 * Router overhead: the same fake backend (an OpenAI-compatible server answering at once), called through
 * the router and by the engine directly, in the same run.
 */
import pino from "pino";
import { Catalog } from "../src/domain/catalog.js";
import { OpenAIEngine } from "../src/engines/openai/index.js";
import { EngineRouter } from "../src/engines/router.js";
import type { EngineInstanceConfig } from "../src/engines/instance.js";
import type { Engine, EngineRequest } from "../src/engines/types.js";
import { startFakeOpenAI } from "../test/fakes/openai.js";

const CONCURRENCY = 4;

async function rate(engine: Engine, seconds: number): Promise<number> {
  const req = (): EngineRequest => ({
    prompt: "a small test image",
    width: 256,
    height: 256,
    seed: 1,
    format: "png",
    images: [],
    model: "bench",
    params: { model: "gpt-image-1", sizes: ["256x256"] },
    signal: new AbortController().signal,
  });
  const end = performance.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await engine.generate(req());
        n++;
      }
    }),
  );
  return n / seconds;
}

export async function routerOverhead(seconds: number): Promise<{ direct: number; routed: number }> {
  const fake = await startFakeOpenAI();
  fake.delayMs = 0;
  const log = pino({ level: "silent" });
  const cfg: EngineInstanceConfig = {
    id: "fake",
    kind: "openai",
    url: fake.url,
    concurrency: CONCURRENCY,
    timeoutMs: 30_000,
    headers: {},
  };
  const deps = { maxPixels: 25_000_000, maxResponseBytes: 50 * 1024 * 1024, log };
  const engine = new OpenAIEngine(cfg, deps);
  const catalog = new Catalog([
    {
      id: "bench",
      aliases: [],
      name: "bench",
      status: "ga",
      maxSize: 1024,
      supportsEdit: true,
      priceMin: 1,
      priceMax: 1,
      created: 0,
      routes: [{ engine: "fake", priority: 1, weight: 1, params: {} }],
    },
  ]);
  const router = new EngineRouter([{ cfg, engine }], catalog, log, { probeIntervalMs: 0 });
  await rate(engine, 1); // warm up connections and sharp
  // Alternate, so that a noisy neighbour on the shared machine hits both sides alike.
  let direct = 0;
  let routed = 0;
  for (let i = 0; i < 2; i++) {
    direct += await rate(engine, seconds / 4);
    routed += await rate(router, seconds / 4);
  }
  await fake.close();
  return { direct: direct / 2, routed: routed / 2 };
}
