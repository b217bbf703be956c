/**
 * The ComfyUI engine: fills a workflow template, uploads the source images, queues the graph, follows it on
 * the instance's WebSocket (history polling when the socket is down or misses the end), and fetches the
 * first saved image.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { EngineDeps, EngineInstanceConfig } from "../instance.js";
import { normalizeOutput } from "../shared/output.js";
import {
  basicAuth,
  excerpt,
  parseJson,
  statusError,
  upstream,
  withTimeout,
  type UpstreamResponse,
  abortError,
} from "../shared/upstream.js";
import {
  EngineError,
  MIME_TYPES,
  type Engine,
  type EngineRequest,
  type EngineResult,
  type SourceImage,
} from "../types.js";
import { readParams } from "./params.js";
import { ComfySocket } from "./socket.js";
import {
  checkPlaceholders,
  fillTemplate,
  isRecord,
  placeholdersIn,
  type PlaceholderValues,
  type Workflow,
} from "./template.js";
import { executionError, interruptedError, PromptWatch } from "./watch.js";

/** Consecutive failed history polls after which the backend is taken for dead. */
const MAX_POLL_FAILURES = 3;
const POLL_MS = 1_000;
/** With the socket up, polling is only the safety net for a missed event. */
const POLL_MS_WITH_SOCKET = 3_000;
/** After the success event, while the history entry may not be written yet. */
const RACE_POLL_MS = 100;
const RACE_WINDOW_MS = 3_000;
const REQUEST_TIMEOUT_MS = 15_000;
const IMAGE_PLACEHOLDERS = ["image", "image2"] as const;

type Json = Record<string, unknown>;
type QueuePosition = "running" | "pending" | "absent";

export class ComfyUiEngine implements Engine {
  readonly kind = "comfyui";
  readonly supportsEdit = true;
  readonly maxSourceImages = 2;
  private readonly base: string;
  private readonly what: string;
  private readonly headers: Record<string, string>;
  private readonly socket: ComfySocket;

  constructor(
    cfg: EngineInstanceConfig,
    private readonly deps: EngineDeps,
  ) {
    if (!cfg.url) throw new Error(`comfyui engine ${cfg.id}: a url is required`);
    const url = new URL(cfg.url);
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new Error(`comfyui engine ${cfg.id}: the url must be http or https`);
    this.base = cfg.url.replace(/\/+$/, "");
    this.what = `comfyui ${cfg.id}`;
    this.headers = {
      ...basicAuth(cfg.username, cfg.password),
      ...(cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {}),
      ...cfg.headers,
    };
    this.socket = new ComfySocket(
      `${this.base.replace(/^http/i, "ws")}/ws`,
      this.headers,
      Math.min(deps.maxResponseBytes, 64 * 1024 * 1024),
      deps.log,
    );
  }

  async generate(req: EngineRequest): Promise<EngineResult> {
    const { what } = this;
    const { signal } = req;
    if (signal.aborted) throw abortError(signal, what);
    if (req.images.length > this.maxSourceImages)
      throw new EngineError(`${what}: at most ${this.maxSourceImages} source images`);

    const p = readParams(req.params, req.images.length, what);
    const values: PlaceholderValues = {
      prompt: req.prompt,
      negative_prompt: req.negativePrompt ?? "",
      seed: req.seed,
      width: req.width,
      height: req.height,
      checkpoint: p.checkpoint,
      steps: p.steps,
      cfg: p.cfg,
      sampler: p.sampler,
      scheduler: p.scheduler,
      denoise: p.denoise,
    };
    this.checkTemplate(p.workflow, p.workflowParam, req.images.length, values);
    for (const [i, img] of req.images.entries()) {
      values[IMAGE_PLACEHOLDERS[i] as (typeof IMAGE_PLACEHOLDERS)[number]] = await this.upload(img, signal);
    }
    const graph = fillTemplate(p.workflow, values, what);

    // Subscribed before queueing, under an id we choose, so a fast prompt cannot finish unseen.
    await this.socket.ready(2_000, signal);
    if (signal.aborted) throw abortError(signal, what);
    let promptId: string = randomUUID();
    const watch = new PromptWatch(this.socket, promptId, what, req.onProgress);
    try {
      promptId = await this.queue(graph, promptId, signal);
      watch.follow(promptId);
      const entry = await this.waitForHistory(promptId, watch, signal);
      const bytes = await this.view(entry, signal);
      const out = await normalizeOutput(bytes, req, this.deps.maxPixels, what);
      if (signal.aborted) throw abortError(signal, what);
      req.onProgress?.(1);
      return out;
    } catch (err) {
      if (!signal.aborted) throw err;
      await this.stop(promptId);
      throw abortError(signal, what);
    } finally {
      watch.dispose();
    }
  }

