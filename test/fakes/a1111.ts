/**
 * A fake AUTOMATIC1111 `sdapi` server (see PROTOCOLS.md): txt2img, img2img, progress, interrupt and
 * sd-models, optional HTTP Basic auth on every route, A1111's and FastAPI's error shapes, and one job at a
 * time like the real server's queue lock. Images are solid colours derived from the seed.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";

export type FakeA1111Mode = "ok" | "hang" | "crash" | "error" | "http500" | "garbage" | "redirect" | "empty";

export const FAKE_SAMPLERS = ["Euler a", "Euler", "DPM++ 2M"];

export interface FakeA1111Call {
  method: string;
  path: string;
  body?: unknown;
  headers: IncomingHttpHeaders;
}

interface Job {
  started: number;
  steps: number;
  interrupted: boolean;
  end(): void;
}

const MODEL = {
  title: "model.safetensors [6ce0161689]",
  model_name: "model",
  hash: "6ce0161689",
  config: null,
};
const INT_FIELDS = ["seed", "width", "height", "steps", "batch_size", "n_iter"];
const NUMBER_FIELDS = ["cfg_scale", "denoising_strength"];
const STRING_FIELDS = ["prompt", "negative_prompt", "sampler_name", "scheduler"];

/** What A1111's exception handler answers for any exception; `detail` is empty unless it is an HTTPException. */
function a1111Error(error: string, detail: string, errors: string) {
  return { error, detail, body: "", errors };
}

export function seedColour(seed: number): { r: number; g: number; b: number } {
  const s = seed < 0 ? 1234 : seed;
  return { r: s % 256, g: (s >> 8) % 256, b: 99 };
}

export class FakeA1111 {
  url = "";
  readonly calls: FakeA1111Call[] = [];
  mode: FakeA1111Mode = "ok";
  delayMs = 30;
  /** How long an interrupted job takes to stop: the real server finishes its current step first. */
  interruptDelayMs = 0;
  /** Answer images as `data:` URLs (some forks and proxies do). */
  dataUrl = false;
  /** Answered once by the next generation call, to replay a captured error body. */
  nextError?: { status: number; body: unknown };
  inFlight = 0;
  maxInFlight = 0;
  /** For each img2img call: how many init images came, and the first one's decoded size. */
  readonly initImages: { count: number; width: number; height: number }[] = [];

