import type { FastifyInstance } from "fastify";
import type { Services } from "../../services.js";
import { apiTime } from "../../clock.js";
import { formatMoney } from "../../domain/money.js";
import { ApiError } from "../../errors.js";
import { andThen } from "../../maybe.js";
import { imageUrl, signedImageUrl } from "../generation.js";
import type { JobStatus } from "../../db/schema.js";
import { routeSchemas } from "../schemas/fastify.js";
import { accountOps } from "../schemas/account.js";

const STATUSES = new Set<JobStatus>(["queued", "running", "completed", "failed", "blocked", "canceled"]);

function intParam(value: unknown, name: string, def: number, min: number, max: number): number {
  if (value === undefined || value === "") return def;
  const n = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || n < min || n > max) {
    throw new ApiError("invalid_parameter", `${name} must be an integer from ${min} to ${max}`, {
      param: name,
    });
  }
  return n;
}

export function accountRoutes(app: FastifyInstance, s: Services): void {
  const doc = routeSchemas(accountOps);
  app.get("/v1/balance", { schema: doc.balance, config: { auth: "key", scope: "read" } }, (req) =>
    // Answered in the same turn when the read can be (see Db.first): Fastify sends a returned object.
    andThen(s.tenants.balance(req.auth!.tenantId), (t) => ({
      success: true,
      data: {
        balance: formatMoney(t!.available),
        total_spent: formatMoney(t!.total_spent),
        total_generations: t!.total_generations,
        currency: "USD",
      },
    })),
  );

  app.get<{ Querystring: Record<string, string | undefined> }>(
    "/v1/generations",
    { schema: doc.generations, config: { auth: "key", scope: "read" } },
    async (req) => {
      const q = req.query;
      const limit = intParam(q.limit, "limit", 20, 1, 100);
      const offset = intParam(q.offset, "offset", 0, 0, 1_000_000_000);
      if (q.status !== undefined && !STATUSES.has(q.status as JobStatus)) {
        throw new ApiError("invalid_parameter", `status must be one of ${[...STATUSES].join(", ")}`, {
          param: "status",
        });
      }
      if (q.type !== undefined && q.type !== "create" && q.type !== "edit") {
        throw new ApiError("invalid_parameter", "type must be create or edit", { param: "type" });
      }
      const model = q.model === undefined ? undefined : (s.catalog.find(q.model)?.id ?? q.model);
      let base = s.db.kysely.selectFrom("jobs").where("jobs.tenant_id", "=", req.auth!.tenantId);
      if (q.status) base = base.where("jobs.status", "=", q.status as JobStatus);
      if (q.type) base = base.where("jobs.type", "=", q.type as "create" | "edit");
      if (model) base = base.where("jobs.model", "=", model);
      const [rows, count] = await Promise.all([
        base
          .leftJoin("images", "images.token", "jobs.image_token")
          .select([
            "jobs.seq",
            "jobs.image_token",
            "jobs.prompt",
            "jobs.model",
            "jobs.width",
            "jobs.height",
            "jobs.cost",
            "jobs.status",
            "jobs.type",
            "jobs.created_at",
            "images.expires_at",
            "images.deleted_at",
          ])
          .orderBy("jobs.seq", "desc")
          .limit(limit)
          .offset(offset)
          .execute(),
        base.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow(),
      ]);
      const total = Number(count.n);
      // A purged or swept image has no bytes left: no link to it.
      const linkOf = (r: (typeof rows)[number]) => {
        if (r.image_token === null || r.expires_at === null || r.deleted_at !== null) return null;
        const url = imageUrl(s, req, r.image_token);
        return {
          url,
          signed: signedImageUrl(s, req, { token: r.image_token, expires_at: r.expires_at }, url),
        };
      };
      return {
        success: true,
        data: {
          generations: rows.map((r) => {
            const link = linkOf(r);
            return {
              id: r.seq,
              token: r.image_token,
              prompt: r.prompt,
              model: r.model,
              size: `${r.width}x${r.height}`,
              // Only a completed job was charged; the others were refunded or are still held.
              cost: formatMoney(r.status === "completed" ? r.cost : 0),
              status: r.status,
              type: r.type,
              image_url: link?.url ?? null,
              signed_url: link?.signed ?? null,
              expires_at: r.expires_at ? apiTime(r.expires_at) : null,
              created_at: apiTime(r.created_at),
            };
          }),
          pagination: { total, limit, offset, has_more: offset + rows.length < total },
        },
      };
    },
  );
}

/** GET /v1/usage: today's and this month's images and spend, beside the tenant's allowances and limits. */
export function usageRoutes(app: FastifyInstance, s: Services): void {
  const doc = routeSchemas(accountOps);
  app.get("/v1/usage", { schema: doc.usage, config: { auth: "key", scope: "read" } }, async (req) => {
    const auth = req.auth!;
    const now = new Date(s.clock.now());
    const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const since = async (from: Date) => {
      const row = await s.db.kysely
        .selectFrom("jobs")
        .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.sum<number>("cost").as("spent")])
        .where("tenant_id", "=", auth.tenantId)
        .where("status", "=", "completed")
        .where("created_at", ">=", from.toISOString())
        .executeTakeFirstOrThrow();
      return { images: Number(row.n), spent: formatMoney(Number(row.spent ?? 0)) };
    };
    const [today, thisMonth, tenant] = await Promise.all([
      since(day),
      since(month),
      s.tenants.get(auth.tenantId),
    ]);
    const monthStart = month.toISOString().slice(0, 10);
    return {
      success: true,
      data: {
        today: { ...today, date: day.toISOString().slice(0, 10) },
        month: { ...thisMonth, month_start: monthStart },
        balance: formatMoney(tenant!.available),
        allowances: {
          daily_images: tenant!.daily_image_allowance,
          monthly_images: tenant!.monthly_image_allowance,
        },
        limits: {
          requests_per_minute: tenant!.rate_limit_per_minute ?? s.config.rateLimitPerMinute,
          max_concurrent: tenant!.max_concurrent ?? s.config.maxConcurrent,
        },
      },
      images_used: thisMonth.images,
      images_overage: 0,
      overage_charged_cents: 0,
      base_images_allowance: tenant!.monthly_image_allowance,
      month_start: monthStart,
    };
  });
}
