import { createHash } from "node:crypto";
import multipart, { type MultipartFile } from "@fastify/multipart";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Services } from "../../services.js";
import {
  NotMade,
  type Idempotency,
  type Outcome,
  type SubmitInput,
  type Submitted,
} from "../../domain/jobs.js";
import { ApiError, quoted, type ErrorCode } from "../../errors.js";
import { formatMoney } from "../../domain/money.js";
import { MAX_IMAGE_BYTES } from "../../domain/uploads.js";
import {
  asObject,
  awaitGeneration,
  clientGone,
  refundIfGone,
  idempotencyOf,
  outcomeBytes,
  signedImageUrl,
  submitGeneration,
  validateGeneration,
} from "../generation.js";
import { Base64Bytes } from "../json.js";
import { routeSchema } from "../schemas/fastify.js";
import { BACKGROUND, MAX_N, QUALITY, RESPONSE_FORMAT, openaiOps } from "../schemas/openai.js";

/**
 * POST /v1/images/generations and /v1/images/edits: OpenAI's Images API over the same path as
 * /v1/generate (validation, hold and charge per image, limits, Idempotency-Key, history), so that the
 * official SDKs work with only `baseURL` and `apiKey` changed.
 */
export function openaiRoutes(app: FastifyInstance, s: Services): void {
  const config = { auth: "key", scope: "generate", generation: true, errorShape: "openai" } as const;

  app.post(
    "/v1/images/generations",
    { schema: routeSchema(openaiOps.generations), config },
    async (req, reply) => {
      const body = asObject(req.body);
      return createImages(s, req, clientGone(reply), body, [], body);
    },
  );

  // Multipart is registered in a child context so that it applies to this route only: everywhere else a
  // body is JSON whatever its label (app.ts), and a form sent to /v1/generate stays a clear invalid_json.
  app.register(async (scope) => {
    await scope.register(multipart, {
      // Checked by readForm, which keeps reading to the end so that the answer is the first problem.
      throwFileSizeLimit: false,
      limits: {
        fileSize: MAX_IMAGE_BYTES,
        // Two images, and room for a mask so that it can be refused by name.
        files: 3,
        fields: 32,
        parts: 40,
        fieldSize: Math.max(64 * 1024, s.config.maxPromptLength * 4),
      },
    });
    scope.post("/v1/images/edits", { schema: routeSchema(openaiOps.edits), config }, async (req, reply) => {
      const gone = clientGone(reply);
      const form = await readForm(s, req);
      // What an Idempotency-Key stands for; hashing up to 20 MiB of images is only worth it when one is sent.
      const requested =
        req.headers["idempotency-key"] === undefined
          ? undefined
          : { ...form.fields, images: form.images.map((b) => createHash("sha256").update(b).digest("hex")) };
      return createImages(s, req, gone, form.fields, form.images, requested);
    });
  });
}

function oneOf(
  fields: Record<string, unknown>,
  name: string,
  allowed: readonly string[],
  fallback: string,
): string {
  const v = fields[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "string" || !allowed.includes(v))
    throw new ApiError("invalid_parameter", `${name} must be one of ${allowed.join(", ")}`, { param: name });
  return v;
}

/** `n` as a JSON number, or as the string a multipart form carries. */
function countOf(fields: Record<string, unknown>): number {
  const v = fields.n;
  if (v === undefined || v === null) return 1;
  const n = typeof v === "string" && /^\d{1,3}$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_N)
    throw new ApiError("invalid_parameter", `n must be an integer from 1 to ${MAX_N}`, { param: "n" });
  return n;
}

/** A catalog id or alias as it is; an OpenAI name only when the operator's config maps it. */
function modelOf(s: Services, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") {
    if (s.catalog.find(v)) return v;
    const mapped = s.config.engineSetup.openaiModels;
    if (Object.hasOwn(mapped, v)) return mapped[v];
  }
  throw new ApiError(
    "invalid_model",
    `The model ${quoted(v)} does not exist here; GET /v1/models lists the models`,
    { param: "model" },
  );
}

