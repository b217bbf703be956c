import { z } from "zod";
import type { ErrorCode } from "../../errors.js";

/** Every error code (API.md's table), with when it is answered. `satisfies` keeps it equal to src/errors.ts. */
export const ERROR_WHEN = {
  invalid_json: "the body is not valid JSON, or not a JSON object",
  missing_prompt: "the prompt is absent or blank",
  prompt_too_long: "the prompt is over the limit (2,000 characters by default)",
  invalid_model: "unknown model, or a model that cannot do what was asked (e.g. edits)",
  invalid_size: "the size is not allowed for the model",
  too_many_images: "more than 2 source images",
  invalid_base64: "image data is not valid base64",
  invalid_image: "not a PNG, JPEG or WebP image (sniffed from the bytes), too many pixels, or truncated",
  invalid_parameter: "any other field out of range or of the wrong type (the message names the field)",
  unauthorized: "no API key (or admin token) was sent",
  invalid_api_key: "the key is invalid, revoked or expired",
  insufficient_balance: "the balance does not cover the price",
  access_denied: "the key lacks the scope this route needs, or cannot use it",
  key_suspended: "the key's account is suspended",
  not_found: "the resource does not exist or belongs to another account",
  method_not_allowed: "wrong HTTP method on a known route",
  idempotency_conflict: "the first request with this Idempotency-Key is still running",
  expired: "the image (or its signed link) has expired, or the image was deleted",
  payload_too_large: "the body, or one image, is over the size limit",
  idempotency_mismatch: "the Idempotency-Key was used with a different request",
  rate_limit_exceeded: "requests per minute exceeded (see Retry-After)",
  concurrency_limit_exceeded: "too many generations in flight for the key (see Retry-After)",
  quota_exceeded: "the daily or monthly image allowance is used up",
  content_blocked: "the prompt or the output was stopped by the safety policy",
  generation_failed: "the engine failed; the charge was refunded",
  internal_error: "anything unexpected; the reference finds it in the log",
  service_unavailable: "no engine can serve the model right now; retry later",
  generation_timeout: "the wait ran out; the job goes on and shows in the history",
} as const satisfies Record<ErrorCode, string>;

export const ERROR_CODES = Object.keys(ERROR_WHEN) as [ErrorCode, ...ErrorCode[]];

/** Zekron's error envelope, its `code` narrowed to the codes given. */
export function errorEnvelope(codes: readonly ErrorCode[] = ERROR_CODES) {
  const code = z.enum(codes as [ErrorCode, ...ErrorCode[]]);
  return z.strictObject({
    success: z.literal(false),
    error: z.strictObject({
      code: code.describe("Machine-readable, from API.md's table"),
      type: code.describe("The same as `code`"),
      message: z.string().describe("What went wrong, for a human"),
      suggestion: z.string().describe("What to do about it"),
      reference: z
        .string()
        .regex(/^[A-Z0-9_]+_[A-Z2-9]{6}_\d+$/)
        .describe("Unique per error, and in the server log beside the request id"),
      support: z.string().describe("A sentence to quote to support, holding the reference"),
    }),
  });
}

export type ErrorEnvelope = z.infer<ReturnType<typeof errorEnvelope>>;

export const OPENAI_ERROR_TYPES = [
  "invalid_request_error",
  "authentication_error",
  "insufficient_quota",
  "permission_error",
  "rate_limit_error",
  "server_error",
] as const;

/** OpenAI's error envelope (the OpenAI-compatible routes), its `code` narrowed to the codes given. */
export function openaiErrorEnvelope(codes: readonly ErrorCode[] = ERROR_CODES) {
  return z.strictObject({
    error: z.strictObject({
      message: z.string(),
      type: z.enum(OPENAI_ERROR_TYPES).describe("OpenAI's error class, from the HTTP status"),
      param: z.string().nullable().describe("The request field at fault, when there is one"),
      code: z.enum(codes as [ErrorCode, ...ErrorCode[]]).describe("Zekron's error code"),
    }),
  });
}

export type OpenAIErrorEnvelope = z.infer<ReturnType<typeof openaiErrorEnvelope>>;

/** What checking a generation request can refuse (generation.ts validateGeneration, and the body parser). */
export const GENERATION_INPUT_ERRORS = [
  "invalid_json",
  "missing_prompt",
  "prompt_too_long",
  "invalid_model",
  "invalid_size",
  "invalid_parameter",
  "payload_too_large",
  "service_unavailable",
] as const satisfies readonly ErrorCode[];

/** What holding the price and creating the job can refuse (domain/jobs.ts submit). */
export const SUBMIT_ERRORS = [
  "insufficient_balance",
  "quota_exceeded",
  "idempotency_mismatch",
] as const satisfies readonly ErrorCode[];

/**
 * What the sync routes add: a concurrency slot per key (app.ts), and waiting for the image
 * (generation.ts submitGeneration, awaitGeneration).
 */
export const SYNC_ERRORS = [
  "idempotency_conflict",
  "concurrency_limit_exceeded",
  "content_blocked",
  "generation_failed",
  "generation_timeout",
] as const satisfies readonly ErrorCode[];

export const SOURCE_IMAGE_ERRORS = [
  "too_many_images",
  "invalid_base64",
  "invalid_image",
] as const satisfies readonly ErrorCode[];

/** Any route that reads a JSON body. */
export const BODY_ERRORS = ["invalid_json", "payload_too_large"] as const satisfies readonly ErrorCode[];
