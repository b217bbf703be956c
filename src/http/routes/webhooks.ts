import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Services } from "../../services.js";
import type { WebhookDelivery, WebhookEndpoint, WebhookEvent } from "../../db/schema.js";
import { JOB_EVENTS } from "../../db/schema.js";
import { apiTime } from "../../clock.js";
import { ApiError } from "../../errors.js";
import { checkWebhookUrl } from "../../webhooks/urls.js";
import { asObject } from "../generation.js";
import { withSchemas } from "../schemas/fastify.js";
import { webhookOps } from "../schemas/webhooks.js";

const MAX_ENDPOINTS = 20;

function endpointView(e: WebhookEndpoint) {
  return {
    id: e.id,
    url: e.url,
    events: e.events.split(","),
    description: e.description,
    created_at: apiTime(e.created_at),
  };
}

function deliveryView(d: WebhookDelivery) {
  return {
    id: d.id,
    event: d.event,
    job_id: d.job_id,
    webhook_id: d.msg_id,
    status: d.status,
    attempts: d.attempts,
    last_status: d.last_status,
    last_error: d.last_error,
    next_attempt_at: d.next_attempt_at ? apiTime(d.next_attempt_at) : null,
    created_at: apiTime(d.created_at),
    delivered_at: d.delivered_at ? apiTime(d.delivered_at) : null,
  };
}

/** Webhook endpoints (seed 004, Standard Webhooks). */
export function webhookRoutes(app: FastifyInstance, s: Services): void {
  const cfg = { config: { auth: "key" as const, scope: "webhooks" as const } };
  const on = withSchemas(webhookOps, cfg);
  const own = async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const e = await s.webhooks.getEndpoint(req.auth!.tenantId, req.params.id);
    if (!e) throw new ApiError("not_found", `No webhook endpoint ${req.params.id}`);
    return e;
  };

  app.post("/v1/webhooks", on.create, async (req, reply) => {
    const body = asObject(req.body);
    const url = checkWebhookUrl(body.url, s.config.webhookAllowPrivate, "url");
    let events: WebhookEvent[] = [...JOB_EVENTS];
    if (body.events !== undefined) {
      if (
        !Array.isArray(body.events) ||
        body.events.length === 0 ||
        !body.events.every((e) => JOB_EVENTS.includes(e as WebhookEvent))
      ) {
        throw new ApiError(
          "invalid_parameter",
          `events must be a non-empty list of ${JOB_EVENTS.join(", ")}`,
          { param: "events" },
        );
      }
      events = [...new Set(body.events as WebhookEvent[])];
    }
    const description = typeof body.description === "string" ? body.description.slice(0, 500) : null;
    if ((await s.webhooks.listEndpoints(req.auth!.tenantId)).length >= MAX_ENDPOINTS) {
      throw new ApiError("invalid_parameter", `At most ${MAX_ENDPOINTS} webhook endpoints per account`);
    }
    const { row, secret } = await s.webhooks.createEndpoint(req.auth!.tenantId, url, events, description);
    return reply
      .code(201)
      .header("Cache-Control", "no-store")
      .send({ ...endpointView(row), secret });
  });

  app.get("/v1/webhooks", on.list, async (req) => ({
    object: "list",
    data: (await s.webhooks.listEndpoints(req.auth!.tenantId)).map(endpointView),
  }));

  // Shown once, like an endpoint's secret: a key that can read webhooks must not be able to read it again,
  // and no cache may keep a copy.
  app.post("/v1/webhooks/default/secret", on.defaultSecret, async (req, reply) =>
    reply
      .code(201)
      .header("Cache-Control", "no-store")
      .send({ secret: await s.webhooks.rotateDefaultSecret(req.auth!.tenantId) }),
  );

  app.delete<{ Params: { id: string } }>("/v1/webhooks/:id", on.delete, async (req, reply) => {
    if (!(await s.webhooks.deleteEndpoint(req.auth!.tenantId, req.params.id))) {
      throw new ApiError("not_found", `No webhook endpoint ${req.params.id}`);
    }
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>("/v1/webhooks/:id/test", on.test, async (req) => {
    const { delivery, result } = await s.webhooks.sendTest(await own(req));
    return {
      delivery: deliveryView(delivery),
      ok: result.ok,
      status: result.status,
      duration_ms: Math.round(result.durationMs),
      error: result.error ?? null,
    };
  });

  app.get<{ Params: { id: string }; Querystring: { limit?: string } }>(
    "/v1/webhooks/:id/deliveries",
    on.deliveries,
    async (req) => {
      const e = await own(req);
      const limit = Math.min(100, Math.max(1, Number(req.query.limit ?? 50) || 50));
      return { object: "list", data: (await s.webhooks.listDeliveries(e.id, limit)).map(deliveryView) };
    },
  );
}
