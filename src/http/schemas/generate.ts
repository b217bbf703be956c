import { z } from "zod";
import { GenerationHeaders, Money, Size, Timestamp, ok } from "./common.js";
import { GENERATION_INPUT_ERRORS, SOURCE_IMAGE_ERRORS, SUBMIT_ERRORS, SYNC_ERRORS } from "./errors.js";
import type { Operation } from "./operation.js";

const TOKEN = "q7Vd2Lr9XbN4kTzW8mYc1HfP0sJgAeUo";
const BASE = "http://localhost:8080";

export const OutputFormat = z
  .enum(["png", "jpeg", "jpg", "webp"])
  .describe("Encoding of the image (`jpg` = `jpeg`), `png` by default");

export const SourceImage = z.object({
  data: z.string().describe("Standard base64 of the image bytes, without a `data:` prefix"),
  mime_type: z
    .string()
    .optional()
    .describe("Informative: the format is sniffed from the bytes (PNG, JPEG or WebP)"),
});

export const GenerateRequest = z
  .object({
    prompt: z.string().describe("What to draw; at most 2,000 characters by default"),
    model: z
      .string()
      .optional()
      .describe("A model id or alias from GET /v1/models; `zekron-image-1` by default"),
    size: Size.optional().describe("One of the model's sizes; `1024x1024` by default"),
    negative_prompt: z.string().optional().describe("What to keep out of the image"),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional()
      .describe("Same prompt, size and seed give the same bytes"),
    output_format: OutputFormat.optional(),
    images: z
      .array(SourceImage)
      .max(2)
      .optional()
      .describe("1 or 2 source images: the request becomes an edit (or a combination of two)"),
  })
  .meta({
    example: {
      prompt: "A futuristic city with flying cars at sunset",
      model: "zekron-image-1",
      size: "1024x1024",
    },
  });
export type GenerateRequest = z.infer<typeof GenerateRequest>;

export const GenerateResponse = ok(
  z.strictObject({
    id: z.number().int().describe("The generation's sequential id"),
    token: z.string().nullable().describe("The image token; null with X-Zekron-Store: 0"),
    type: z.enum(["create", "edit"]),
    model: z.string(),
    prompt: z.string(),
    size: Size,
    seed: z.number().int().describe("The seed used (chosen at random when not given)"),
    image: z.strictObject({
      url: z.string().nullable().describe("GET it with the owner's key; null with X-Zekron-Store: 0"),
      signed_url: z.string().nullable().describe("Works without a key until `expires_at`"),
      b64_json: z.string().describe("The image bytes, base64"),
      mime_type: z.enum(["image/png", "image/jpeg", "image/webp"]),
      expires_at: Timestamp.nullable(),
    }),
    cost: Money.describe("What this image cost"),
    remaining_balance: Money.describe("The balance after the charge"),
    created_at: Timestamp,
  }),
)
  .extend({ created_at: Timestamp })
  .meta({
    example: {
      success: true,
      data: {
        id: 42,
        token: TOKEN,
        type: "create",
        model: "zekron-image-1",
        prompt: "A futuristic city with flying cars at sunset",
        size: "1024x1024",
        seed: 1234567,
        image: {
          url: `${BASE}/v1/images/${TOKEN}`,
          signed_url: `${BASE}/v1/images/${TOKEN}?expires=1780401600&signature=3fJ0q...`,
          b64_json: "iVBORw0KGgoAAAANSUhEUgAA...",
          mime_type: "image/png",
          expires_at: "2026-06-02T12:00:00+00:00",
        },
        cost: "0.0256",
        remaining_balance: "9.9744",
        created_at: "2026-06-01T12:00:00+00:00",
      },
      created_at: "2026-06-01T12:00:00+00:00",
    },
  });
export type GenerateResponse = z.infer<typeof GenerateResponse>;

export const generateOps = {
  generate: {
    operationId: "generate",
    summary: "Generate or edit an image and wait for it",
    description:
      "Seed 000's route. Creates an image from `prompt`, or edits 1-2 source `images`, and answers when it is " +
      "ready, with the image inline (`b64_json`) and as links. The price is held before the engine runs, " +
      "charged on success and refunded on failure. A client that disconnects does not lose the image: it " +
      "shows in GET /v1/generations.",
    tags: ["Generation"],
    auth: { key: "generate" },
    headers: GenerationHeaders,
    body: GenerateRequest,
    responses: { 200: { description: "The finished image", schema: GenerateResponse } },
    errors: [...GENERATION_INPUT_ERRORS, ...SOURCE_IMAGE_ERRORS, ...SUBMIT_ERRORS, ...SYNC_ERRORS],
  },
} satisfies Record<string, Operation>;
