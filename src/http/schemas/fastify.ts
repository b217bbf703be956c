import { z } from "zod";
import type { FastifySchema } from "fastify";
import { ApiError, errorBody, openaiErrorBody, statusOf, type ErrorCode } from "../../errors.js";
import { ERROR_CODES, ERROR_WHEN, errorEnvelope, openaiErrorEnvelope } from "./errors.js";
import type { Operation, Reply } from "./operation.js";

// Server-side only: turns an Operation into the Fastify route `schema` that @fastify/swagger documents.

export const SECURITY_SCHEMES = {
  bearerApiKey: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "zk_live_... or zk_test_...",
    description: "An API key: `Authorization: Bearer zk_live_...`",
  },
  headerApiKey: {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: "The same API key in `X-API-Key`",
  },
  adminToken: {
    type: "http",
    scheme: "bearer",
    description: "The admin routes: `Authorization: Bearer $ZEKRON_ADMIN_TOKEN`",
  },
} as const;

const KEY_SECURITY = [{ bearerApiKey: [] }, { headerApiKey: [] }];

function security(auth: Operation["auth"]) {
  if (auth === "admin") return [{ adminToken: [] }];
  // `{}`: a signed link (`expires` and `signature` in the query) needs no key.
  if (auth === "image") return [...KEY_SECURITY, {}];
  if (auth === "none") return [];
  return KEY_SECURITY;
}

const KEY_ERRORS: ErrorCode[] = [
  "unauthorized",
  "invalid_api_key",
  "access_denied",
  "key_suspended",
  "rate_limit_exceeded",
];

/** Every error code the operation can answer: its own and those of its authorization, in table order. */
export function errorCodesOf(op: Operation): ErrorCode[] {
  const implied: ErrorCode[] =
    op.auth === "none"
      ? []
      : op.auth === "admin"
        ? ["unauthorized", "invalid_api_key", "access_denied"]
        : KEY_ERRORS;
  const all = new Set<ErrorCode>([...op.errors, ...implied, "internal_error"]);
  return ERROR_CODES.filter((code) => all.has(code));
}

export function errorStatusesOf(op: Operation): Map<number, ErrorCode[]> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(op)) {
    const status = statusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return byStatus;
}

/** The zod schema of the operation's error body for one HTTP status. */
export function errorSchemaOf(op: Operation, status: number) {
  const codes = errorStatusesOf(op).get(status);
  if (!codes) throw new Error(`${op.operationId} documents no error with status ${status}`);
  return op.errorShape === "openai" ? openaiErrorEnvelope(codes) : errorEnvelope(codes);
}

const EXAMPLE_MESSAGE: Record<ErrorCode, string> = {
  invalid_json: "The request body is not valid JSON",
  missing_prompt: "The prompt field is required",
  prompt_too_long: "The prompt is 2140 characters; the limit is 2000",
  invalid_model: 'Unknown model "zekron-image-9"',
  invalid_size: 'Size "300x300" is not available for zekron-xl; use one of 256x256, 512x512, 1024x1024',
  too_many_images: "3 images sent; at most 2 are allowed",
  invalid_base64: "images[0] is not valid base64",
  invalid_image: "images[0] is not a PNG, JPEG or WebP image",
  invalid_parameter: "seed must be an integer from 0 to 4294967295",
  unauthorized: "No API key: send Authorization: Bearer <key>",
  invalid_api_key: "Invalid, revoked or expired API key",
  insufficient_balance: "Not enough balance: this image costs 0.0256 and the balance is 0.0100",
  access_denied: "This key lacks the `generate` scope",
  key_suspended: "This account is suspended",
  not_found: "No job job_4kX9mQ2pL7vR1sT8",
  method_not_allowed: "PUT is not allowed on /v1/generate; use POST",
  idempotency_conflict:
    "The first request with this Idempotency-Key (job job_4kX9mQ2pL7vR1sT8) is still running",
  expired: "This image expired at 2026-06-02T12:00:00+00:00",
  payload_too_large: "The request body is over the size limit",
  idempotency_mismatch: "This Idempotency-Key was already used with a different request",
  rate_limit_exceeded: "Rate limit of 60 requests per minute exceeded",
  concurrency_limit_exceeded: "At most 5 generations may run at once for this key",
  quota_exceeded: "The daily allowance of 500 images is used up",
  content_blocked: "The prompt was stopped by the safety policy",
  generation_failed: "Image generation failed; the charge was refunded",
  internal_error: "An internal error occurred",
  service_unavailable: "No engine is available for zekron-image-1 right now; retry later",
  generation_timeout:
    "The image is still being generated (job job_4kX9mQ2pL7vR1sT8); it will appear in GET /v1/generations when done",
};

