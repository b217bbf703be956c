import type { FastifyInstance } from "fastify";
import type { Services } from "../../services.js";
import type { ApiKeyRow, Tenant } from "../../db/schema.js";
import { apiTime, iso } from "../../clock.js";
import { formatMoney, parseMoney } from "../../domain/money.js";
import type { TenantLimitsPatch } from "../../domain/tenants.js";
import { credit } from "../../domain/ledger.js";
import { displayKey } from "../../domain/apikeys.js";
import { ApiError } from "../../errors.js";
import { asObject } from "../generation.js";
import { withSchemas } from "../schemas/fastify.js";
import { adminOps } from "../schemas/admin.js";

export function tenantView(t: Tenant) {
  return {
    id: t.id,
    name: t.name,
    balance: formatMoney(t.available),
    held: formatMoney(t.held),
    total_spent: formatMoney(t.total_spent),
    total_generations: t.total_generations,
    rate_limit_per_minute: t.rate_limit_per_minute,
    max_concurrent: t.max_concurrent,
    daily_image_allowance: t.daily_image_allowance,
    monthly_image_allowance: t.monthly_image_allowance,
    suspended: t.suspended === 1,
    created_at: apiTime(t.created_at),
  };
}

export function keyView(k: ApiKeyRow) {
  return {
    id: k.id,
    name: k.name,
    display: displayKey(k.prefix, k.last4),
    scopes: k.scopes.split(","),
    created_at: apiTime(k.created_at),
    expires_at: k.expires_at ? apiTime(k.expires_at) : null,
    revoked_at: k.revoked_at ? apiTime(k.revoked_at) : null,
  };
}

const LIMIT_FIELDS = [
  "rate_limit_per_minute",
  "max_concurrent",
  "daily_image_allowance",
  "monthly_image_allowance",
] as const;

function parsePatch(body: Record<string, unknown>): TenantLimitsPatch {
  const patch: TenantLimitsPatch = {};
  for (const f of LIMIT_FIELDS) {
    if (!(f in body)) continue;
    const v = body[f];
    if (
      v !== null &&
      (typeof v !== "number" ||
        !Number.isInteger(v) ||
        v < (f.endsWith("allowance") ? 0 : 1) ||
        v > 1_000_000_000)
    ) {
      throw new ApiError("invalid_parameter", `${f} must be a positive integer or null`, { param: f });
    }
    patch[f] = v as number | null;
  }
  if ("suspended" in body) {
    if (typeof body.suspended !== "boolean")
      throw new ApiError("invalid_parameter", "suspended must be true or false", { param: "suspended" });
    patch.suspended = body.suspended;
  }
  return patch;
}

