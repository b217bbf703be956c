import { createHash } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Services } from "../services.js";
import type { AuthContext } from "./auth.js";
import { whenClosed } from "./closed.js";
import { ApiError, quoted } from "../errors.js";
import { DEFAULT_MODEL, DEFAULT_SIZE, priceOf, type ModelInfo } from "../domain/catalog.js";
import { acceptImage, decodeBase64 } from "../domain/uploads.js";
import type { Idempotency, SubmitInput, Submitted, Outcome } from "../domain/jobs.js";
import type { OutputFormat } from "../engines/types.js";
import { OPEN_STATUSES, type ImageRow, type Job } from "../db/schema.js";

/** The fields every generation route accepts, once each route has mapped its own shape onto them. */
export interface GenerationFields {
  prompt?: unknown;
  model?: unknown;
  size?: unknown;
  /** The job route's alternative to `size`: any multiple of 8 from 256 to the model's max size. */
  width?: unknown;
  height?: unknown;
  negative_prompt?: unknown;
  seed?: unknown;
  output_format?: unknown;
  images?: unknown;
}

// What shows nothing: whitespace, and the characters a renderer skips (zero-width spaces and joiners,
// word joiners, soft hyphens, Hangul fillers, variation selectors...), which String.trim keeps.
const BLANK = /^[\s\p{Default_Ignorable_Code_Point}]*$/u;

const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

/** Characters as code points: an emoji is one, where String.length counts its two UTF-16 units. */
function characters(text: string): number {
  return text.length - (text.match(SURROGATE_PAIR)?.length ?? 0);
}

const FORMATS: Record<string, OutputFormat> = { png: "png", jpeg: "jpeg", jpg: "jpeg", webp: "webp" };
const MAX_SEED = 2 ** 32 - 1;

export function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null)
    throw new ApiError("invalid_json", "Send a JSON object as the request body");
  if (typeof body !== "object" || Array.isArray(body))
    throw new ApiError("invalid_json", "The request body must be a JSON object");
  return body as Record<string, unknown>;
}

function listedSize(s: Services, size: unknown, model: ModelInfo): [number, number] {
  const sizes = s.catalog.sizes(model);
  const wanted = size ?? DEFAULT_SIZE;
  if (typeof wanted !== "string" || !sizes.includes(wanted)) {
    throw new ApiError(
      "invalid_size",
      `Size ${quoted(wanted)} is not available for ${model.id}; use one of ${sizes.join(", ")}`,
    );
  }
  return wanted.split("x").map(Number) as [number, number];
}

function freeSize(f: GenerationFields, model: ModelInfo): [number, number] {
  const dims = [f.width ?? 1024, f.height ?? 1024];
  for (const [i, v] of dims.entries()) {
    if (typeof v !== "number") {
      const name = i === 0 ? "width" : "height";
      throw new ApiError("invalid_parameter", `${name} must be a JSON number, such as 1024`, { param: name });
    }
    if (!Number.isInteger(v) || v < 256 || v > model.maxSize || v % 8 !== 0) {
      throw new ApiError(
        "invalid_size",
        `width and height must be multiples of 8 from 256 to ${model.maxSize} for ${model.id}`,
      );
    }
  }
  return dims as [number, number];
}

/**
 * Checks a generation request in the order that costs least first, and turns it into a priced job
 * input. Source images are decoded last, under the pixel limit.
 */
