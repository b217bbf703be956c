import { z } from "zod";
import type { WebhookEvent } from "../../db/schema.js";
import { Count, Timestamp, idParam, intQuery, noStore, type Covers } from "./common.js";
import { BODY_ERRORS } from "./errors.js";
import type { Operation } from "./operation.js";

const ENDPOINT_ID = "whe_8Hc3kQ9zR2mV5xLp";

export const JobEventSchema = z.enum(["job.completed", "job.failed", "job.blocked"]);
const EVENTS = ["job.completed", "job.failed", "job.blocked", "webhook.test"] as const;
const _allEvents: Covers<WebhookEvent, typeof EVENTS> = true;

export const CreateWebhookRequest = z
  .object({
    url: z.string().describe("https (http only with ZEKRON_WEBHOOK_ALLOW_PRIVATE, for development)"),
    events: z.array(JobEventSchema).min(1).optional().describe("All three when absent"),
    description: z.string().optional().describe("Kept up to 500 characters"),
  })
  .meta({ example: { url: "https://example.com/zekron", events: ["job.completed", "job.failed"] } });
export type CreateWebhookRequest = z.infer<typeof CreateWebhookRequest>;

const endpointFields = {
  id: z.string(),
  url: z.string(),
  events: z.array(JobEventSchema),
  description: z.string().nullable(),
  created_at: Timestamp,
};
const endpointExample = {
  id: ENDPOINT_ID,
  url: "https://example.com/zekron",
  events: ["job.completed", "job.failed"],
  description: null,
  created_at: "2026-06-01T12:00:00+00:00",
};

export const WebhookEndpoint = z.strictObject(endpointFields).meta({ example: endpointExample });
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

const Secret = z
  .string()
  .regex(/^whsec_/)
  .describe("The Standard Webhooks signing secret")
  .meta({ example: "whsec_MfKQ9r8GKYqXqT8Xk1cS5mW0Jd2bZpQe" });

export const CreatedWebhook = z
  .strictObject({ ...endpointFields, secret: Secret.describe("Shown once: keep it to verify signatures") })
  .meta({ example: { ...endpointExample, secret: "whsec_MfKQ9r8GKYqXqT8Xk1cS5mW0Jd2bZpQe" } });
export type CreatedWebhook = z.infer<typeof CreatedWebhook>;

export const WebhookList = z
  .strictObject({ object: z.literal("list"), data: z.array(WebhookEndpoint) })
  .meta({ example: { object: "list", data: [endpointExample] } });
export type WebhookList = z.infer<typeof WebhookList>;

export const DefaultSecret = z
  .strictObject({ secret: Secret.describe("Signs the deliveries to per-job `webhook_url`s") })
  .meta({ example: { secret: "whsec_MfKQ9r8GKYqXqT8Xk1cS5mW0Jd2bZpQe" } });
export type DefaultSecret = z.infer<typeof DefaultSecret>;

const deliveryExample = {
  id: "whd_2Nf7pT4qW9xK3mZs",
  event: "webhook.test",
  job_id: null,
  webhook_id: "msg_2Nf7pT4qW9xK3mZsA1bC",
  status: "delivered",
  attempts: 1,
  last_status: 200,
  last_error: null,
  next_attempt_at: null,
  created_at: "2026-06-01T12:00:00+00:00",
  delivered_at: "2026-06-01T12:00:00+00:00",
};

export const WebhookDelivery = z
  .strictObject({
    id: z.string(),
    event: z.enum(EVENTS),
    job_id: z.string().nullable(),
    webhook_id: z.string().describe("The `webhook-id` header: the same on every retry"),
    status: z.enum(["pending", "delivered", "failed"]),
    attempts: Count,
    last_status: z.number().int().nullable().describe("HTTP status of the last attempt"),
    last_error: z.string().nullable(),
    next_attempt_at: Timestamp.nullable(),
    created_at: Timestamp,
    delivered_at: Timestamp.nullable(),
  })
  .meta({ example: deliveryExample });
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const WebhookTestResult = z
  .strictObject({
    delivery: WebhookDelivery,
    ok: z.boolean().describe("A 2xx within 10 s"),
    status: z.number().int().nullable(),
    duration_ms: Count,
    error: z.string().nullable(),
  })
  .meta({ example: { delivery: deliveryExample, ok: true, status: 200, duration_ms: 84, error: null } });
export type WebhookTestResult = z.infer<typeof WebhookTestResult>;

export const DeliveryList = z
  .strictObject({ object: z.literal("list"), data: z.array(WebhookDelivery).describe("Newest first") })
  .meta({ example: { object: "list", data: [deliveryExample] } });
export type DeliveryList = z.infer<typeof DeliveryList>;

const EndpointIdParam = idParam("The webhook endpoint id", ENDPOINT_ID);
const tags = ["Webhooks"];
const auth = { key: "webhooks" } as const;

const secretNoStore = noStore("a secret");

export const webhookOps = {
  create: {
    operationId: "createWebhook",
    summary: "Register a webhook endpoint",
    description:
      "Events are POSTed with seed 004's payload and signed per Standard Webhooks (`webhook-id`, " +
      "`webhook-timestamp`, `webhook-signature`). At most 20 endpoints per account.",
    tags,
    auth,
    body: CreateWebhookRequest,
    responses: {
      201: { description: "The endpoint, with its secret", schema: CreatedWebhook, headers: secretNoStore },
    },
    errors: [...BODY_ERRORS, "invalid_parameter"],
  },
  list: {
    operationId: "listWebhooks",
    summary: "The account's webhook endpoints",
    description: "Without their secrets.",
    tags,
    auth,
    responses: { 200: { description: "The endpoints", schema: WebhookList } },
    errors: [],
  },
  defaultSecret: {
    operationId: "rotateDefaultWebhookSecret",
    summary: "Make (or roll) the secret of per-job webhook_url deliveries",
    description:
      "Jobs submitted with a `webhook_url` are signed with this account-wide secret. It is shown only in " +
      "this answer; calling again makes a new one, and the old one stops signing at once.",
    tags,
    auth,
    responses: {
      201: { description: "The new secret, shown once", schema: DefaultSecret, headers: secretNoStore },
    },
    errors: [],
  },
  delete: {
    operationId: "deleteWebhook",
    summary: "Delete a webhook endpoint",
    description: "No further deliveries are made to it.",
    tags,
    auth,
    params: EndpointIdParam,
    responses: { 204: { description: "Deleted" } },
    errors: ["not_found"],
  },
  test: {
    operationId: "testWebhook",
    summary: "Send a signed test event now",
    description: "Delivers a `webhook.test` event at once and answers how it went.",
    tags,
    auth,
    params: EndpointIdParam,
    responses: { 200: { description: "The delivery and its outcome", schema: WebhookTestResult } },
    errors: ["not_found"],
  },
  deliveries: {
    operationId: "listWebhookDeliveries",
    summary: "An endpoint's recent deliveries",
    description: "With their status, attempts and last error.",
    tags,
    auth,
    params: EndpointIdParam,
    querystring: z.object({ limit: intQuery("1-100, 50 by default", 50).optional() }),
    responses: { 200: { description: "The deliveries", schema: DeliveryList } },
    errors: ["not_found"],
  },
} satisfies Record<string, Operation>;
