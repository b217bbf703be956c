import { z } from "zod";
import { Count } from "./common.js";
import type { Operation } from "./operation.js";

export const Health = z.strictObject({ status: z.literal("ok") }).meta({ example: { status: "ok" } });
export type Health = z.infer<typeof Health>;

const Check = z.enum(["ok", "error"]).describe("`ok` or `error` (why is in the server log)");

export const Readiness = z
  .strictObject({
    status: z.enum(["ready", "not_ready"]),
    checks: z.strictObject({ database: Check, storage: Check, queue: Check }),
    queue: z.strictObject({ depth: Count.describe("Jobs waiting"), running: Count }),
  })
  .meta({
    example: {
      status: "ready",
      checks: { database: "ok", storage: "ok", queue: "ok" },
      queue: { depth: 0, running: 0 },
    },
  });
export type Readiness = z.infer<typeof Readiness>;

export const OpenApiDocument = z
  .looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) })
  .describe("This document")
  .meta({ example: { openapi: "3.1.0", info: { title: "Zekron API", version: "0.1.0" }, paths: {} } });

const tags = ["Operations"];

export const healthOps = {
  healthz: {
    operationId: "healthz",
    summary: "Liveness",
    description: "The process is up. No key.",
    tags,
    auth: "none",
    responses: { 200: { description: "Up", schema: Health } },
    errors: [],
  },
  readyz: {
    operationId: "readyz",
    summary: "Readiness",
    description: "Whether the database, the storage and the queue answer. No key.",
    tags,
    auth: "none",
    responses: {
      200: { description: "Ready", schema: Readiness },
      503: {
        description: "Not ready: a check failed",
        schema: Readiness,
        example: {
          status: "not_ready",
          checks: { database: "ok", storage: "error", queue: "ok" },
          queue: { depth: 0, running: 0 },
        },
      },
    },
    errors: [],
  },
  openapi: {
    operationId: "getOpenApiDocument",
    summary: "This API reference, as OpenAPI 3.1",
    description: "Generated from the routes' schemas; rendered at GET /docs. No key.",
    tags,
    auth: "none",
    responses: { 200: { description: "The OpenAPI document", schema: OpenApiDocument } },
    errors: [],
  },
} satisfies Record<string, Operation>;
