import type { z } from "zod";
import type { ErrorCode } from "../../errors.js";
import type { KeyScope } from "../../domain/apikeys.js";

/** One documented answer of a route. */
export interface Reply {
  description: string;
  /** Absent: no body (204, 304). */
  schema?: z.ZodType;
  /** `application/json` unless given. */
  contentTypes?: readonly string[];
  /** A whole example body; the schema's own `.meta({ example })` when absent. */
  example?: unknown;
  headers?: Readonly<Record<string, { description: string; type: "string" | "integer" }>>;
}

/**
 * A route's contract: what it takes, what it answers and which error codes it can produce. The route
 * builds its Fastify `schema` from this (schemas/fastify.ts), the OpenAPI document is generated from those,
 * and a client can import the same zod schemas.
 */
export interface Operation {
  operationId: string;
  summary: string;
  description: string;
  tags: readonly string[];
  /** How the route is authorized: an API key (with a scope), the admin token, a key or a signed link, or none. */
  auth: { key: KeyScope } | "admin" | "image" | "none";
  params?: z.ZodObject;
  querystring?: z.ZodObject;
  headers?: z.ZodObject;
  /** A JSON body. */
  body?: z.ZodType;
  /** A multipart/form-data body. */
  form?: z.ZodObject;
  responses: Readonly<Record<number, Reply>>;
  /** Every error code the route can answer, beside those its `auth` implies. */
  errors: readonly ErrorCode[];
  /** The OpenAI-compatible routes answer errors in OpenAI's envelope. */
  errorShape?: "openai";
}
