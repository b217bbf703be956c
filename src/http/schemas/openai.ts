import { z } from "zod";
import { Count, GenerationHeaders, Size } from "./common.js";
import { GENERATION_INPUT_ERRORS, SUBMIT_ERRORS, SYNC_ERRORS } from "./errors.js";
import { OutputFormat } from "./generate.js";
import type { Operation } from "./operation.js";

export const QUALITY = z.enum(["auto", "standard", "hd", "low", "medium", "high"]);
export const BACKGROUND = z.enum(["auto", "opaque", "transparent"]);
export const RESPONSE_FORMAT = z.enum(["b64_json", "url"]);
/** Most images one request makes. */
export const MAX_N = 10;

const imageFields = {
  prompt: z.string().describe("What to draw, or how to change the image"),
  model: z
    .string()
    .optional()
    .describe("A model id or alias, or an OpenAI name the operator mapped (`openai_models`)"),
  size: z
    .union([Size, z.literal("auto")])
    .optional()
    .describe("One of the model's sizes; `auto`: the default"),
  response_format: RESPONSE_FORMAT.optional().describe(
    "`b64_json` (default), or `url`: a signed link (not with X-Zekron-Store: 0)",
  ),
  quality: QUALITY.optional().describe("Echoed back; does not change the image"),
  background: BACKGROUND.optional().describe("Echoed back; does not change the image"),
  output_format: OutputFormat.optional(),
  user: z.string().optional().describe("Accepted and ignored"),
};

export const OpenAIGenerationRequest = z
  .object({
    ...imageFields,
    n: z
      .number()
      .int()
      .min(1)
      .max(MAX_N)
      .optional()
      .describe("Images to make, 1 by default; all paid or none"),
    stream: z.literal(false).optional().describe("Streaming is not supported"),
  })
  .meta({ example: { prompt: "A watercolor fox in the snow", model: "zekron-image-1", size: "1024x1024" } });
export type OpenAIGenerationRequest = z.infer<typeof OpenAIGenerationRequest>;

const Binary = z.string().meta({ format: "binary" });

export const OpenAIEditForm = z
  .object({
    ...imageFields,
    image: Binary.optional().describe("The source image (PNG, JPEG or WebP, at most 10 MiB)"),
    "image[]": z
      .array(Binary)
      .max(2)
      .optional()
      .describe("Or 1-2 source images, as repeated `image[]` file fields"),
    n: z
      .string()
      .regex(/^\d{1,2}$/)
      .optional()
      .describe("1-10, 1 by default (form fields are strings)"),
  })
  .describe("`image` or `image[]` is required; `mask` is refused (the whole image is edited)");
export type OpenAIEditForm = z.infer<typeof OpenAIEditForm>;

export const OpenAIImagesResponse = z
  .strictObject({
    created: z.number().int().describe("Unix seconds"),
    data: z.array(
      z.union([
        z.strictObject({ b64_json: z.string(), revised_prompt: z.string() }),
        z.strictObject({ url: z.string().describe("A signed link"), revised_prompt: z.string() }),
      ]),
    ),
    size: Size,
    output_format: z.enum(["png", "jpeg", "webp"]),
    quality: QUALITY,
    background: BACKGROUND,
    usage: z
      .strictObject({
        input_tokens: Count,
        input_tokens_details: z.strictObject({ text_tokens: Count, image_tokens: Count }),
        output_tokens: Count,
        total_tokens: Count,
      })
      .describe("Estimates in OpenAI's shape, for clients that read them; billing is per image"),
  })
  .meta({
    example: {
      created: 1780315200,
      data: [{ b64_json: "iVBORw0KGgoAAAANSUhEUgAA...", revised_prompt: "A watercolor fox in the snow" }],
      size: "1024x1024",
      output_format: "png",
      quality: "auto",
      background: "opaque",
      usage: {
        input_tokens: 7,
        input_tokens_details: { text_tokens: 7, image_tokens: 0 },
        output_tokens: 1024,
        total_tokens: 1031,
      },
    },
  });
export type OpenAIImagesResponse = z.infer<typeof OpenAIImagesResponse>;

const tags = ["OpenAI-compatible"];
const common = {
  tags,
  auth: { key: "generate" },
  headers: GenerationHeaders,
  errorShape: "openai",
} as const;

export const openaiOps = {
  generations: {
    ...common,
    operationId: "openaiCreateImage",
    summary: "Create images (OpenAI's Images API)",
    description:
      "OpenAI's `images.generate`, so that the official SDKs work with only `baseURL` and `apiKey` " +
      "changed. Billing, limits and history as for POST /v1/generate; errors in OpenAI's envelope.",
    body: OpenAIGenerationRequest,
    responses: { 200: { description: "The images", schema: OpenAIImagesResponse } },
    errors: [...GENERATION_INPUT_ERRORS, ...SUBMIT_ERRORS, ...SYNC_ERRORS],
  },
  edits: {
    ...common,
    operationId: "openaiEditImage",
    summary: "Edit images (OpenAI's Images API)",
    description:
      "OpenAI's `images.edit`: a multipart/form-data body with 1-2 image files (`image` or `image[]`) and " +
      "text fields (numbers and booleans as strings). Errors in OpenAI's envelope.",
    form: OpenAIEditForm,
    responses: { 200: { description: "The edited images", schema: OpenAIImagesResponse } },
    errors: [
      ...GENERATION_INPUT_ERRORS,
      "too_many_images",
      "invalid_image",
      ...SUBMIT_ERRORS,
      ...SYNC_ERRORS,
    ],
  },
} satisfies Record<string, Operation>;
