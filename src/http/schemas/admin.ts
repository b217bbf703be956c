import { z } from "zod";
import { Count, Money, Pagination, Timestamp, idParam, intQuery, ok } from "./common.js";
import { BODY_ERRORS } from "./errors.js";
import { ApiKeyString, KeyView, keyExample } from "./keys.js";
import type { Operation } from "./operation.js";

const TENANT_ID = "ten_5Zp8Lq3Xw7Nc2Vb9";
const API_KEY = "zk_live_Xq3K9mZp2LrT7vW4bN8cYd1FhJ6sGa0Ee5Rk0Q";

const tenantExample = {
  id: TENANT_ID,
  name: "Acme",
  balance: "25.0000",
  held: "0.0000",
  total_spent: "0.0000",
  total_generations: 0,
  rate_limit_per_minute: null,
  max_concurrent: null,
  daily_image_allowance: null,
  monthly_image_allowance: null,
  suspended: false,
  created_at: "2026-06-01T12:00:00+00:00",
};

export const Tenant = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    balance: Money.describe("Available now"),
    held: Money.describe("Held for jobs still running"),
    total_spent: Money,
    total_generations: Count,
    rate_limit_per_minute: Count.nullable().describe("Null: the server default"),
    max_concurrent: Count.nullable().describe("Null: the server default"),
    daily_image_allowance: Count.nullable().describe("Null: none"),
    monthly_image_allowance: Count.nullable().describe("Null: none"),
    suspended: z.boolean(),
    created_at: Timestamp,
  })
  .meta({ example: tenantExample });
export type Tenant = z.infer<typeof Tenant>;

const Limit = (min: number) => z.number().int().min(min).max(1_000_000_000).nullable().optional();
const LimitsPatch = {
  rate_limit_per_minute: Limit(1).describe("Null: the server default"),
  max_concurrent: Limit(1).describe("Null: the server default"),
  daily_image_allowance: Limit(0).describe("Null: none"),
  monthly_image_allowance: Limit(0).describe("Null: none"),
  suspended: z.boolean().optional(),
};
const Amount = z.union([z.string().regex(/^-?\d{1,9}(\.\d{1,4})?$/), z.number()]);

export const CreateTenantRequest = z
  .object({
    name: z.string().min(1).max(200),
    balance: Amount.optional().describe('A non-negative amount such as "10.00"; 0 by default'),
    ...LimitsPatch,
  })
  .meta({ example: { name: "Acme", balance: "25.00" } });
export type CreateTenantRequest = z.infer<typeof CreateTenantRequest>;

export const CreatedTenant = ok(z.strictObject({ tenant: Tenant, api_key: ApiKeyString, key: KeyView })).meta(
  {
    example: {
      success: true,
      data: { tenant: tenantExample, api_key: API_KEY, key: { ...keyExample, name: "default" } },
    },
  },
);
export type CreatedTenant = z.infer<typeof CreatedTenant>;

export const TenantList = ok(z.strictObject({ tenants: z.array(Tenant), pagination: Pagination })).meta({
  example: {
    success: true,
    data: { tenants: [tenantExample], pagination: { total: 1, limit: 50, offset: 0, has_more: false } },
  },
});
export type TenantList = z.infer<typeof TenantList>;

export const TenantDetail = ok(z.strictObject({ tenant: Tenant, keys: z.array(KeyView) })).meta({
  example: { success: true, data: { tenant: tenantExample, keys: [keyExample] } },
});
export type TenantDetail = z.infer<typeof TenantDetail>;

export const PatchTenantRequest = z
  .object(LimitsPatch)
  .meta({ example: { rate_limit_per_minute: 120, daily_image_allowance: 500, suspended: false } });
export type PatchTenantRequest = z.infer<typeof PatchTenantRequest>;

export const PatchedTenant = ok(z.strictObject({ tenant: Tenant })).meta({
  example: { success: true, data: { tenant: { ...tenantExample, rate_limit_per_minute: 120 } } },
});
export type PatchedTenant = z.infer<typeof PatchedTenant>;

export const CreditRequest = z
  .object({
    amount: Amount.describe('Non-zero: "5.00" tops up, "-1.25" corrects'),
    reason: z.string().optional().describe("Ledgered; `top-up` or `correction` by default"),
  })
  .meta({ example: { amount: "5.00", reason: "top-up" } });
export type CreditRequest = z.infer<typeof CreditRequest>;

export const Credited = ok(
  z.strictObject({ tenant_id: z.string(), amount: Money, reason: z.string(), balance: Money }),
).meta({
  example: {
    success: true,
    data: { tenant_id: TENANT_ID, amount: "5.0000", reason: "top-up", balance: "30.0000" },
  },
});
export type Credited = z.infer<typeof Credited>;

export const CreateTenantKeyRequest = z
  .object({ name: z.string().optional().describe("`default` when absent") })
  .meta({ example: { name: "backend" } });

export const NewTenantKey = ok(z.strictObject({ api_key: ApiKeyString, key: KeyView })).meta({
  example: { success: true, data: { api_key: API_KEY, key: keyExample } },
});
export type NewTenantKey = z.infer<typeof NewTenantKey>;