async function createImages(
  s: Services,
  req: FastifyRequest,
  gone: AbortSignal,
  fields: Record<string, unknown>,
  images: Buffer[],
  requested: unknown,
) {
  const store = req.headers["x-zekron-store"] !== "0";
  const n = countOf(fields);
  const responseFormat = oneOf(fields, "response_format", RESPONSE_FORMAT.options, "b64_json");
  const quality = oneOf(fields, "quality", QUALITY.options, "auto");
  const background = oneOf(fields, "background", BACKGROUND.options, "opaque");
  if (fields.user !== undefined && fields.user !== null && typeof fields.user !== "string")
    throw new ApiError("invalid_parameter", "user must be a string", { param: "user" });
  if (fields.stream === true || fields.stream === "true")
    throw new ApiError("invalid_parameter", "stream is not supported; the images come in one answer", {
      param: "stream",
    });
  if (!store && responseFormat === "url") {
    throw new ApiError(
      "invalid_parameter",
      "response_format url needs a stored image; with X-Zekron-Store: 0 use b64_json",
      { param: "response_format" },
    );
  }
  const { input } = await validateGeneration(
    s,
    req.auth!,
    {
      prompt: fields.prompt,
      model: modelOf(s, fields.model),
      size: fields.size === "auto" ? undefined : fields.size,
      output_format: fields.output_format,
      images,
    },
    store,
  );

  const jobs = await submitAll(s, input, n, gone, idempotencyOf(req, requested));
  const settled = await Promise.allSettled(
    jobs.map(({ job, outcome }) => awaitGeneration(s, job, gone, outcome)),
  );
  // A job that outlived the wait goes on and shows in the history, as the 504 says (awaitGeneration has
  // already canceled and refunded a zero-retention one, which nobody could receive later).
  const done = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  await refundIfGone(s, req, gone, done);
  if (done.length === 0) throw (settled[0] as PromiseRejectedResult).reason;

  const first = done[0]!.job;
  const pixels = first.width * first.height;
  const inputTokens = Math.ceil(first.prompt.length / 4);
  const outputTokens = done.length * Math.ceil(pixels / 1024);
  return {
    created: Math.floor(Date.parse(first.created_at) / 1000),
    data: await Promise.all(done.map((o) => imageEntry(s, req, o, responseFormat))),
    size: `${first.width}x${first.height}`,
    output_format: first.output_format,
    quality,
    background,
    usage: {
      input_tokens: inputTokens,
      // The SDK's type requires the details; source images are billed per image here, not as tokens.
      input_tokens_details: { text_tokens: inputTokens, image_tokens: 0 },
      output_tokens: outputTokens,
      total_tokens: inputTokens + outputTokens,
    },
  };
}

async function imageEntry(s: Services, req: FastifyRequest, o: Outcome, format: string) {
  if (format === "url") {
    if (!o.image) throw new ApiError("internal_error", "The image of this job was not stored");
    return { url: signedImageUrl(s, req, o.image), revised_prompt: o.job.prompt };
  }
  return { b64_json: new Base64Bytes(await outcomeBytes(s, o)), revised_prompt: o.job.prompt };
}

/**
 * One job per image, each held like /v1/generate's. All n are paid for or none: the balance is checked for
 * the lot first, and when a later hold still fails (a concurrent spend, an allowance), the jobs made here
 * are canceled and refunded. A job that finished in the moment before its cancel was charged, so it is
 * kept and returned.
 */
async function submitAll(
  s: Services,
  input: SubmitInput,
  n: number,
  gone: AbortSignal,
  idem?: Idempotency,
): Promise<Submitted[]> {
  if (n > 1) {
    const tenant = await s.tenants.get(input.tenantId);
    const total = input.cost * n;
    if (
      tenant &&
      tenant.available < total &&
      !(idem && (await s.jobs.findIdempotent(input.tenantId, idem)))
    ) {
      throw new ApiError(
        "insufficient_balance",
        `Not enough balance: these ${n} images cost ${formatMoney(total)} and the balance is ${formatMoney(tenant.available)}`,
      );
    }
  }
  const jobs: Submitted[] = [];
  const made: Submitted[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const idempotency = imageKey(idem, i);
      // Each image is waited for from its own submit: one that finishes while the later ones are still
      // being held is not missed (a zero-retention one would be canceled for want of a receiver).
      const submitted = await submitGeneration(s, { ...input, idempotency }, gone);
      jobs.push(submitted);
      if (!submitted.replayed) made.push(submitted);
    }
  } catch (err) {
    // A retry of a request that answered with fewer images: it replays that answer, and ends there too.
    if (err instanceof NotMade) return jobs;
    // A retry while the first request is still at work: a 409, as on /v1/generate, not part of its images.
    if (err instanceof ApiError && err.code === "idempotency_conflict") throw err;
    const kept = await cancelMade(s, made);
    const replays = jobs.filter((j) => !made.includes(j));
    if (kept.length + replays.length === 0) {
      // Nothing stands: the key is free again, as after a 402 on /v1/generate (which claims none).
      if (made.length > 0) {
        await s.db.kysely
          .deleteFrom("idempotency_keys")
          .where("tenant_id", "=", input.tenantId)
          .where(
            "job_id",
            "in",
            made.map((m) => m.job.id),
          )
          .execute();
      }
      throw err;
    }
    // Some images stand: every claim stays, and the images never submitted are claimed as not made, so
    // a retry with the key replays this same answer (the canceled images fail again) instead of making,
    // and charging, the missing ones.
    if (idem) {
      const notMade = Array.from({ length: n - jobs.length }, (_, k) => imageKey(idem, jobs.length + k)!);
      await s.jobs.markNotMade(input.tenantId, notMade);
    }
    return [...replays, ...kept];
  }
  return jobs;
}

/** Image i > 0 claims the key plus " i": a space never occurs in a client's key, so no clash. */
function imageKey(idem: Idempotency | undefined, i: number): Idempotency | undefined {
  return idem && { key: i === 0 ? idem.key : `${idem.key} ${i}`, hash: idem.hash };
}

