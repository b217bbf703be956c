/**
 * An OpenAI-compatible images API as an upstream (`POST /images/generations`, `POST /images/edits`).
 * OpenAI has no seed, no negative prompt, no progress and no interrupt route: the negative prompt is folded
 * into the prompt, progress is reported at the few points we know of, and a cancel aborts the request.
 */
import type { EngineDeps, EngineInstanceConfig } from "../instance.js";
import { normalizeOutput } from "../shared/output.js";
import {
  abortError,
  excerpt,
  parseJson,
  retryableStatus,
  upstream,
  type UpstreamResponse,
} from "../shared/upstream.js";
import { EngineError, MIME_TYPES, type Engine, type EngineRequest, type EngineResult } from "../types.js";
import { fetchResultUrl } from "./result-url.js";

const DEFAULT_MODEL = "gpt-image-1";
const DEFAULT_SIZES = ["1024x1024", "1536x1024", "1024x1536"];

export interface OpenAIEngineOptions {
  /** Lets result URLs on loopback and private addresses be fetched; refused by default. */
  allowPrivateResultUrls?: boolean;
}

interface Size {
  text: string;
  width: number;
  height: number;
}

function parseSize(text: string): Size | null {
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(text);
  if (!m) return null;
  const width = Number(m[1]);
  const height = Number(m[2]);
  return width > 0 && height > 0 ? { text, width, height } : null;
}

/** The upstream size whose aspect ratio is closest to width:height; on a tie, the larger one. */
export function chooseSize(sizes: string[], width: number, height: number): string {
  const want = Math.log(width / height);
  let best: { size: Size; distance: number } | undefined;
  for (const text of sizes) {
    const size = parseSize(text);
    if (!size) continue;
    const distance = Math.abs(Math.log(size.width / size.height) - want);
    const tie = best !== undefined && Math.abs(distance - best.distance) < 1e-9;
    if (
      best === undefined ||
      (tie && size.width * size.height > best.size.width * best.size.height) ||
      (!tie && distance < best.distance)
    ) {
      best = { size, distance };
    }
  }
  if (!best) throw new EngineError("openai: no usable upstream size configured");
  return best.size.text;
}

/** What the route's parameters say, checked: a misconfigured route fails clearly, not upstream. */
interface Settings {
  model: string;
  sizes: string[];
  quality?: string;
  responseFormat?: "b64_json" | "url";
  negativePromptMode: "append" | "ignore";
}

function optionalString(params: Record<string, unknown>, key: string, what: string): string | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v === "")
    throw new EngineError(`${what}: the parameter ${key} must be a string`);
  return v;
}

function settings(params: Record<string, unknown> | undefined, what: string): Settings {
  const p = params ?? {};
  const model = optionalString(p, "model", what) ?? DEFAULT_MODEL;
  let sizes = DEFAULT_SIZES;
  if (p.sizes !== undefined) {
    if (
      !Array.isArray(p.sizes) ||
      p.sizes.length === 0 ||
      !p.sizes.every((s) => typeof s === "string" && parseSize(s))
    ) {
      throw new EngineError(`${what}: the parameter sizes must be a non-empty list of "WxH" sizes`);
    }
    sizes = p.sizes as string[];
  }
  const responseFormat = optionalString(p, "response_format", what);
  if (responseFormat !== undefined && responseFormat !== "b64_json" && responseFormat !== "url") {
    throw new EngineError(`${what}: the parameter response_format must be "b64_json" or "url"`);
  }
  const negativePromptMode = optionalString(p, "negative_prompt_mode", what) ?? "append";
  if (negativePromptMode !== "append" && negativePromptMode !== "ignore") {
    throw new EngineError(`${what}: the parameter negative_prompt_mode must be "append" or "ignore"`);
  }
  return { model, sizes, quality: optionalString(p, "quality", what), responseFormat, negativePromptMode };
}

/** OpenAI has no negative prompt; the closest thing is to say it in the prompt. */
export function promptWithNegative(
  prompt: string,
  negative: string | undefined,
  mode: "append" | "ignore",
): string {
  const n = negative?.trim();
  return n && mode === "append" ? `${prompt}\nAvoid: ${n}` : prompt;
}

export class OpenAIEngine implements Engine {
  readonly kind = "openai";
  readonly supportsEdit = true;
  readonly maxSourceImages = 2;
  private readonly base: string;
  private readonly what: string;