export const EngineStatus = z.strictObject({
  id: z.string().describe("The engine instance's name in the configuration"),
  kind: z.string().describe("`local`, `comfyui`, `a1111` or `openai`"),
  url: z.string().nullable(),
  circuit: z.enum(["closed", "open", "half_open"]),
  healthy: z.boolean(),
  in_flight: Count,
  concurrency: Count,
  served: Count,
  failed: Count,
  consecutive_failures: Count,
  last_probe: z.strictObject({ at: Timestamp, ok: z.boolean(), error: z.string().nullable() }).nullable(),
  recent_errors: z
    .array(z.strictObject({ at: Timestamp, message: z.string() }))
    .describe("Newest first, up to 10"),
  models: z.array(z.string()).describe("The models routed to this instance"),
});
export type EngineStatus = z.infer<typeof EngineStatus>;

export const EngineList = z.strictObject({ object: z.literal("list"), data: z.array(EngineStatus) }).meta({
  example: {
    object: "list",
    data: [
      {
        id: "local",
        kind: "local",
        url: null,
        circuit: "closed",
        healthy: true,
        in_flight: 0,
        concurrency: 2,
        served: 12,
        failed: 0,
        consecutive_failures: 0,
        last_probe: null,
        recent_errors: [],
        models: ["zekron-image-1", "zekron-xl", "zekron-flash", "zekron-art"],
      },
    ],
  },
});
export type EngineList = z.infer<typeof EngineList>;

const tags = ["Administration"];
const TenantIdParam = idParam("The tenant id", TENANT_ID);

export const adminOps = {
  createTenant: {
    operationId: "adminCreateTenant",
    summary: "Create a tenant",
    description: "With a balance and optional limits; the answer holds its first API key, shown once.",
    tags,
    auth: "admin",
    body: CreateTenantRequest,
    responses: { 201: { description: "The tenant and its key", schema: CreatedTenant } },
    errors: [...BODY_ERRORS, "invalid_parameter"],
  },
  list: {
    operationId: "adminListTenants",
    summary: "List tenants",
    description: "`limit` (1-100, 50 by default) and `offset`.",
    tags,
    auth: "admin",
    querystring: z.object({
      limit: intQuery("1-100, 50 by default", 50).optional(),
      offset: intQuery("0 by default", 0).optional(),
    }),
    responses: { 200: { description: "A page of tenants", schema: TenantList } },
    errors: [],
  },
  getTenant: {
    operationId: "adminGetTenant",
    summary: "A tenant and its keys",
    description: "The keys show as prefix and last 4 characters.",
    tags,
    auth: "admin",
    params: TenantIdParam,
    responses: { 200: { description: "The tenant", schema: TenantDetail } },
    errors: ["not_found"],
  },
  patchTenant: {
    operationId: "adminUpdateTenant",
    summary: "Change a tenant's limits or suspension",
    description: "Any of the fields; null sets the server default (or no allowance). Applies at once.",
    tags,
    auth: "admin",
    params: TenantIdParam,
    body: PatchTenantRequest,
    responses: { 200: { description: "The tenant", schema: PatchedTenant } },
    errors: [...BODY_ERRORS, "invalid_parameter", "not_found"],
  },
  credit: {
    operationId: "adminCreditTenant",
    summary: "Top up or correct a balance",
    description: "Ledgered. A correction that would make the balance negative is refused.",
    tags,
    auth: "admin",
    params: TenantIdParam,
    body: CreditRequest,
    responses: { 200: { description: "The new balance", schema: Credited } },
    errors: [...BODY_ERRORS, "invalid_parameter", "not_found"],
  },
  addKey: {
    operationId: "adminCreateTenantKey",
    summary: "Another key for a tenant",
    description: "The body is optional. The key has every scope.",
    tags,
    auth: "admin",
    params: TenantIdParam,
    body: CreateTenantKeyRequest,
    responses: { 201: { description: "The new key, shown once", schema: NewTenantKey } },
    errors: [...BODY_ERRORS, "not_found"],
  },
  revokeKey: {
    operationId: "adminRevokeTenantKey",
    summary: "Revoke a tenant's key",
    description: "Takes effect at once.",
    tags,
    auth: "admin",
    params: TenantIdParam.extend({
      keyId: z.string().describe("The key id").meta({ example: "key_3Vb8Nq2Lx7Rt5Kp9" }),
    }),
    responses: { 204: { description: "Revoked" } },
    errors: ["not_found"],
  },
  engines: {
    operationId: "adminListEngines",
    summary: "Health of every engine instance",
    description: "Circuit state, load and recent errors; `?probe=1` runs the health probes first.",
    tags,
    auth: "admin",
    querystring: z.object({
      probe: z.enum(["1", "true"]).optional().describe("Probe every instance before answering"),
    }),
    responses: { 200: { description: "The engine instances", schema: EngineList } },
    errors: [],
  },
} satisfies Record<string, Operation>;