  async probe(signal: AbortSignal): Promise<void> {
    const what = `${this.what}: probe`;
    const res = await this.request("/system_stats", what, { signal });
    if (res.status !== 200) throw statusError(res, what);
    const body = parseJson(res, what);
    if (!isRecord(body) || !Array.isArray(body.devices))
      throw new EngineError(`${what}: /system_stats did not answer a devices list`, true);
  }

  /** Closes the WebSocket; the engine must not be used afterwards. */
  close(): void {
    this.socket.close();
  }

  /** Every placeholder known and valued, and every source image used, before anything is uploaded. */
  private checkTemplate(workflow: Workflow, param: string, images: number, values: PlaceholderValues): void {
    const used = placeholdersIn(workflow, this.what);
    const withImages: PlaceholderValues = { ...values };
    for (let i = 0; i < images; i++) {
      const name = IMAGE_PLACEHOLDERS[i] as (typeof IMAGE_PLACEHOLDERS)[number];
      if (!used.has(name)) {
        throw new EngineError(
          `${this.what}: the ${param} template has no {{${name}}} placeholder for source image ${i + 1}`,
        );
      }
      withImages[name] = "";
    }
    checkPlaceholders(used, withImages, this.what);
  }

  private request(
    path: string,
    what: string,
    opts: { method?: string; json?: unknown; body?: FormData; signal: AbortSignal },
  ): Promise<UpstreamResponse> {
    const headers =
      opts.json === undefined ? this.headers : { ...this.headers, "content-type": "application/json" };
    return upstream(`${this.base}${path}`, what, {
      method: opts.method ?? "GET",
      headers,
      body: opts.json === undefined ? opts.body : JSON.stringify(opts.json),
      signal: opts.signal,
      maxBytes: this.deps.maxResponseBytes,
    });
  }

  /** Runs a poll under the job's signal plus its own timeout, so a silent dead host cannot stall the wait. */
  private async bounded<T>(signal: AbortSignal, fn: (s: AbortSignal) => Promise<T>): Promise<T> {
    const t = withTimeout(signal, REQUEST_TIMEOUT_MS, this.what);
    try {
      return await fn(t.signal);
    } finally {
      t.clear();
    }
  }

  private async upload(img: SourceImage, signal: AbortSignal): Promise<string> {
    const what = `${this.what}: image upload`;
    // A fresh name per upload: with overwrite on, concurrent jobs never see each other's sources.
    const filename = `zekron_${randomBytes(12).toString("hex")}.${img.format === "jpeg" ? "jpg" : img.format}`;
    const form = new FormData();
    form.append("image", new Blob([new Uint8Array(img.bytes)], { type: MIME_TYPES[img.format] }), filename);
    form.append("type", "input");
    form.append("overwrite", "true");
    const res = await this.request("/upload/image", what, { method: "POST", body: form, signal });
    if (res.status !== 200) throw statusError(res, what);
    const body = parseJson(res, what);
    if (!isRecord(body) || typeof body.name !== "string" || !body.name)
      throw new EngineError(`${what}: the backend's answer has no file name`);
    const subfolder = typeof body.subfolder === "string" ? body.subfolder : "";
    return subfolder ? `${subfolder}/${body.name}` : body.name;
  }