  constructor(
    private readonly cfg: EngineInstanceConfig,
    private readonly deps: EngineDeps,
    private readonly opts: OpenAIEngineOptions = {},
  ) {
    if (!cfg.url) throw new Error(`engine ${cfg.id}: an openai engine needs a url`);
    this.base = cfg.url.replace(/\/+$/, "");
    this.what = `openai ${cfg.id}`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...this.cfg.headers,
      ...(this.cfg.apiKey ? { authorization: `Bearer ${this.cfg.apiKey}` } : {}),
      ...extra,
    };
  }

  /** Keeps the key out of anything we pass on, whatever the upstream echoed. */
  private scrub(text: string): string {
    const key = this.cfg.apiKey;
    return key ? text.split(key).join("***") : text;
  }

  /** `{"error": {"message", "type", "param", "code"}}` as "<name>: <message>". */
  private errorFor(res: UpstreamResponse): EngineError {
    const what = this.what;
    // OpenAI's 401 message quotes part of the key; say what happened without it.
    if (res.status === 401) return new EngineError(`${what}: the upstream refused the API key`, false);
    const retryable = retryableStatus(res.status);
    let message: string | undefined;
    try {
      const body = JSON.parse(res.body.toString("utf8")) as { error?: unknown; message?: unknown };
      const err = body.error;
      if (err && typeof err === "object") {
        const { message: m, param } = err as { message?: unknown; param?: unknown };
        if (typeof m === "string" && m) {
          message = typeof param === "string" && param && !m.includes(param) ? `${m} (param: ${param})` : m;
        }
      } else if (typeof err === "string" && err) {
        message = err;
      } else if (typeof body.message === "string" && body.message) {
        message = body.message;
      }
    } catch {
      // Not JSON: the excerpt below says what it was.
    }
    if (!message) {
      const text = excerpt(res.body);
      message = `the upstream answered ${res.status}${text ? `: ${text}` : ""}`;
    } else if (res.status === 429) {
      message = `rate limited: ${message}`;
    }
    return new EngineError(`${what}: ${this.scrub(message)}`, retryable);
  }

  async generate(req: EngineRequest): Promise<EngineResult> {
    const what = this.what;
    if (req.signal.aborted) throw abortError(req.signal, what);
    if (req.images.length > this.maxSourceImages) {
      throw new EngineError(`${what}: an edit takes at most ${this.maxSourceImages} source images`);
    }
    const s = settings(req.params, what);
    const size = chooseSize(s.sizes, req.width, req.height);
    const prompt = promptWithNegative(req.prompt, req.negativePrompt, s.negativePromptMode);

    let pending: Promise<UpstreamResponse>;
    if (req.images.length === 0) {
      const body = {
        model: s.model,
        prompt,
        n: 1,
        size,
        ...(s.quality !== undefined ? { quality: s.quality } : {}),
        // Sent only when configured: GPT image models reject the field, dall-e models need it for URLs.
        ...(s.responseFormat !== undefined ? { response_format: s.responseFormat } : {}),
      };
      pending = upstream(`${this.base}/images/generations`, what, {
        method: "POST",
        headers: this.headers({ "content-type": "application/json" }),
        body: JSON.stringify(body),
        signal: req.signal,
        maxBytes: this.deps.maxResponseBytes,
      });
    } else {
      // As the official SDK sends it: one file as `image`, several as repeated `image[]`, numbers as strings.
      const form = new FormData();
      const field = req.images.length === 1 ? "image" : "image[]";
      req.images.forEach((img, i) => {
        const ext = img.format === "jpeg" ? "jpg" : img.format;
        form.append(
          field,
          new Blob([new Uint8Array(img.bytes)], { type: MIME_TYPES[img.format] }),
          `image-${i + 1}.${ext}`,
        );
      });
      form.append("prompt", prompt);
      form.append("model", s.model);
      form.append("n", "1");
      form.append("size", size);
      if (s.quality !== undefined) form.append("quality", s.quality);
      if (s.responseFormat !== undefined) form.append("response_format", s.responseFormat);
      pending = upstream(`${this.base}/images/edits`, what, {
        method: "POST",
        headers: this.headers(),
        body: form,
        signal: req.signal,
        maxBytes: this.deps.maxResponseBytes,
      });
    }
    // The request is on its way; OpenAI reports nothing more until the image is done.
    req.onProgress?.(0.05);
    const res = await pending;
    if (res.status < 200 || res.status >= 300) throw this.errorFor(res);
    req.onProgress?.(0.9);

    const bytes = await this.resultBytes(parseJson(res, what), req.signal);
    return normalizeOutput(bytes, req, this.deps.maxPixels, what);
  }

  private async resultBytes(body: unknown, signal: AbortSignal): Promise<Buffer> {
    const what = this.what;
    const data = (body as { data?: unknown } | null)?.data;
    const first: unknown = Array.isArray(data) ? data[0] : undefined;
    if (!first || typeof first !== "object") {
      throw new EngineError(`${what}: the upstream's answer holds no image (no data[0])`);
    }
    const { b64_json: b64, url } = first as { b64_json?: unknown; url?: unknown };
    if (typeof b64 === "string" && b64) return decodeBase64(b64, what);
    if (typeof url === "string" && url) {
      // Some compatible servers answer a data: URL rather than b64_json.
      if (url.startsWith("data:")) {
        const comma = url.indexOf(",");
        if (comma < 0 || !url.slice(0, comma).endsWith(";base64")) {
          throw new EngineError(`${what}: the upstream answered a data: URL that is not base64`);
        }
        return decodeBase64(url.slice(comma + 1), what);
      }
      return fetchResultUrl(url, {
        what,
        signal,
        maxBytes: this.deps.maxResponseBytes,
        allowPrivate: this.opts.allowPrivateResultUrls === true,
        // The upstream's own files may need the key; a CDN or storage host elsewhere must never see it.
        headers: this.sameOrigin(url) ? this.headers() : {},
      });
    }
    throw new EngineError(`${what}: the upstream's answer holds neither b64_json nor url`);
  }

  private sameOrigin(url: string): boolean {
    try {
      return new URL(url).origin === new URL(this.base).origin;
    } catch {
      return false;
    }
  }

  async probe(signal: AbortSignal): Promise<void> {
    const what = this.what;
    const res = await upstream(`${this.base}/models`, what, {
      headers: this.headers(),
      signal,
      maxBytes: this.deps.maxResponseBytes,
    });
    if (res.status !== 200) throw this.errorFor(res);
    const body = parseJson(res, what) as { object?: unknown; data?: unknown } | null;
    if (body?.object !== "list" || !Array.isArray(body.data)) {
      throw new EngineError(`${what}: GET /models did not answer a model list`, true);
    }
  }
}

function decodeBase64(text: string, what: string): Buffer {
  const clean = text.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) {
    throw new EngineError(`${what}: the upstream's b64_json is not valid base64`);
  }
  return Buffer.from(clean, "base64");
}
