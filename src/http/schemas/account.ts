import { z } from "zod";
import { Count, JobStatusSchema, Money, Pagination, Size, Timestamp, intQuery, ok } from "./common.js";
import type { Operation } from "./operation.js";

const TOKEN = "q7Vd2Lr9XbN4kTzW8mYc1HfP0sJgAeUo";

export const BalanceResponse = ok(
  z.strictObject({
    balance: Money.describe("What can be spent now (holds of running jobs excluded)"),
    total_spent: Money,
    total_generations: Count,
    currency: z.literal("USD"),
  }),
).meta({
  example: {
    success: true,
    data: { balance: "9.9744", total_spent: "0.0256", total_generations: 1, currency: "USD" },
  },
});
export type BalanceResponse = z.infer<typeof BalanceResponse>;

export const GenerationsQuery = z.object({
  limit: intQuery("1-100, 20 by default", 20).optional(),
  offset: intQuery("Rows to skip, 0 by default", 0).optional(),
  status: JobStatusSchema.optional(),
  type: z.enum(["create", "edit"]).optional(),
  model: z.string().optional().describe("A model id or alias"),
});

export const Generation = z.strictObject({
  id: z.number().int(),
  token: z.string().nullable().describe("Null when not stored or not (yet) made"),
  prompt: z.string(),
  model: z.string(),
  size: Size,
  cost: Money.describe("What was charged: 0.0000 unless completed"),
  status: JobStatusSchema,
  type: z.enum(["create", "edit"]),
  image_url: z.string().nullable().describe("Null when there is no image, or once it was deleted or swept"),
  signed_url: z.string().nullable().describe("Null when image_url is"),
  expires_at: Timestamp.nullable(),
  created_at: Timestamp,
});
export type Generation = z.infer<typeof Generation>;

export const GenerationsResponse = ok(
  z.strictObject({ generations: z.array(Generation).describe("Newest first"), pagination: Pagination }),
).meta({
  example: {
    success: true,
    data: {
      generations: [
        {
          id: 42,
          token: TOKEN,
          prompt: "A futuristic city with flying cars at sunset",
          model: "zekron-image-1",
          size: "1024x1024",
          cost: "0.0256",
          status: "completed",
          type: "create",
          image_url: `http://localhost:8080/v1/images/${TOKEN}`,
          signed_url: `http://localhost:8080/v1/images/${TOKEN}?expires=1780401600&signature=3fJ0q...`,
          expires_at: "2026-06-02T12:00:00+00:00",
          created_at: "2026-06-01T12:00:00+00:00",
        },
      ],
      pagination: { total: 1, limit: 20, offset: 0, has_more: false },
    },
  },
});
export type GenerationsResponse = z.infer<typeof GenerationsResponse>;

const Period = { images: Count.describe("Completed images"), spent: Money };

export const UsageResponse = ok(
  z.strictObject({
    today: z.strictObject({ ...Period, date: z.string().describe("The UTC day, YYYY-MM-DD") }),
    month: z.strictObject({ ...Period, month_start: z.string().describe("First day of the UTC month") }),
    balance: Money,
    allowances: z.strictObject({
      daily_images: Count.nullable().describe("Null: no daily allowance"),
      monthly_images: Count.nullable().describe("Null: no monthly allowance"),
    }),
    limits: z.strictObject({ requests_per_minute: Count, max_concurrent: Count }),
  }),
)
  // Seed 002's own fields for its route, beside ours (its clients read them at the top level). Images
  // are prepaid here, so there is no overage.
  .extend({
    images_used: Count.describe("Images completed this UTC month (seed 002)"),
    images_overage: z.literal(0).describe("Always 0: images are prepaid from the balance"),
    overage_charged_cents: z.literal(0).describe("Always 0: images are prepaid from the balance"),
    base_images_allowance: Count.nullable().describe("The monthly image allowance; null: none"),
    month_start: z.string().describe("First day of the UTC month, YYYY-MM-DD (seed 002)"),
  })
  .meta({
    example: {
      success: true,
      data: {
        today: { images: 3, spent: "0.0768", date: "2026-06-01" },
        month: { images: 12, spent: "0.3072", month_start: "2026-06-01" },
        balance: "9.6928",
        allowances: { daily_images: 500, monthly_images: null },
        limits: { requests_per_minute: 60, max_concurrent: 5 },
      },
      images_used: 12,
      images_overage: 0,
      overage_charged_cents: 0,
      base_images_allowance: null,
      month_start: "2026-06-01",
    },
  });
export type UsageResponse = z.infer<typeof UsageResponse>;

export const accountOps = {
  balance: {
    operationId: "getBalance",
    summary: "The account's balance",
    description: "Seed 000's shape: balance, total spent and number of generations.",
    tags: ["Account"],
    auth: { key: "read" },
    responses: { 200: { description: "The balance", schema: BalanceResponse } },
    errors: [],
  },
  generations: {
    operationId: "listGenerations",
    summary: "The generation history",
    description: "Seed 000's shape, newest first, with `limit`/`offset` pagination and filters.",
    tags: ["Account"],
    auth: { key: "read" },
    querystring: GenerationsQuery,
    responses: { 200: { description: "A page of generations", schema: GenerationsResponse } },
    errors: ["invalid_parameter"],
  },
  usage: {
    operationId: "getUsage",
    summary: "Usage, allowances and limits",
    description:
      "Images and spend for today and this month (UTC), beside the account's allowances and limits.",
    tags: ["Account"],
    auth: { key: "read" },
    responses: { 200: { description: "Usage", schema: UsageResponse } },
    errors: [],
  },
} satisfies Record<string, Operation>;