export async function validateGeneration(
  s: Services,
  auth: AuthContext,
  f: GenerationFields,
  store: boolean,
): Promise<{ input: SubmitInput; model: ModelInfo }> {
  const max = s.config.maxPromptLength;
  if (f.prompt !== undefined && f.prompt !== null && typeof f.prompt !== "string") {
    throw new ApiError("invalid_parameter", "prompt must be a string", { param: "prompt" });
  }
  const prompt = typeof f.prompt === "string" ? f.prompt.trim() : "";
  if (BLANK.test(prompt)) throw new ApiError("missing_prompt", "The prompt field is required");
  const length = characters(prompt);
  if (length > max)
    throw new ApiError("prompt_too_long", `The prompt is ${length} characters; the limit is ${max}`);

  const modelName = f.model ?? DEFAULT_MODEL;
  const model = typeof modelName === "string" ? s.catalog.find(modelName) : undefined;
  if (!model) throw new ApiError("invalid_model", `Unknown model ${quoted(modelName)}`);

  const [width, height] =
    f.width !== undefined || f.height !== undefined ? freeSize(f, model) : listedSize(s, f.size, model);

  let negativePrompt: string | undefined;
  if (f.negative_prompt !== undefined && f.negative_prompt !== null) {
    if (typeof f.negative_prompt !== "string" || characters(f.negative_prompt) > max) {
      throw new ApiError(
        "invalid_parameter",
        `negative_prompt must be a string of at most ${max} characters`,
        { param: "negative_prompt" },
      );
    }
    negativePrompt = BLANK.test(f.negative_prompt) ? undefined : f.negative_prompt.trim();
  }

  let seed: number | undefined;
  if (f.seed !== undefined && f.seed !== null) {
    if (typeof f.seed !== "number" || !Number.isInteger(f.seed) || f.seed < 0 || f.seed > MAX_SEED) {
      throw new ApiError("invalid_parameter", `seed must be an integer from 0 to ${MAX_SEED}`, {
        param: "seed",
      });
    }
    seed = f.seed;
  }

  const fmt = f.output_format ?? "png";
  const format = typeof fmt === "string" ? FORMATS[fmt.toLowerCase()] : undefined;
  if (!format)
    throw new ApiError("invalid_parameter", "output_format must be png, jpeg or webp", {
      param: "output_format",
    });

  let rawImages: unknown[] = [];
  if (f.images !== undefined && f.images !== null) {
    if (!Array.isArray(f.images))
      throw new ApiError("invalid_parameter", "images must be an array of {data, mime_type}", {
        param: "images",
      });
    rawImages = f.images;
  }
  if (rawImages.length > 2)
    throw new ApiError("too_many_images", `${rawImages.length} images sent; at most 2 are allowed`);
  if (rawImages.length > 0 && !model.supportsEdit)
    throw new ApiError("invalid_model", `${model.id} cannot edit images`);
  const buffers = rawImages.map((img, i) => {
    // Multipart uploads (the OpenAI edits route) arrive as bytes, already held to MAX_IMAGE_BYTES.
    if (Buffer.isBuffer(img)) return img;
    const { data, mime_type } =
      typeof img === "string"
        ? { data: img, mime_type: undefined }
        : ((img ?? {}) as Record<string, unknown>);
    if (typeof data !== "string") {
      throw new ApiError("invalid_parameter", `images[${i}].data must be a base64 string`, {
        param: `images[${i}].data`,
      });
    }
    // Not used (the bytes decide the format), but a field of the wrong type is still refused.
    if (mime_type !== undefined && mime_type !== null && typeof mime_type !== "string") {
      throw new ApiError("invalid_parameter", `images[${i}].mime_type must be a string such as "image/png"`, {
        param: `images[${i}].mime_type`,
      });
    }
    return decodeBase64(data, `images[${i}]`);
  });
  const images = [];
  for (const [i, b] of buffers.entries())
    images.push(await acceptImage(b, `images[${i}]`, s.config.maxInputPixels));

  if (!s.router.canServe(model, images.length)) {
    throw new ApiError(
      "service_unavailable",
      `No engine is available for ${model.id} right now; retry later`,
      {
        headers: { "Retry-After": "5" },
      },
    );
  }
  const cost = priceOf(model, { width, height, prompt, edit: images.length > 0 });
  return {
    model,
    input: {
      tenantId: auth.tenantId,
      keyId: auth.keyId,
      model: model.id,
      prompt,
      negativePrompt,
      width,
      height,
      seed,
      format,
      images,
      cost,
      store,
      dailyAllowance: auth.tenant.daily_image_allowance,
      monthlyAllowance: auth.tenant.monthly_image_allowance,
    },
  };
}

