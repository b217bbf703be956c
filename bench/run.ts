/**
 * npm run bench: each figure beside a baseline measured in the same run on the same machine, because this
 * machine is shared and noisy: the ratios are what to compare across runs, not the absolute numbers.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createDecipheriv, createCipheriv, randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import autocannon from "autocannon";
import { loadConfig } from "../src/config.js";
import { createServices } from "../src/services.js";
import type { EngineRequest, OutputFormat } from "../src/engines/types.js";
import { tempDir } from "../test/helpers/db.js";
import { fetchLoop, pairedRatio, pct, sequential } from "./loadgen.js";
import { eventLatency, jobsThroughput, latencyLine } from "./jobs.js";
import { routerOverhead } from "./router.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
/** Pairs of runs for the ratios against a baseline (see `pairedRatio` in loadgen.ts), each run DURATION / PAIRS long. */
const PAIRS = 4;
const results: string[] = [];

function report(line: string) {
  results.push(line);
  console.log(line);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitUp(url: string) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function load(opts: autocannon.Options): Promise<autocannon.Result> {
  return autocannon({ duration: DURATION, ...opts });
}

const req = (prompt: string, width: number, height: number, format: OutputFormat): EngineRequest => ({
  prompt,
  width,
  height,
  seed: 7,
  format,
  images: [],
  model: "zekron-image-1",
  signal: new AbortController().signal,
});

const PROMPT = "A serene mountain landscape at golden hour";

async function main() {
  const dataDir = tempDir("zekron-bench-");
  const port = await freePort();
  const env = {
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    ZEKRON_DATA_DIR: dataDir,
    ZEKRON_ADMIN_TOKEN: "bench-admin-token-0123456789",
    ZEKRON_DEMO_TENANT: "false",
    ZEKRON_RATE_LIMIT_PER_MINUTE: "1000000",
    ZEKRON_MAX_CONCURRENT: "1000",
  };

  // Prepare a tenant and a 1 MiB stored image directly, on the data dir the server will use.
  const setup = await createServices(loadConfig(env));
  const tenant = await setup.tenants.create("bench", 1_000_000 * 1_000_000, Date.now());
  const { key } = await setup.tenants.createKey(tenant.id, { name: "bench" }, Date.now());
  const mib = randomBytes(1024 * 1024);
  const image = await setup.images.put(tenant.id, "job_bench", mib, "image/png", 1, 1);
  await setup.db.kysely.insertInto("images").values(image).execute();
  await setup.close();

  // The server as `npm start` runs it: node on the build (`npm run bench` builds first).
  const server: ChildProcess = spawn(process.execPath, [path.join(ROOT, "dist/main.js")], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUp(`${base}/healthz`);
  const auth = { authorization: `Bearer ${key}` };

  // 1. Authenticated GET /v1/balance against a bare Fastify route returning the same JSON.
  const balanceBody = await (await fetch(`${base}/v1/balance`, { headers: auth })).text();
  const barePort = await freePort();
  const bare = spawn(process.execPath, [path.join(ROOT, "bench/bare.mjs")], {
    env: { ...process.env, PORT: String(barePort), BARE_BODY: balanceBody },
    stdio: ["ignore", "ignore", "inherit"],
  });
  await waitUp(`http://127.0.0.1:${barePort}/v1/balance`);
  // Paired short runs after a warm-up (see `pairedRatio` in loadgen.ts).
  let balNon2xx = 0;
  const bal = await pairedRatio(
    PAIRS,
    async () => {
      const r = await load({
        url: `${base}/v1/balance`,
        connections: 50,
        headers: auth,
        duration: DURATION / PAIRS,
      });
      balNon2xx += r.non2xx;
      return r.requests.average;
    },
    async () =>
      (
        await load({
          url: `http://127.0.0.1:${barePort}/v1/balance`,
          connections: 50,
          duration: DURATION / PAIRS,
        })
      ).requests.average,
  );
  bare.kill("SIGTERM");
  report(
    `balance: ${bal.ours.toFixed(0)} req/s (non-2xx ${balNon2xx}) vs bare Fastify ${bal.baseline.toFixed(0)} req/s; ` +
      `median of ${PAIRS} paired ratios ${bal.median.toFixed(2)} (pairs ${bal.ratios.map((r) => r.toFixed(2)).join(", ")}) ` +
      `(target >= 0.5)`,
  );

  // 2a. The engine's render time and one client through the platform: overhead = latency - render time.
  // The engine from the same build the server runs, so that the two sides of the overhead match.
  const { LocalEngine } = (await import(
    pathToFileURL(path.join(ROOT, "dist/engines/local/index.js")).href
  )) as typeof import("../src/engines/local/index.js");
  const engine = new LocalEngine();
  const genBody = JSON.stringify({ prompt: PROMPT, size: "256x256", seed: 7 });
  const render = async (n: number, into: number[]) => {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await engine.generate(req(PROMPT, 256, 256, "png"));
      into.push(performance.now() - t0);
    }
  };
  // The client reads each answer as wrk does, without parsing it: the latency is the platform's, not the
  // client library's (`sequential` in loadgen.ts).
  const generate = (count: number) =>
    sequential(`${base}/v1/generate`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: genBody,
      count,
    });
  // A warm-up of each side, then blocks of renders and requests in turn (as in `pairedRatio`), so that the
  // two sides of the overhead are measured under the same weather on the shared machine.
  await render(10, []);
  await generate(20);
  const renders: number[] = [];
  const answers: Awaited<ReturnType<typeof generate>> = [];
  for (let block = 0; block < PAIRS; block++) {
    if (block % 2 === 0) await render(15, renders);
    answers.push(...(await generate(50)));
    if (block % 2 === 1) await render(15, renders);
  }
  renders.sort((a, b) => a - b);
  const lat: number[] = [];
  // Per request: the latency minus the engine's own time for that very request, which the server reports
  // in its Server-Timing header (measured around the engine call, router included).
  const paired: number[] = [];
  for (const { ms, head } of answers) {
    if (!head.startsWith("HTTP/1.1 200 ")) throw new Error(`generate answered ${head.split("\r\n")[0]}`);
    const engineMs = /engine;dur=([\d.]+)/i.exec(head)?.[1];
    if (engineMs === undefined) throw new Error("generate answered without Server-Timing");
    lat.push(ms);
    paired.push(ms - Number(engineMs));
  }
  // The same through undici's fetch, reading the body, for comparison: what a Node client adds.
  const viaFetch: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now();
    const r = await fetch(`${base}/v1/generate`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: genBody,
    });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`generate answered ${r.status}`);
    viaFetch.push(performance.now() - t0);
  }
  viaFetch.sort((a, b) => a - b);
  lat.sort((a, b) => a - b);
  paired.sort((a, b) => a - b);
  const r50 = pct(renders, 50);
  report(
    `generate 256x256, 1 client: p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms; ` +
      `engine alone p50 ${r50.toFixed(1)} ms, p99 ${pct(renders, 99).toFixed(1)} ms; ` +
      `overhead p50 ${(pct(lat, 50) - r50).toFixed(1)} ms (target <= 3), p99 ${(pct(lat, 99) - pct(renders, 99)).toFixed(1)} ms`,
  );
  report(
    `generate 256x256, 1 client, per request (latency minus that request's engine time, from Server-Timing): ` +
      `overhead p50 ${pct(paired, 50).toFixed(1)} ms (target <= 3), p99 ${pct(paired, 99).toFixed(1)} ms`,
  );
  report(
    `generate 256x256, 1 client through undici fetch (for comparison): p50 ${pct(viaFetch, 50).toFixed(1)} ms, ` +
      `that is ${(pct(viaFetch, 50) - pct(lat, 50)).toFixed(1)} ms more than the raw client`,
  );

  // 2b. 50 concurrent clients against the engine rendering the same requests directly, 2 at a time.
  const directStart = performance.now();
  let direct = 0;
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      while (performance.now() - directStart < DURATION * 1000) {
        await engine.generate(req(PROMPT, 256, 256, "png"));
        direct++;
      }
    }),
  );
  const directRate = direct / ((performance.now() - directStart) / 1000);
  const genRes = await load({
    url: `${base}/v1/generate`,
    method: "POST",
    connections: 50,
    headers: { ...auth, "content-type": "application/json" },
    body: genBody,
  });
  report(
    `generate 256x256, 50 clients: ${genRes.requests.average.toFixed(1)} gen/s (non-2xx ${genRes.non2xx}) vs engine direct ` +
      `${directRate.toFixed(1)} gen/s = ${(genRes.requests.average / directRate).toFixed(2)} (target >= 0.7)`,
  );

  // 2c. The job route: submit, then completed, against the sync route's rate just measured.
  const jobsRate = await jobsThroughput(base, auth, Math.max(100, Math.round(directRate * DURATION)));
  report(
    `jobs 256x256, submit to completed: ${jobsRate.toFixed(1)} jobs/s vs sync route ${genRes.requests.average.toFixed(1)} gen/s ` +
      `= ${(jobsRate / genRes.requests.average).toFixed(2)}`,
  );

  // 3. GET /v1/images/{token} of 1 MiB against plain AES-256-GCM decryption of the same bytes.
  const k = randomBytes(32);
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", k, iv);
  const ct = Buffer.concat([c.update(mib), c.final()]);
  const tag = c.getAuthTag();
  let imgErrors = 0;
  const img = await pairedRatio(
    PAIRS,
    async () => {
      const r = await fetchLoop(`${base}/v1/images/${image.token}`, {
        connections: 4,
        seconds: DURATION / PAIRS,
        headers: auth,
      });
      imgErrors += r.errors;
      return r.bytesPerSec / 1048576;
    },
    async () => {
      const start = performance.now();
      let decs = 0;
      while (performance.now() - start < (DURATION / PAIRS) * 1000) {
        const d = createDecipheriv("aes-256-gcm", k, iv);
        d.setAuthTag(tag);
        d.update(ct);
        d.final();
        decs++;
      }
      return decs / ((performance.now() - start) / 1000); // MiB/s
    },
  );
  // The baseline's own runs are printed too: on glibc its rate has two levels (about 2.4x apart here), as
  // the allocator keeps or hands back the pages of each call's fresh 1 MiB output (README, Benchmarks).
  report(
    `image 1 MiB: ${img.ours.toFixed(0)} MiB/s (one request per MiB; errors ${imgErrors}) vs AES-256-GCM decrypt ` +
      `${img.baseline.toFixed(0)} MiB/s (runs ${img.baselines.map((b) => b.toFixed(0)).join(", ")}); ` +
      `median of ${PAIRS} paired ratios ${img.median.toFixed(2)} ` +
      `(pairs ${img.ratios.map((r) => r.toFixed(2)).join(", ")}) (target >= 0.7)`,
  );

  // 4. Local engine render time per size and format.
  const sizes: [number, number][] = [
    [256, 256],
    [512, 512],
    [1024, 1024],
    [1536, 1024],
    [2048, 2048],
  ];
  for (const [w, h] of sizes) {
    const cells: string[] = [];
    for (const f of ["png", "jpeg", "webp"] as const) {
      const times: number[] = [];
      const n = w >= 2048 ? 3 : w >= 1024 ? 5 : 15;
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await engine.generate(req(PROMPT, w, h, f));
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      cells.push(`${f} ${pct(times, 50).toFixed(0)} ms`);
    }
    report(`render ${w}x${h}: ${cells.join(", ")}`);
  }

  // 5. The server's peak RSS over the whole run.
  report(`server peak RSS: ${peakRssMb(server.pid!).toFixed(0)} MB (target < 400)`);
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));

  // 6. From a job's completion to its SSE event and to its webhook at a local receiver.
  const events = await eventLatency(Number(process.env.BENCH_EVENT_JOBS ?? 60));
  report(latencyLine("completion to SSE event", events.sse, 5));
  report(latencyLine("completion to webhook received", events.webhook, 20));

  // 7. The engine router's own cost, against calling the engine directly.
  const r = await routerOverhead(DURATION);
  report(
    `router, fake OpenAI-compatible backend answering at once: ${r.routed.toFixed(0)} jobs/s vs engine direct ` +
      `${r.direct.toFixed(0)} jobs/s = ${(r.routed / r.direct).toFixed(2)}`,
  );
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