/** Cancels the jobs and returns those that had already completed (and so were paid for). */
async function cancelMade(s: Services, made: Submitted[]): Promise<Submitted[]> {
  const kept: Submitted[] = [];
  for (const m of made) {
    const reason = "Canceled: the other images of the request could not be paid for";
    if (await s.jobs.fail(m.job, "canceled", reason, "canceled")) continue;
    const now = await s.jobs.get(m.job.id);
    if (now?.status === "completed") kept.push({ ...m, job: now });
  }
  return kept;
}

const IMAGE_FIELDS = new Set(["image", "image[]"]);
const MASK_FIELDS = new Set(["mask", "mask[]"]);

/** An error after which the rest of the body is not read, so the connection cannot be reused. */
function closing(code: ErrorCode, message: string, param?: string): ApiError {
  return new ApiError(code, message, { param, headers: { Connection: "close" } });
}

function tooLarge(limit: number): ApiError {
  return closing("payload_too_large", `The request body is over ${limit / 1024 / 1024} MiB`);
}

/** The plugin's and busboy's errors, in our table. */
function formError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  switch ((err as { code?: string }).code) {
    case "FST_FILES_LIMIT":
      return closing("too_many_images", "Too many files: send at most 2 images (image or image[])", "image");
    case "FST_FIELDS_LIMIT":
    case "FST_PARTS_LIMIT":
      return closing("invalid_parameter", "The form has too many fields");
    case "FST_PROTO_VIOLATION":
      return closing("invalid_parameter", "The form has a field name that is not allowed");
    case "FST_INVALID_JSON_FIELD_ERROR":
      return closing("invalid_parameter", "A form field labelled application/json is not valid JSON");
  }
  return closing("invalid_parameter", `The multipart body cannot be read: ${(err as Error).message}`);
}

/**
 * Reads the edit form: text fields, and up to 2 images of at most MAX_IMAGE_BYTES each. Fastify's
 * bodyLimit does not see a multipart body (the plugin streams the raw request), so the bytes are counted
 * here. A problem with one part is remembered and the rest is still read, so the connection stays usable;
 * only a body over the limit or a broken one stops the reading.
 */
async function readForm(
  s: Services,
  req: FastifyRequest,
): Promise<{ fields: Record<string, unknown>; images: Buffer[] }> {
  if (!req.isMultipart()) {
    throw new ApiError(
      "invalid_parameter",
      "Send the edit as multipart/form-data, with the image as a file field `image` or `image[]`",
      { param: "image" },
    );
  }
  const limit = s.config.bodyLimitBytes;
  if (Number(req.headers["content-length"]) > limit) throw tooLarge(limit);
  let received = 0;
  const count = (chunk: Buffer) => (received += chunk.length);
  req.raw.on("data", count);
  // on("data") alone would start the flow before the parser is attached; its pipe() resumes it.
  req.raw.pause();

  const fields: Record<string, unknown> = {};
  const images: Buffer[] = [];
  let problem: ApiError | undefined;
  const note = (e: ApiError) => void (problem ??= e);
  try {
    for await (const part of req.parts()) {
      if (received > limit) throw tooLarge(limit);
      const name = part.fieldname;
      if (part.type === "file") {
        const wanted = IMAGE_FIELDS.has(name) && images.length < 2;
        const bytes = await readFile(part, wanted, () => received > limit);
        if (bytes === null) throw tooLarge(limit);
        if (MASK_FIELDS.has(name)) {
          note(
            new ApiError("invalid_parameter", "mask is not supported: the whole image is edited", {
              param: "mask",
            }),
          );
        } else if (!IMAGE_FIELDS.has(name)) {
          note(new ApiError("invalid_parameter", `Unexpected file field ${name}`, { param: name }));
        } else if (!wanted) {
          note(new ApiError("too_many_images", "More than 2 images sent; at most 2 are allowed"));
        } else if (part.file.truncated) {
          note(
            new ApiError("payload_too_large", `An image is over ${MAX_IMAGE_BYTES / 1024 / 1024} MiB`, {
              param: "image",
            }),
          );
        } else {
          images.push(bytes);
        }
      } else if (IMAGE_FIELDS.has(name) || MASK_FIELDS.has(name)) {
        note(new ApiError("invalid_parameter", `${name} must be sent as a file`, { param: name }));
      } else if (part.valueTruncated) {
        note(
          name === "prompt"
            ? new ApiError("prompt_too_long", `The prompt is over ${s.config.maxPromptLength} characters`)
            : new ApiError("invalid_parameter", `${name} is too long`, { param: name }),
        );
      } else if (name in fields) {
        note(new ApiError("invalid_parameter", `${name} is given twice`, { param: name }));
      } else {
        fields[name] = part.value;
      }
    }
  } catch (err) {
    throw formError(err);
  } finally {
    req.raw.off("data", count);
  }
  if (received > limit) throw tooLarge(limit);
  if (problem) throw problem;
  if (images.length === 0)
    throw new ApiError("invalid_parameter", "image is required: send 1 or 2 image files", { param: "image" });
  return { fields, images };
}

/** The file's bytes (or an empty buffer when not wanted: read and dropped), or null once over the limit. */
async function readFile(part: MultipartFile, keep: boolean, over: () => boolean): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of part.file) {
    if (over()) return null;
    if (keep) chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