/** /admin/v1: tenants and credits, with ZEKRON_ADMIN_TOKEN. */
export function adminRoutes(app: FastifyInstance, s: Services): void {
  const cfg = { config: { auth: "admin" as const } };
  const on = withSchemas(adminOps, cfg);
  const found = async (id: string) => {
    const t = await s.tenants.get(id);
    if (!t) throw new ApiError("not_found", `No tenant ${id}`);
    return t;
  };

  app.post("/admin/v1/tenants", on.createTenant, async (req, reply) => {
    const body = asObject(req.body);
    const name = body.name;
    if (typeof name !== "string" || name.trim().length === 0 || name.length > 200) {
      throw new ApiError("invalid_parameter", "name must be a non-empty string of at most 200 characters", {
        param: "name",
      });
    }
    const balance = body.balance === undefined ? 0 : parseMoney(body.balance, 4);
    if (balance === null || balance < 0)
      throw new ApiError(
        "invalid_parameter",
        'balance must be a non-negative amount of at most 4 decimal places, such as "10.00"',
        { param: "balance" },
      );
    const patch = parsePatch(body);
    const now = s.clock.now();
    let tenant = await s.tenants.create(name.trim(), balance, now);
    if (Object.keys(patch).length > 0) tenant = (await s.tenants.update(tenant.id, patch))!;
    const { key, row } = await s.tenants.createKey(tenant.id, { name: "default" }, now);
    return reply
      .code(201)
      .header("Cache-Control", "no-store")
      .send({
        success: true,
        data: { tenant: tenantView(tenant), api_key: key, key: keyView(row) },
      });
  });

  app.get<{ Querystring: { limit?: string; offset?: string } }>("/admin/v1/tenants", on.list, async (req) => {
    const limit = Math.min(100, Math.max(1, Number(req.query.limit ?? 50) || 50));
    const offset = Math.max(0, Number(req.query.offset ?? 0) || 0);
    const [rows, total] = await Promise.all([s.tenants.list(limit, offset), s.tenants.count()]);
    return {
      success: true,
      data: {
        tenants: rows.map(tenantView),
        pagination: { total, limit, offset, has_more: offset + rows.length < total },
      },
    };
  });

  app.get<{ Params: { id: string } }>("/admin/v1/tenants/:id", on.getTenant, async (req) => {
    const t = await found(req.params.id);
    const keys = await s.tenants.listKeys(t.id);
    return {
      success: true,
      data: {
        tenant: tenantView(t),
        keys: keys.map(keyView),
      },
    };
  });

  app.patch<{ Params: { id: string } }>("/admin/v1/tenants/:id", on.patchTenant, async (req) => {
    await found(req.params.id);
    const patch = parsePatch(asObject(req.body));
    const t = await s.tenants.update(req.params.id, patch);
    s.keys.invalidate({ tenantId: req.params.id });
    return { success: true, data: { tenant: tenantView(t!) } };
  });

  app.post<{ Params: { id: string } }>("/admin/v1/tenants/:id/credits", on.credit, async (req) => {
    await found(req.params.id);
    const body = asObject(req.body);
    const amount = parseMoney(body.amount, 4);
    if (amount === null || amount === 0)
      throw new ApiError(
        "invalid_parameter",
        'amount must be a non-zero amount of at most 4 decimal places, such as "5.00" or "-1.25"',
        { param: "amount" },
      );
    if (body.reason !== undefined && body.reason !== null && typeof body.reason !== "string")
      throw new ApiError("invalid_parameter", "reason must be a string", { param: "reason" });
    const reason =
      typeof body.reason === "string" && body.reason.trim()
        ? body.reason.trim().slice(0, 500)
        : amount > 0
          ? "top-up"
          : "correction";
    const balance = await credit(s.db.kysely, req.params.id, amount, reason, iso(s.clock.now()));
    if (balance === null)
      throw new ApiError("invalid_parameter", "This correction would make the balance negative", {
        param: "amount",
      });
    return {
      success: true,
      data: { tenant_id: req.params.id, amount: formatMoney(amount), reason, balance: formatMoney(balance) },
    };
  });

  app.post<{ Params: { id: string } }>("/admin/v1/tenants/:id/keys", on.addKey, async (req, reply) => {
    await found(req.params.id);
    const body = req.body === undefined ? {} : asObject(req.body);
    const name =
      typeof body.name === "string" && body.name.trim() ? body.name.trim().slice(0, 200) : "default";
    const { key, row } = await s.tenants.createKey(req.params.id, { name }, s.clock.now());
    // The full key, shown once: no cache may keep a copy.
    return reply
      .code(201)
      .header("Cache-Control", "no-store")
      .send({ success: true, data: { api_key: key, key: keyView(row) } });
  });

  app.delete<{ Params: { id: string; keyId: string } }>(
    "/admin/v1/tenants/:id/keys/:keyId",
    on.revokeKey,
    async (req, reply) => {
      const row = await s.tenants.revokeKey(req.params.id, req.params.keyId, iso(s.clock.now()));
      if (!row) throw new ApiError("not_found", `No key ${req.params.keyId} for tenant ${req.params.id}`);
      s.keys.invalidate({ keyId: row.id });
      return reply.code(204).send();
    },
  );

  // Health, load and recent errors of every engine instance; `?probe=1` runs the health probes first.
  app.get<{ Querystring: { probe?: string } }>("/admin/v1/engines", on.engines, async (req) => {
    if (req.query.probe === "1" || req.query.probe === "true") await s.router.probeAll();
    return { object: "list", data: s.router.status() };
  });
}