/** The body the server really sends for this code, from the same functions (errors.ts, routes/openai.ts). */
function errorExample(op: Operation, code: ErrorCode) {
  const err = new ApiError(code, EXAMPLE_MESSAGE[code]);
  return op.errorShape === "openai"
    ? openaiErrorBody(err)
    : errorBody(err, `${code.toUpperCase()}_7Q2KX9_1780315200`);
}

function jsonSchema(schema: z.ZodType, io: "input" | "output") {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" });
  return rest;
}

const header = (description: string, type: "string" | "integer" = "string") => ({ description, type });
const REQUEST_ID = { "X-Request-Id": header("The request id, also in the server log") };
const RATE_HEADERS = {
  "X-RateLimit-Limit": header("Requests allowed per minute for this key", "integer"),
  "X-RateLimit-Remaining": header("Requests left in the current minute", "integer"),
  "X-RateLimit-Reset": header("When the current minute ends, in Unix seconds", "integer"),
};
/** The codes answered with a Retry-After header (app.ts, generation.ts, domain/jobs.ts). */
const RETRY_CODES: readonly ErrorCode[] = [
  "rate_limit_exceeded",
  "concurrency_limit_exceeded",
  "quota_exceeded",
  "idempotency_conflict",
  "service_unavailable",
];
const RETRY_AFTER = {
  "Retry-After": header(`Seconds to wait before retrying, with ${RETRY_CODES.join(", ")}`, "integer"),
};

function successReply(op: Operation, reply: Reply) {
  const headers = { ...REQUEST_ID, ...(typeof op.auth === "object" ? RATE_HEADERS : {}), ...reply.headers };
  if (!reply.schema) return { type: "null", description: reply.description, headers };
  const json = jsonSchema(reply.schema, "output");
  const example = reply.example ?? z.globalRegistry.get(reply.schema)?.example;
  const media = { schema: json, ...(example === undefined ? {} : { example }) };
  const types = reply.contentTypes ?? ["application/json"];
  return {
    description: reply.description,
    headers,
    content: Object.fromEntries(types.map((t) => [t, media])),
  };
}

function errorReply(op: Operation, status: number, codes: ErrorCode[]) {
  const lines = codes.map((code) => `- \`${code}\`: ${ERROR_WHEN[code]}`);
  const retry = codes.some((c) => RETRY_CODES.includes(c));
  return {
    description: `${op.errorShape === "openai" ? "OpenAI's error envelope" : "Error"}, \`code\` one of:\n${lines.join("\n")}`,
    headers: { ...REQUEST_ID, ...(retry ? RETRY_AFTER : {}) },
    content: {
      "application/json": {
        schema: jsonSchema(errorSchemaOf(op, status), "output"),
        examples: Object.fromEntries(
          codes.map((code) => [code, { summary: ERROR_WHEN[code], value: errorExample(op, code) }]),
        ),
      },
    },
  };
}

/** The Fastify route schema of an operation: documentation only (openapi.ts turns validation off). */
export function routeSchema(op: Operation): FastifySchema {
  const response: Record<string, unknown> = {};
  for (const [status, reply] of Object.entries(op.responses)) response[status] = successReply(op, reply);
  for (const [status, codes] of errorStatusesOf(op)) {
    if (response[status]) throw new Error(`${op.operationId}: ${status} is both an answer and an error`);
    response[status] = errorReply(op, status, codes);
  }
  const body = op.form
    ? { content: { "multipart/form-data": { schema: jsonSchema(op.form, "input") } } }
    : op.body && jsonSchema(op.body, "input");
  return {
    operationId: op.operationId,
    summary: op.summary,
    description: op.description,
    tags: [...op.tags],
    security: security(op.auth),
    ...(op.params && { params: jsonSchema(op.params, "input") }),
    ...(op.querystring && { querystring: jsonSchema(op.querystring, "input") }),
    ...(op.headers && { headers: jsonSchema(op.headers, "input") }),
    ...(body && { body }),
    response,
  } as FastifySchema;
}

/** The route schemas of a group of operations, by the same names. */
export function routeSchemas<K extends string>(ops: Record<K, Operation>): Record<K, FastifySchema> {
  const out = {} as Record<K, FastifySchema>;
  for (const key of Object.keys(ops) as K[]) out[key] = routeSchema(ops[key]);
  return out;
}

/** The options of a group of routes that share one config: `{ schema, config }` per operation name. */
export function withSchemas<K extends string, C>(
  ops: Record<K, Operation>,
  shared: { config: C },
): Record<K, { schema: FastifySchema; config: C }> {
  const out = {} as Record<K, { schema: FastifySchema; config: C }>;
  for (const key of Object.keys(ops) as K[])
    out[key] = { schema: routeSchema(ops[key]), config: shared.config };
  return out;
}