  /** Queues the graph; answers the prompt id the server uses (older servers ignore the one we send). */
  private async queue(graph: Workflow, promptId: string, signal: AbortSignal): Promise<string> {
    const { what } = this;
    const res = await this.request("/prompt", what, {
      method: "POST",
      json: { prompt: graph, client_id: this.socket.clientId, prompt_id: promptId, extra_data: {} },
      signal,
    });
    if (res.status === 400) throw this.rejected(res);
    if (res.status !== 200) throw statusError(res, what);
    const body = parseJson(res, what);
    if (!isRecord(body) || typeof body.prompt_id !== "string" || !body.prompt_id)
      throw new EngineError(`${what}: the backend queued the prompt without answering its id`);
    return body.prompt_id;
  }

  /** A validation failure of POST /prompt, naming the first failing node and its first error. */
  private rejected(res: UpstreamResponse): EngineError {
    const what = `${this.what}: workflow rejected`;
    let body: unknown;
    try {
      body = JSON.parse(res.body.toString("utf8"));
    } catch {
      return statusError(res, what);
    }
    if (!isRecord(body)) return statusError(res, what);
    const nodeErrors = isRecord(body.node_errors) ? Object.entries(body.node_errors) : [];
    const [first] = nodeErrors;
    if (first) {
      const [id, info] = first;
      const node = isRecord(info) ? info : {};
      const cls = typeof node.class_type === "string" ? ` (${node.class_type})` : "";
      const err = Array.isArray(node.errors) && isRecord(node.errors[0]) ? node.errors[0] : {};
      const more = nodeErrors.length > 1 ? ` (and ${nodeErrors.length - 1} more failing nodes)` : "";
      return new EngineError(`${what}: node ${id}${cls}: ${excerpt(describe(err), 500)}${more}`);
    }
    if (typeof body.error === "string") return new EngineError(`${what}: ${excerpt(body.error, 500)}`);
    if (isRecord(body.error)) return new EngineError(`${what}: ${excerpt(describe(body.error), 500)}`);
    return statusError(res, what);
  }

  private async waitForHistory(promptId: string, watch: PromptWatch, signal: AbortSignal): Promise<Json> {
    const { what } = this;
    let failures = 0;
    let generation = this.socket.generation;
    for (;;) {
      const racing = watch.doneAt !== undefined && Date.now() - watch.doneAt < RACE_WINDOW_MS;
      const ms = racing
        ? RACE_POLL_MS
        : this.socket.open && failures === 0 && watch.doneAt === undefined
          ? POLL_MS_WITH_SOCKET
          : POLL_MS;
      await watch.sleep(ms, signal, failures > 0);
      if (signal.aborted) throw abortError(signal, what);
      if (watch.failure) throw watch.failure;
      let entry: Json | undefined;
      let position: QueuePosition | undefined;
      try {
        // A reconnected socket or a failed poll may mean the server restarted and forgot the prompt. The
        // queue is read before the history: a prompt moves from one to the other atomically, so one that is
        // in neither was lost.
        const suspicious = failures > 0 || generation !== this.socket.generation;
        if (suspicious) position = await this.position(promptId, signal);
        entry = await this.history(promptId, signal);
        generation = this.socket.generation;
        failures = 0;
      } catch (err) {
        if (signal.aborted) throw abortError(signal, what);
        if (!(err instanceof EngineError) || !err.retryable) throw err;
        if (++failures >= MAX_POLL_FAILURES) {
          const detail = err.message.startsWith(`${what}: `)
            ? err.message.slice(what.length + 2)
            : err.message;
          throw new EngineError(
            `${what}: lost the backend while waiting for prompt ${promptId} (${detail})`,
            true,
          );
        }
        continue;
      }
      if (entry) return this.settled(entry);
      if (position === "absent")
        throw new EngineError(`${what}: the backend lost prompt ${promptId} (was it restarted?)`, true);
    }
  }

