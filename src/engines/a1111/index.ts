/** AUTOMATIC1111 / Forge through its `sdapi` routes: txt2img, img2img, progress, interrupt. */
import type { EngineDeps, EngineInstanceConfig } from "../instance.js";
import { normalizeOutput } from "../shared/output.js";
import {
  basicAuth,
  parseJson,
  sleep,
  statusError,
  upstream,
  type UpstreamResponse,
  abortError,
} from "../shared/upstream.js";
import { EngineError, type Engine, type EngineRequest, type EngineResult } from "../types.js";
import { describeSdapiError } from "./errors.js";
import { readParams, type A1111Params } from "./params.js";
import { Slots } from "./slots.js";

const PROGRESS_INTERVAL_MS = 500;
/** Progress and interrupt answers are tiny; the cap only guards against a misbehaving server. */
const SMALL_ANSWER_BYTES = 1024 * 1024;
const INTERRUPT_TIMEOUT_MS = 5_000;
/** After an interrupt the server finishes its current step; how long we wait for it before moving on. */
const SETTLE_TIMEOUT_MS = 10_000;
const SETTLE_INTERVAL_MS = 250;

export class A1111Engine implements Engine {
  readonly kind = "a1111";
  readonly supportsEdit = true;
  // img2img has no way to combine two images (each init image only yields its own output), so a
  // two-image edit is left to a route whose engine can do it.
  readonly maxSourceImages = 1;

  private readonly base: string;
  private readonly what: string;
  private readonly slots: Slots;

  constructor(
    private readonly cfg: EngineInstanceConfig,
    private readonly deps: EngineDeps,
  ) {
    if (!cfg.url) throw new Error(`a1111 ${cfg.id}: a url is required`);
    this.base = cfg.url.replace(/\/+$/, "");
    this.what = `a1111 ${cfg.id}`;
    this.slots = new Slots(cfg.concurrency);
  }

  async generate(req: EngineRequest): Promise<EngineResult> {
    const params = readParams(req.params, this.what);
    if (req.images.length > this.maxSourceImages)
      throw new EngineError(`${this.what}: img2img takes only ${this.maxSourceImages} source image`);

    const release = await this.slots.acquire(req.signal, this.what);
    let settle = false;
    try {
      const result = await this.run(req, params);
      if (req.signal.aborted) throw abortError(req.signal, this.what);
      req.onProgress?.(1);
      return result;
    } catch (err) {
      if (!req.signal.aborted) throw err;
      // Only an interrupt (sent at concurrency 1, see run) leaves a step to settle; otherwise the server's
      // job count includes others' jobs and would hold the slot for nothing.
      settle = this.cfg.concurrency === 1;
      throw abortError(req.signal, this.what);
    } finally {
      // An interrupted server still finishes its current step; the slot stays taken until it is idle so
      // the next job does not overlap the one being stopped. The caller is not kept waiting for that.
      if (settle) void this.waitIdle().finally(release);
      else release();
    }
  }

  async probe(signal: AbortSignal): Promise<void> {
    const what = `${this.what}: probe`;
    const res = await upstream(`${this.base}/sdapi/v1/sd-models`, what, {
      headers: this.headers(),
      signal,
      maxBytes: this.deps.maxResponseBytes,
    });
    if (res.status !== 200) throw this.failure(res, what);
    if (!Array.isArray(parseJson(res, what)))
      throw new EngineError(`${what}: /sdapi/v1/sd-models did not answer a list of models`, true);
  }

  private async run(req: EngineRequest, params: A1111Params): Promise<EngineResult> {
    const edit = req.images.length > 0;
    const route = edit ? "img2img" : "txt2img";
    const body = JSON.stringify(this.body(req, params));
    if (req.signal.aborted) throw abortError(req.signal, this.what);

    const polling = new AbortController();
    let interrupting: Promise<void> | undefined;
    const onAbort = () => {
      polling.abort();
      // /sdapi/v1/interrupt stops whatever the server is running, and A1111 has no job ids to aim it. Only
      // with one job at a time on this instance is that job surely ours; with more, another job (maybe
      // another tenant's) would be cut short, so the request is just dropped and the server finishes it.
      if (this.cfg.concurrency === 1) interrupting = this.interrupt();
    };
    req.signal.addEventListener("abort", onAbort, { once: true });
    const progress = this.pollProgress(req, polling.signal);

    let res: UpstreamResponse;
    try {
      res = await upstream(`${this.base}/sdapi/v1/${route}`, this.what, {
        method: "POST",
        headers: { ...this.headers(), "content-type": "application/json" },
        body,
        signal: req.signal,
        maxBytes: this.deps.maxResponseBytes,
      });
    } finally {
      req.signal.removeEventListener("abort", onAbort);
      polling.abort();
      await progress;
      // Rejecting only once the server has been told to stop keeps a cancel from leaving a job running.
      if (interrupting) await interrupting;
    }

    if (res.status !== 200) throw this.failure(res, this.what);
    const doc = parseJson(res, this.what) as { images?: unknown } | null;
    const images = doc && typeof doc === "object" ? doc.images : undefined;
    const first: unknown = Array.isArray(images) ? images[0] : undefined;
    if (typeof first !== "string" || first === "")
      throw new EngineError(`${this.what}: the backend answered without an image`);
    const bytes = Buffer.from(first.replace(/^data:[^,]*,/, ""), "base64");
    return normalizeOutput(bytes, req, this.deps.maxPixels, this.what);
  }

