import { z } from "zod";
import { MODEL_STATUSES, Money, Size, idParam } from "./common.js";
import type { Operation } from "./operation.js";
import { ALL_SIZES } from "../../domain/catalog.js";

export const Model = z.strictObject({
  id: z.string(),
  object: z.literal("model"),
  created: z.number().int().describe("Unix seconds"),
  owned_by: z.literal("zekron"),
  name: z.string(),
  aliases: z.array(z.string()).describe("Other names accepted as `model`"),
  status: z.enum(MODEL_STATUSES),
  sizes: z.array(Size).describe("The sizes `size` may take"),
  max_size: Size,
  supports_edit: z.boolean().describe("Whether source `images` are accepted"),
  price: z.strictObject({ min: Money, max: Money }).describe("Price range of one image"),
});
export type Model = z.infer<typeof Model>;

export const ModelList = z.strictObject({ object: z.literal("list"), data: z.array(Model) }).meta({
  example: {
    object: "list",
    data: [
      {
        id: "zekron-image-1",
        object: "model",
        created: 1767225600,
        owned_by: "zekron",
        name: "Zekron Image v0.1.1",
        aliases: ["zekron-image-1:image-preview"],
        status: "ga",
        sizes: [...ALL_SIZES],
        max_size: "2048x2048",
        supports_edit: true,
        price: { min: "0.0250", max: "0.0290" },
      },
    ],
  },
});
export type ModelList = z.infer<typeof ModelList>;

export const modelOps = {
  list: {
    operationId: "listModels",
    summary: "The model catalog",
    description: "OpenAI's list shape, plus what a client needs to choose and price a model.",
    tags: ["Models"],
    auth: { key: "read" },
    responses: { 200: { description: "The models", schema: ModelList } },
    errors: [],
  },
  get: {
    operationId: "getModel",
    summary: "One model",
    description:
      "A model of the catalog by its id or an alias, in the list's shape (OpenAI's `models.retrieve`).",
    tags: ["Models"],
    auth: { key: "read" },
    params: idParam("A model id or alias", "zekron-image-1"),
    responses: { 200: { description: "The model", schema: Model } },
    errors: ["not_found"],
  },
} satisfies Record<string, Operation>;
