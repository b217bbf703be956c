import { z } from "zod";
import {
  Count,
  GenerationHeaders,
  JobStatusSchema,
  Money,
  Size,
  Timestamp,
  idParam,
  intQuery,
} from "./common.js";
import { GENERATION_INPUT_ERRORS, SOURCE_IMAGE_ERRORS, SUBMIT_ERRORS } from "./errors.js";
import { GenerateRequest } from "./generate.js";
import type { Operation } from "./operation.js";

const JOB_ID = "job_4kX9mQ2pL7vR1sT8";
const Dimension = z
  .number()
  .int()
  .optional()
  .describe("A multiple of 8 from 256 to the model's max size; 1024 by default");

export const SubmitJobRequest = GenerateRequest.omit({ size: true })
  .extend({
    width: Dimension,
    height: Dimension,
    size: Size.optional().describe("Instead of width and height: one of the model's sizes"),
    negative: z.string().optional().describe("Seed 004's name for `negative_prompt`"),
    webhook_url: z
      .string()
      .nullable()
      .optional()
      .describe(
        "Called when this job ends, signed with the secret of POST /v1/webhooks/default/secret (https)",
      ),
  })
  .meta({ example: { prompt: "A neon-lit alley in Tokyo at dusk", width: 1024, height: 768 } });
export type SubmitJobRequest = z.infer<typeof SubmitJobRequest>;

export const JobAccepted = z
  .strictObject({
    job_id: z.string(),
    status: z.literal("queued"),
    kind: z.literal("image"),
    poll_url: z.string().describe("GET it for the job's status"),
  })
  .meta({
    example: {
      job_id: JOB_ID,
      status: "queued",
      kind: "image",
      poll_url: `http://localhost:8080/v1/jobs/${JOB_ID}`,
    },
  });
export type JobAccepted = z.infer<typeof JobAccepted>;

export const Job = z
  .strictObject({
    job_id: z.string(),
    status: JobStatusSchema,
    kind: z.literal("image"),
    progress: z.number().min(0).max(1),
    model: z.string(),
    size: Size,
    seed: z.number().int(),
    cost: Money.describe("Held while open, charged when completed, 0.0000 when refunded"),
    created_at: Timestamp,
    started_at: Timestamp.nullable(),
    finished_at: Timestamp.nullable(),
    result_url: z
      .string()
      .nullable()
      .optional()
      .describe("Completed only: a signed link to the image; null once it expired or was purged"),
    expires_in: Count.optional().describe("Completed only: seconds until the image expires"),
    mime_type: z.string().optional().describe("Completed only, while the image is kept"),
    error: z.string().optional().describe("Failed, blocked or canceled: why"),
    error_code: z.string().nullable().optional(),
  })
  .meta({
    example: {
      job_id: JOB_ID,
      status: "completed",
      kind: "image",
      progress: 1,
      model: "zekron-image-1",
      size: "1024x768",
      seed: 1234567,
      cost: "0.0254",
      created_at: "2026-06-01T12:00:00+00:00",
      started_at: "2026-06-01T12:00:00+00:00",
      finished_at: "2026-06-01T12:00:03+00:00",
      result_url:
        "http://localhost:8080/v1/images/q7Vd2Lr9XbN4kTzW8mYc1HfP0sJgAeUo?expires=1780401600&signature=3fJ0q...",
      expires_in: 86397,
      mime_type: "image/png",
    },
  });
export type Job = z.infer<typeof Job>;

export const JobsQuery = z.object({
  status: JobStatusSchema.optional(),
  limit: intQuery("1-100, 20 by default", 20).optional(),
  cursor: z.string().optional().describe("`next_cursor` of the previous page"),
});

export const JobList = z
  .strictObject({
    object: z.literal("list"),
    data: z.array(Job).describe("Newest first"),
    has_more: z.boolean(),
    next_cursor: z.string().nullable(),
  })
  .meta({ example: { object: "list", data: [], has_more: false, next_cursor: null } });
export type JobList = z.infer<typeof JobList>;

export const JobEvents = z
  .string()
  .describe(
    "Server-Sent Events: `event: job` with the job object as `data`, on every change, ending at a " +
      "terminal status; `: keep-alive` comments every 15 s",
  )
  .meta({
    example: `id: 1\nevent: job\ndata: {"job_id":"${JOB_ID}","status":"running","progress":0.4,...}\n\n`,
  });

const JobIdParam = idParam("The job id", JOB_ID);

export const jobOps = {
  submit: {
    operationId: "submitJob",
    summary: "Submit an image job",
    description:
      "Answers 202 at once with the job id. `Prefer: wait=N` (N up to 60) holds the request up to N " +
      "seconds and answers the finished job (200) if it finished in time. The price is held now, charged " +
      "when the job completes and refunded otherwise.",
    tags: ["Jobs"],
    auth: { key: "generate" },
    headers: GenerationHeaders.extend({
      Prefer: z.string().optional().describe("`wait=N`, N seconds up to 60").meta({ example: "wait=10" }),
    }),
    body: SubmitJobRequest,
    responses: {
      202: { description: "Queued", schema: JobAccepted },
      200: { description: "Finished within `Prefer: wait=N`", schema: Job },
    },
    errors: [...GENERATION_INPUT_ERRORS, ...SOURCE_IMAGE_ERRORS, ...SUBMIT_ERRORS],
  },
  get: {
    operationId: "getJob",
    summary: "A job's status",
    description: "Status, progress, cost, and when completed a signed `result_url` (valid 24 h).",
    tags: ["Jobs"],
    auth: { key: "read" },
    params: JobIdParam,
    responses: { 200: { description: "The job", schema: Job } },
    errors: ["not_found"],
  },
  list: {
    operationId: "listJobs",
    summary: "The account's jobs",
    description: "Newest first, cursor-paginated: pass `next_cursor` as `cursor`.",
    tags: ["Jobs"],
    auth: { key: "read" },
    querystring: JobsQuery,
    responses: { 200: { description: "A page of jobs", schema: JobList } },
    errors: ["invalid_parameter"],
  },
  cancel: {
    operationId: "cancelJob",
    summary: "Cancel a job, or purge a finished one",
    description: "Cancels a queued or running job (refunded), or deletes a finished job's image bytes.",
    tags: ["Jobs"],
    auth: { key: "generate" },
    params: JobIdParam,
    responses: { 204: { description: "Canceled or purged" } },
    errors: ["not_found"],
  },
  events: {
    operationId: "streamJobEvents",
    summary: "Follow a job live",
    description: "Server-Sent Events of the job object on every change, until a terminal status.",
    tags: ["Jobs"],
    auth: { key: "read" },
    params: JobIdParam,
    responses: {
      200: { description: "The event stream", schema: JobEvents, contentTypes: ["text/event-stream"] },
    },
    errors: ["not_found"],
  },
} satisfies Record<string, Operation>;