  /** The finished history entry, or the error it records. */
  private settled(entry: Json): Json {
    const status = isRecord(entry.status) ? entry.status : undefined;
    if (status?.status_str !== "error") return entry;
    const messages = Array.isArray(status.messages) ? status.messages : [];
    for (const m of messages) {
      if (!Array.isArray(m) || !isRecord(m[1])) continue;
      if (m[0] === "execution_error") throw executionError(this.what, m[1]);
      if (m[0] === "execution_interrupted") throw interruptedError(this.what);
    }
    throw new EngineError(`${this.what}: the prompt failed on the backend`);
  }

  private async history(promptId: string, signal: AbortSignal): Promise<Json | undefined> {
    const what = `${this.what}: history`;
    const res = await this.bounded(signal, (s) =>
      this.request(`/history/${encodeURIComponent(promptId)}`, what, { signal: s }),
    );
    if (res.status !== 200) throw statusError(res, what);
    const body = parseJson(res, what);
    if (!isRecord(body))
      throw new EngineError(`${what}: the backend answered something that is not an object`);
    const entry = body[promptId];
    return isRecord(entry) ? entry : undefined;
  }

  private async position(promptId: string, signal: AbortSignal): Promise<QueuePosition> {
    const what = `${this.what}: queue`;
    const res = await this.bounded(signal, (s) => this.request("/queue", what, { signal: s }));
    if (res.status !== 200) throw statusError(res, what);
    const body = parseJson(res, what);
    // Queue items are [number, prompt_id, prompt, extra_data, outputs_to_execute].
    const has = (list: unknown) =>
      Array.isArray(list) && list.some((it) => Array.isArray(it) && it[1] === promptId);
    if (!isRecord(body))
      throw new EngineError(`${what}: the backend answered something that is not an object`);
    return has(body.queue_running) ? "running" : has(body.queue_pending) ? "pending" : "absent";
  }

  /**
   * Stops a prompt after a cancel or timeout: a pending one is deleted from the queue, a running one is
   * interrupted. The interrupt names the prompt, and is only sent when the queue says ours is the running
   * one (or the queue cannot be read), because older servers interrupt whatever runs, whoever queued it.
   */
  private async stop(promptId: string): Promise<void> {
    const signal = AbortSignal.timeout(3_000);
    const where = () => this.position(promptId, signal).catch(() => "unknown" as const);
    const post = (path: string, json: unknown) =>
      this.request(path, `${this.what}: stop`, { method: "POST", json, signal }).catch((err: unknown) => {
        this.deps.log.warn({ err: (err as Error).message, promptId }, "comfyui: could not stop a prompt");
      });
    let position = await where();
    if (position === "pending" || position === "unknown") {
      await post("/queue", { delete: [promptId] });
      // It may have started between the look-up and the delete.
      if (position === "pending") position = await where();
    }
    if (position === "running" || position === "unknown") await post("/interrupt", { prompt_id: promptId });
  }

  /** The bytes of the first saved image; previews ("temp") are skipped. */
  private async view(entry: Json, signal: AbortSignal): Promise<Buffer> {
    const what = `${this.what}: output`;
    const outputs = isRecord(entry.outputs) ? Object.values(entry.outputs) : [];
    const image = outputs
      .flatMap((o) => (isRecord(o) && Array.isArray(o.images) ? (o.images as unknown[]) : []))
      .find((img): img is Json => isRecord(img) && typeof img.filename === "string" && img.type === "output");
    if (!image) throw new EngineError(`${what}: the workflow saved no image (it needs a SaveImage node)`);
    const query = new URLSearchParams({
      filename: image.filename as string,
      subfolder: typeof image.subfolder === "string" ? image.subfolder : "",
      type: "output",
    });
    const res = await this.request(`/view?${query.toString()}`, what, { signal });
    if (res.status !== 200) throw statusError(res, what);
    return res.body;
  }
}

/** `message: details` of a ComfyUI error object, without saying the same thing twice. */
function describe(err: Json): string {
  const message = typeof err.message === "string" ? err.message.trim() : "";
  const details = typeof err.details === "string" ? err.details.trim() : "";
  if (message && details && !details.includes(message)) return `${message}: ${details}`;
  return details || message || (typeof err.type === "string" ? err.type : "unknown error");
}