/**
 * Submits and waits: the sync routes are a job plus a wait, so one path serves sync and async. A retry
 * with the same Idempotency-Key gets the first job's result, or 409 while that job is still open.
 */
export async function generateAndWait(s: Services, input: SubmitInput, gone?: AbortSignal): Promise<Outcome> {
  const { job, outcome } = await submitGeneration(s, input, gone);
  return awaitGeneration(s, job, gone, outcome);
}

/**
 * Aborts when the client closes the connection before its answer is sent: a zero-retention job whose
 * client has gone is canceled and refunded, since nobody could ever receive its image.
 */
export function clientGone(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  whenClosed(reply, () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  return ac.signal;
}

/**
 * The submit half of generateAndWait, apart so that a route making several images (OpenAI's `n`) can
 * hold them all before waiting, and cancel the ones it made when a later one cannot be paid for. The wait
 * of a job made here starts before the job is queued (its `outcome`, for awaitGeneration).
 */
export async function submitGeneration(
  s: Services,
  input: SubmitInput,
  gone?: AbortSignal,
): Promise<Submitted> {
  const submitted = await s.jobs.submit(input, { timeoutMs: s.config.syncTimeoutMs, signal: gone });
  const { job, replayed } = submitted;
  if (replayed && OPEN_STATUSES.includes(job.status)) {
    throw new ApiError(
      "idempotency_conflict",
      `The first request with this Idempotency-Key (job ${job.id}) is still running`,
      {
        headers: { "Retry-After": "1" },
      },
    );
  }
  if (replayed && job.status === "completed" && !job.store) {
    throw new ApiError("idempotency_conflict", "This zero-retention image was returned once and is not kept");
  }
  return submitted;
}

/**
 * The wait half of generateAndWait: the finished job, or the sync routes' error for how it ended. `waiting`
 * is the wait submitGeneration started for a job it made; a replayed job is waited for from here.
 */
export async function awaitGeneration(
  s: Services,
  job: Pick<Job, "id" | "tenant_id" | "cost" | "store">,
  gone?: AbortSignal,
  waiting: Promise<Outcome | null> = s.jobs.waitFor(job.id, s.config.syncTimeoutMs, gone),
): Promise<Outcome> {
  let outcome = await waiting;
  if (!outcome && !job.store) {
    // A zero-retention image can only be handed over in this answer; if the answer goes without it, the
    // job must not go on to be charged for an image that is thrown away.
    const canceled = await s.jobs.fail(
      job,
      "canceled",
      "Canceled and refunded: the request ended before the zero-retention image was ready",
      "canceled",
    );
    if (canceled) {
      throw new ApiError(
        "generation_timeout",
        `The image was not ready in time; with X-Zekron-Store: 0 nothing is kept, so job ${job.id} was canceled and refunded`,
      );
    }
    // It ended meanwhile: answer how, not that it goes on.
    const ended = await s.jobs.get(job.id);
    if (ended?.status === "completed") {
      // A zero-retention job completes only by handing its image to a waiter, so this one was charged
      // and its bytes never reached this request, the only one that could have had them (its completion
      // failed after the commit): nobody can receive this image.
      await s.jobs.refundUndelivered(ended);
      throw new ApiError(
        "generation_failed",
        `The zero-retention image of job ${job.id} was lost before it could be sent; it was canceled and refunded`,
      );
    }
    if (ended && !OPEN_STATUSES.includes(ended.status)) outcome = { job: ended };
  }
  if (!outcome) {
    throw new ApiError(
      "generation_timeout",
      `The image is still being generated (job ${job.id}); it will appear in GET /v1/generations when done`,
    );
  }
  if (outcome.job.status !== "completed") {
    throw new ApiError(
      outcome.job.error_code === "service_unavailable" ? "service_unavailable" : "generation_failed",
      outcome.job.error_message ?? "Image generation failed; the charge was refunded",
    );
  }
  return outcome;
}

/**
 * Zero retention: the images a request took were charged and exist only in its answer. When its client
 * went away before that answer could be written (a request for several images waits for all of them, so
 * the first may wait long), they are canceled and refunded, and the request ends with nothing to send.
 */
export async function refundIfGone(
  s: Services,
  req: FastifyRequest,
  gone: AbortSignal,
  outcomes: Outcome[],
): Promise<void> {
  if (!gone.aborted) return;
  const unsent = outcomes.filter((o) => !o.job.store);
  if (unsent.length === 0) return;
  // Each on its own: one that cannot be refunded (a database error) must not keep the others charged.
  const refunds = await Promise.allSettled(unsent.map((o) => s.jobs.refundUndelivered(o.job)));
  refunds.forEach((r, i) => {
    if (r.status === "rejected") {
      req.log.error({ err: r.reason, jobId: unsent[i]!.job.id }, "could not refund an undelivered image");
    }
  });
  throw new ApiError(
    "generation_timeout",
    "The client left before the zero-retention images could be sent; they were canceled and refunded",
  );
}

export function baseUrl(s: Services, req: FastifyRequest): string {
  if (s.config.publicUrl) return s.config.publicUrl;
  if (req.host) return `${req.protocol}://${req.host}`;
  // HTTP/1.0 allows a request without a Host (or an empty one): the server's own address, as webhooks use.
  return s.runtime.listenUrl ?? `http://localhost:${s.config.port}`;
}

/**
 * `Server-Timing: engine;dur=...` on a sync answer whose job this process ran: the engine's share of the
 * wait, which browsers' developer tools and the benchmark read (the rest is the platform's).
 */
export function serverTiming(reply: FastifyReply, o: Outcome): void {
  if (o.engineMs !== undefined) reply.header("Server-Timing", `engine;dur=${o.engineMs.toFixed(2)}`);
}

/** Reads the bytes of a finished job: in hand when this process made them, else from storage. */
export async function outcomeBytes(s: Services, o: Outcome): Promise<Buffer> {
  if (o.bytes) return o.bytes;
  if (!o.image) throw new ApiError("internal_error", "The image of this job is not available");
  return (await s.images.open(o.image.token, { tenantId: o.job.tenant_id })).bytes;
}

/** The image's link for its owner's key. */
export function imageUrl(s: Services, req: FastifyRequest, token: string): string {
  return `${baseUrl(s, req)}/v1/images/${token}`;
}

/**
 * A link that works without a key until the image expires (for browsers, <img> tags, the dashboard):
 * `url`, the owner's link, with the signature added.
 */
export function signedImageUrl(
  s: Services,
  req: FastifyRequest,
  image: Pick<ImageRow, "token" | "expires_at">,
  url = imageUrl(s, req, image.token),
): string {
  const expires = Math.floor(Date.parse(image.expires_at) / 1000);
  return `${url}?${s.images.signedQuery(image.token, expires)}`;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The Idempotency-Key of a request that creates work, with a hash of what it asks for (route, body and
 * the headers that change the result), or undefined without the header.
 */
export function idempotencyOf(req: FastifyRequest, body: unknown): Idempotency | undefined {
  const key = req.headers["idempotency-key"];
  if (key === undefined) return undefined;
  if (typeof key !== "string" || !IDEMPOTENCY_KEY.test(key)) {
    throw new ApiError("invalid_parameter", "Idempotency-Key must be 1-255 visible ASCII characters", {
      param: "Idempotency-Key",
    });
  }
  const hash = createHash("sha256")
    .update(
      // The path itself, not the route pattern: the preview route's model is in the path.
      `${req.method} ${req.url.split("?")[0]}\n${String(req.headers["x-zekron-store"] ?? "")}\n${JSON.stringify(body)}`,
    )
    .digest("hex");
  return { key, hash };
}