  private body(req: EngineRequest, p: A1111Params): Record<string, unknown> {
    const body: Record<string, unknown> = {
      prompt: req.prompt,
      negative_prompt: req.negativePrompt ?? "",
      seed: req.seed,
      width: req.width,
      height: req.height,
      steps: p.steps,
      cfg_scale: p.cfgScale,
      sampler_name: p.sampler,
      batch_size: 1,
      n_iter: 1,
      send_images: true,
      save_images: false,
    };
    if (p.scheduler !== undefined) body.scheduler = p.scheduler;
    if (p.checkpoint !== undefined) body.override_settings = { sd_model_checkpoint: p.checkpoint };
    if (req.images.length > 0) {
      body.init_images = req.images.map((img) => img.bytes.toString("base64"));
      body.denoising_strength = p.denoisingStrength;
    }
    return body;
  }

  private headers(): Record<string, string> {
    return { ...this.cfg.headers, ...basicAuth(this.cfg.username, this.cfg.password) };
  }

  private failure(res: UpstreamResponse, what: string): EngineError {
    if (res.status === 401) {
      return new EngineError(
        this.cfg.username === undefined
          ? `${what}: the backend requires HTTP Basic auth (401); configure a username and password for this instance`
          : `${what}: the backend refused the configured credentials (401)`,
      );
    }
    const detail = describeSdapiError(res.body);
    // FastAPI's bare 404 means the sdapi routes are not mounted: the server runs without --api.
    if (res.status === 404 && detail === "Not Found")
      return new EngineError(`${what}: the backend has no sdapi routes (start it with --api)`, true);
    return statusError(res, what, detail);
  }

  /** Reports A1111's progress fraction while the generation call is in flight; best effort. */
  private async pollProgress(req: EngineRequest, signal: AbortSignal): Promise<void> {
    if (!req.onProgress) return;
    let last = 0;
    try {
      for (;;) {
        await sleep(PROGRESS_INTERVAL_MS, signal);
        const state = await this.progress(signal).catch(() => undefined);
        if (signal.aborted) return;
        const p = state?.progress;
        // 1 is reported once the image is in hand; a server-wide value can also step back (a new pass).
        if (p !== undefined && p > last && p < 1) {
          last = p;
          req.onProgress(p);
        }
      }
    } catch {
      // The poll's own signal fired (the job ended), or onProgress threw: progress is not worth a failure.
    }
  }

  private async progress(signal: AbortSignal): Promise<{ progress?: number; jobCount?: number } | undefined> {
    const res = await upstream(
      `${this.base}/sdapi/v1/progress?skip_current_image=true`,
      `${this.what}: progress`,
      {
        headers: this.headers(),
        signal,
        maxBytes: SMALL_ANSWER_BYTES,
      },
    );
    if (res.status !== 200) return undefined;
    const doc = JSON.parse(res.body.toString("utf8")) as {
      progress?: unknown;
      state?: { job_count?: unknown };
    };
    const progress =
      typeof doc.progress === "number" && Number.isFinite(doc.progress) ? doc.progress : undefined;
    const jobCount = typeof doc.state?.job_count === "number" ? doc.state.job_count : undefined;
    return { progress: progress === undefined ? undefined : Math.min(1, Math.max(0, progress)), jobCount };
  }

  private async interrupt(): Promise<void> {
    try {
      const res = await upstream(`${this.base}/sdapi/v1/interrupt`, `${this.what}: interrupt`, {
        method: "POST",
        headers: this.headers(),
        signal: AbortSignal.timeout(INTERRUPT_TIMEOUT_MS),
        maxBytes: SMALL_ANSWER_BYTES,
      });
      if (res.status !== 200)
        this.deps.log.warn({ engine: this.cfg.id, status: res.status }, "a1111 interrupt refused");
    } catch (err) {
      this.deps.log.warn({ engine: this.cfg.id, err: (err as Error).message }, "a1111 interrupt failed");
    }
  }

  /** Waits (bounded) until the server reports no running job, or stops answering. */
  private async waitIdle(): Promise<void> {
    const deadline = AbortSignal.timeout(SETTLE_TIMEOUT_MS);
    try {
      for (;;) {
        const state = await this.progress(deadline);
        if (!state || state.jobCount === undefined || state.jobCount === 0) return;
        await sleep(SETTLE_INTERVAL_MS, deadline);
      }
    } catch {
      // Unreachable or past the deadline: nothing more to wait for.
    }
  }
}