  private job?: Job;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private port = 0;
  private readonly server = createServer((req, res) => {
    this.handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) this.json(res, 500, a1111Error("Error", "", String(err)));
    });
  });

  constructor(private readonly auth?: { user: string; password: string }) {}

  get running(): boolean {
    return this.job !== undefined;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.port, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await done;
  }

  restart(): Promise<void> {
    return this.listen();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.job?.end();
    if (this.server.listening) await this.stop();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const raw = await readBody(req);
    let body: unknown;
    let badJson = false;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        badJson = true;
        body = raw.toString("utf8");
      }
    }
    this.calls.push({ method: req.method ?? "GET", path, body, headers: req.headers });

    if (this.mode === "http500") {
      res.writeHead(500, { "content-type": "text/plain" });
      return void res.end("Internal Server Error");
    }
    if (this.auth) {
      const given = req.headers.authorization;
      if (!given?.startsWith("Basic ")) return this.unauthorized(res, "Not authenticated");
      const expected = Buffer.from(`${this.auth.user}:${this.auth.password}`).toString("base64");
      if (given.slice(6) !== expected) return this.unauthorized(res, "Incorrect username or password");
    }

    const route = `${req.method} ${path}`;
    if (route === "GET /sdapi/v1/sd-models") return this.json(res, 200, [MODEL]);
    if (route === "GET /sdapi/v1/progress") return this.json(res, 200, this.progress());
    if (route === "POST /sdapi/v1/interrupt") {
      const job = this.job;
      if (job) {
        job.interrupted = true;
        if (this.interruptDelayMs > 0) setTimeout(job.end, this.interruptDelayMs);
        else job.end();
      }
      return this.json(res, 200, {});
    }
    if (route === "POST /sdapi/v1/txt2img" || route === "POST /sdapi/v1/img2img") {
      if (badJson) {
        return this.json(res, 422, {
          detail: [{ loc: ["body", 0], msg: "Expecting value", type: "value_error.jsondecode" }],
        });
      }
      return this.generate(res, (body ?? {}) as Record<string, unknown>, path.endsWith("img2img"));
    }
    return this.json(res, 404, { detail: "Not Found" });
  }

  private async generate(
    res: ServerResponse,
    body: Record<string, unknown>,
    img2img: boolean,
  ): Promise<void> {
    if (this.nextError) {
      const { status, body: errBody } = this.nextError;
      this.nextError = undefined;
      return this.json(res, status, errBody);
    }
    const invalid = validate(body);
    if (invalid.length) return this.json(res, 422, { detail: invalid });
    if (this.mode === "redirect") {
      res.writeHead(302, { location: "http://127.0.0.1:1/" });
      return void res.end();
    }
    const sampler = (body.sampler_name as string | undefined) ?? "Euler a";
    if (!FAKE_SAMPLERS.includes(sampler)) return this.httpException(res, 404, "Sampler not found");

    const batch = (body.batch_size as number | undefined) ?? 1;
    if (img2img) {
      const init = body.init_images;
      if (!Array.isArray(init) || init.length === 0)
        return this.httpException(res, 404, "Init image not found");
      const sizes = await Promise.all(init.map((b64) => decodeImage(b64)));
      const first = sizes[0];
      if (!first || sizes.some((s) => !s)) return this.httpException(res, 500, "Invalid encoded image");
      this.initImages.push({ count: init.length, ...first });
      if (init.length > batch) {
        const msg = `bad number of images passed: ${init.length}; expecting ${batch} or less`;
        return this.json(res, 500, a1111Error("RuntimeError", "", msg));
      }
    }

    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const release = await this.lock();
    try {
      if (this.mode === "crash") setTimeout(() => res.socket?.destroy(), this.delayMs / 2);
      await this.runJob((body.steps as number | undefined) ?? 50);
    } finally {
      this.inFlight--;
      release();
    }
    if (this.mode === "crash") return;
    if (this.mode === "error") {
      const msg = "CUDA out of memory. Tried to allocate 2.00 GiB";
      return this.json(res, 500, a1111Error("OutOfMemoryError", "", msg));
    }

    const width = (body.width as number | undefined) ?? 512;
    const height = (body.height as number | undefined) ?? 512;
    const seed = (body.seed as number | undefined) ?? -1;
    const count = this.mode === "empty" ? 0 : batch * ((body.n_iter as number | undefined) ?? 1);
    const images: string[] = [];
    for (let i = 0; i < count; i++) {
      const png =
        this.mode === "garbage"
          ? Buffer.from("this is definitely not a PNG file")
          : await sharp({ create: { width, height, channels: 3, background: seedColour(seed) } })
              .png()
              .toBuffer();
      images.push((this.dataUrl ? "data:image/png;base64," : "") + png.toString("base64"));
    }
    const parameters = { ...body, init_images: null };
    const info = {
      prompt: body.prompt,
      seed,
      all_seeds: [seed],
      width,
      height,
      sampler_name: sampler,
      steps: body.steps,
    };
    this.json(res, 200, { images, parameters, info: JSON.stringify(info) });
  }

  /** Like A1111's queue lock: one generation at a time, in arrival order. */
  private lock(): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const before = this.queue;
    this.queue = before.then(() => mine);
    return before.then(() => release);
  }

  private runJob(steps: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const job: Job = {
        started: Date.now(),
        steps,
        interrupted: false,
        end: () => {
          clearTimeout(timer);
          if (this.job === job) this.job = undefined;
          resolve();
        },
      };
      this.job = job;
      if (this.closed) job.end();
      else if (this.mode !== "hang") timer = setTimeout(job.end, this.delayMs);
    });
  }

  private progress() {
    const job = this.job;
    const elapsed = job ? Date.now() - job.started : 0;
    const steps = job?.steps ?? 0;
    const step = job ? Math.min(steps - 1, Math.floor((elapsed / Math.max(1, this.delayMs)) * steps)) : 0;
    const progress = job ? step / steps : 0;
    const state = {
      skipped: false,
      interrupted: job?.interrupted ?? false,
      job: job ? "txt2img" : "",
      job_count: job ? 1 : 0, // what the adapter reads to know the server is idle
      job_no: 0,
      sampling_step: step,
      sampling_steps: steps,
    };
    const eta = progress > 0 ? (elapsed / 1000 / progress) * (1 - progress) : 0;
    return { progress, eta_relative: eta, state, current_image: null, textinfo: null };
  }

  private unauthorized(res: ServerResponse, detail: string): void {
    res.setHeader("www-authenticate", "Basic");
    this.httpException(res, 401, detail);
  }

  /** An HTTPException raised by an sdapi route, as A1111's exception handler answers it. */
  private httpException(res: ServerResponse, status: number, detail: string): void {
    this.json(res, status, a1111Error("HTTPException", detail, `${status}: ${detail}`));
  }

  private json(res: ServerResponse, status: number, doc: unknown): void {
    if (res.destroyed) return;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(doc));
  }
}

/** Pydantic-style type checks of the fields the request model declares, as FastAPI answers them (422). */
function validate(body: Record<string, unknown>) {
  const errors: { loc: string[]; msg: string; type: string }[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined || value === null) continue;
    if (INT_FIELDS.includes(key) && !Number.isInteger(value))
      errors.push({ loc: ["body", key], msg: "value is not a valid integer", type: "type_error.integer" });
    if (NUMBER_FIELDS.includes(key) && typeof value !== "number")
      errors.push({ loc: ["body", key], msg: "value is not a valid float", type: "type_error.float" });
    if (STRING_FIELDS.includes(key) && typeof value !== "string")
      errors.push({ loc: ["body", key], msg: "str type expected", type: "type_error.str" });
  }
  return errors;
}

async function decodeImage(b64: unknown): Promise<{ width: number; height: number } | undefined> {
  if (typeof b64 !== "string") return undefined;
  try {
    const meta = await sharp(Buffer.from(b64.replace(/^data:image\/\w+;base64,/, ""), "base64")).metadata();
    return meta.width && meta.height ? { width: meta.width, height: meta.height } : undefined;
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function startFakeA1111(
  opts: { auth?: { user: string; password: string } } = {},
): Promise<FakeA1111> {
  const fake = new FakeA1111(opts.auth);
  await fake.listen();
  return fake;
}
