import { randomInt } from "node:crypto";

/** The closed list of error codes (API.md), each with its HTTP status and a default suggestion. */
const ERRORS = {
  invalid_json: [400, "Send a JSON body with Content-Type: application/json."],
  missing_prompt: [400, "Add a non-empty `prompt`."],
  prompt_too_long: [400, "Shorten the prompt."],
  invalid_model: [400, "List the models with GET /v1/models."],
  invalid_size: [400, "Use one of the sizes the model lists in GET /v1/models."],
  too_many_images: [400, "Send at most 2 source images."],
  invalid_base64: [400, "Send each image as standard base64 without a data: prefix or line breaks."],
  invalid_image: [400, "Send a PNG, JPEG or WebP image within the pixel limit."],
  invalid_parameter: [400, "Check the named field against the API reference."],
  unauthorized: [401, "Send your key as `Authorization: Bearer zk_...` or `X-API-Key`."],
  invalid_api_key: [401, "Check your API key; it may have been revoked or expired."],
  insufficient_balance: [402, "Top up the balance, or choose a cheaper model."],
  access_denied: [403, "Use a key with the permission this route needs."],
  key_suspended: [403, "Contact support to lift the suspension."],
  not_found: [404, "Check the id or token; resources of other accounts are not visible."],
  method_not_allowed: [405, "Check the HTTP method in the API reference."],
  idempotency_conflict: [409, "Wait for the first request with this Idempotency-Key to finish."],
  expired: [410, "Generate the image again; images are kept for a limited time."],
  payload_too_large: [413, "Send smaller images or fewer of them."],
  idempotency_mismatch: [422, "Use a new Idempotency-Key for a different request."],
  rate_limit_exceeded: [429, "Wait for the time in Retry-After, then retry."],
  concurrency_limit_exceeded: [429, "Wait for a running generation to finish, then retry."],
  quota_exceeded: [429, "The allowance resets at the start of the next day or month (UTC)."],
  content_blocked: [451, "Rephrase the prompt."],
  generation_failed: [500, "Retry; the charge was refunded."],
  internal_error: [500, "Retry later; if it persists, contact support with the reference."],
  service_unavailable: [503, "Retry later."],
  generation_timeout: [504, "The job goes on: find it later in GET /v1/generations."],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof ERRORS;

export function statusOf(code: ErrorCode): number {
  return ERRORS[code][0];
}

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { suggestion?: string; headers?: Record<string, string>; param?: string } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = ERRORS[code][0];
  }

  get suggestion(): string {
    return this.extra.suggestion ?? ERRORS[this.code][1];
  }
}

const REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/** A unique, greppable reference, e.g. INSUFFICIENT_BALANCE_7Q2KX9_1712505600. */
export function errorReference(code: ErrorCode, nowMs: number): string {
  let rand = "";
  for (let i = 0; i < 6; i++) rand += REF_ALPHABET[randomInt(REF_ALPHABET.length)];
  return `${code.toUpperCase()}_${rand}_${Math.floor(nowMs / 1000)}`;
}

export function errorBody(err: ApiError, reference: string) {
  return {
    success: false as const,
    error: {
      code: err.code,
      type: err.code,
      message: err.message,
      suggestion: err.suggestion,
      reference,
      support: `Contact support with error code: ${reference}`,
    },
  };
}

const PARAM_OF: Partial<Record<ErrorCode, string>> = {
  missing_prompt: "prompt",
  prompt_too_long: "prompt",
  invalid_model: "model",
  invalid_size: "size",
  too_many_images: "image",
  invalid_base64: "image",
  invalid_image: "image",
};

function openaiErrorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 402) return "insufficient_quota";
  if (status === 403) return "permission_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** OpenAI's error envelope, for routes whose config says `errorShape: "openai"` (app.ts sendError). */
export function openaiErrorBody(err: ApiError) {
  return {
    error: {
      message: err.message,
      type: openaiErrorType(err.status),
      param: err.extra.param ?? PARAM_OF[err.code] ?? null,
      code: err.code,
    },
  };
}

/** API keys (`zk_live_...`, `zk_test_...`) and admin tokens (`zka_...`) where a client put them by mistake. */
const SECRET_LIKE = /\b(zk_(?:live|test)_|zka_)[A-Za-z0-9_-]{8,}/g;

/**
 * Text from a request fit for a log line: a key or token in it (a path such as `/v1/zk_live_...`, a key
 * pasted as a model name) shows only its prefix, and it is cut to `max` characters, so that a client's
 * 3 MB value does not become a 3 MB line.
 */
export function loggable(text: string, max = 512): string {
  const redacted = text.replace(SECRET_LIKE, "$1[redacted]");
  return redacted.length <= max
    ? redacted
    : `${redacted.slice(0, max)}... (${redacted.length - max} more characters)`;
}

/** A client's value quoted in an error message, cut to `max` characters. */
export function quoted(value: unknown, max = 64): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= max ? text : `${text.slice(0, max)}...`;
}
