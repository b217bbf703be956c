import { z } from "zod";
import { GenerationHeaders, Size, Timestamp, ok } from "./common.js";
import { GENERATION_INPUT_ERRORS, SUBMIT_ERRORS, SYNC_ERRORS } from "./errors.js";
import type { Operation } from "./operation.js";

export const PreviewParams = z.strictObject({
  action: z
    .string()
    .regex(/:image-preview$/)
    .describe("`{model}:image-preview`, e.g. `zekron-image-1:image-preview`")
    .meta({ example: "zekron-image-1:image-preview" }),
});

export const PreviewRequest = z
  .object({
    prompt: z.string().describe("What to draw"),
    model: z.string().optional().describe("Accepted when it names the same model as the path"),
    options: z
      .object({
        size: Size.optional(),
        negative_prompt: z.string().optional(),
        seed: z
          .number()
          .int()
          .min(0)
          .max(2 ** 32 - 1)
          .optional(),
      })
      .optional(),
  })
  .meta({
    example: {
      prompt: "A futuristic city at night",
      options: { size: "512x512", negative_prompt: "blurry" },
    },
  });
export type PreviewRequest = z.infer<typeof PreviewRequest>;

export const PreviewResponse = ok(
  z.strictObject({
    id: z.string().describe("`img_` and the generation's sequential id"),
    url: z.string().nullable().describe("GET it with the owner's key"),
    model: z.string().describe("The model as the request named it"),
    cost: z.number().describe("Dollars, as a number (seed 001's shape)"),
    created_at: Timestamp,
  }),
).meta({
  example: {
    success: true,
    data: {
      id: "img_42",
      url: "http://localhost:8080/v1/images/q7Vd2Lr9XbN4kTzW8mYc1HfP0sJgAeUo",
      model: "zekron-image-1:image-preview",
      cost: 0.0253,
      created_at: "2026-06-01T12:00:00+00:00",
    },
  },
});
export type PreviewResponse = z.infer<typeof PreviewResponse>;

export const previewOps = {
  preview: {
    operationId: "generatePreview",
    summary: "Generate an image (seed 001's preview route)",
    description:
      "Seed 001's route: `POST /api/v1/{model}:image-preview`. Waits for the image like POST /v1/generate " +
      "and answers seed 001's shape. Any other `{action}` answers 404 `not_found`.",
    tags: ["Generation"],
    auth: { key: "generate" },
    params: PreviewParams,
    headers: GenerationHeaders.pick({ "Idempotency-Key": true }),
    body: PreviewRequest,
    responses: { 200: { description: "The finished image", schema: PreviewResponse } },
    errors: [...GENERATION_INPUT_ERRORS, ...SUBMIT_ERRORS, ...SYNC_ERRORS, "not_found"],
  },
} satisfies Record<string, Operation>;
