import { z } from "zod";
import type { JobStatus } from "../../db/schema.js";
import type { KeyScope } from "../../domain/apikeys.js";
import type { ModelStatus } from "../../domain/catalog.js";

// Only type imports from the server code: these files are also the typed client's contract, and must load
// without the server's runtime (database, crypto, engines).

/** True when the list names every member of the union: a missing one fails `tsc`. */
export type Covers<U, L extends readonly unknown[]> = [U] extends [L[number]] ? true : false;

export const Money = z
  .string()
  .regex(/^-?\d+\.\d{4}$/)
  .describe("US dollars as a decimal string with 4 places")
  .meta({ example: "0.0256" });

export const Timestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$/)
  .describe("ISO 8601 time in UTC with its offset")
  .meta({ example: "2026-06-01T12:00:00+00:00" });

export const Size = z
  .string()
  .regex(/^\d+x\d+$/)
  .describe("Width x height in pixels")
  .meta({ example: "1024x1024" });

export const Count = z.number().int().nonnegative();

export const JOB_STATUSES = [
  "queued",
  "running",
  "completed",
  "failed",
  "blocked",
  "canceled",
] as const satisfies readonly JobStatus[];
const _allJobStatuses: Covers<JobStatus, typeof JOB_STATUSES> = true;
export const JobStatusSchema = z
  .enum(JOB_STATUSES)
  .describe("queued -> running -> completed | failed | blocked | canceled");

export const KEY_SCOPE_NAMES = [
  "generate",
  "read",
  "keys",
  "webhooks",
] as const satisfies readonly KeyScope[];
const _allScopes: Covers<KeyScope, typeof KEY_SCOPE_NAMES> = true;
export const KeyScopeSchema = z.enum(KEY_SCOPE_NAMES);

export const MODEL_STATUSES = ["ga", "preview", "beta"] as const satisfies readonly ModelStatus[];
const _allModelStatuses: Covers<ModelStatus, typeof MODEL_STATUSES> = true;

/** Zekron's success wrapper (seed 000): `{"success": true, "data": ...}`. */
export function ok<T extends z.ZodType>(data: T) {
  return z.strictObject({ success: z.literal(true), data });
}

export const Pagination = z.strictObject({
  total: Count.describe("Rows matching the filters"),
  limit: Count,
  offset: Count,
  has_more: z.boolean(),
});

/** A page size or offset as the query string carries it. */
export function intQuery(description: string, example: number) {
  return z
    .string()
    .regex(/^\d+$/)
    .describe(description)
    .meta({ example: String(example) });
}

export function idParam(description: string, example: string) {
  return z.strictObject({ id: z.string().describe(description).meta({ example }) });
}

export const GenerationHeaders = z.object({
  "Idempotency-Key": z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe(
      "1-255 visible ASCII characters. The same key with the same request replays the first result " +
        "without a second charge (kept 24 h per tenant).",
    )
    .meta({ example: "order-1234" }),
  "X-Zekron-Store": z
    .enum(["0", "1"])
    .optional()
    .describe("`0`: zero data retention, the image is returned inline only and never stored"),
});

/** The Cache-Control header of an answer that holds `what` (a key, a secret): never kept by a cache. */
export const noStore = (what: string) =>
  ({ "Cache-Control": { description: `\`no-store\`: the answer holds ${what}`, type: "string" } }) as const;
