import type { Generated, Insertable, Selectable } from "kysely";

/**
 * One schema for both dialects. Times are ISO 8601 UTC strings (they sort as text in SQLite and
 * PostgreSQL alike), money is integer micro-dollars, booleans are 0/1 integers.
 */
export interface TenantsTable {
  id: string;
  name: string;
  /** Spendable balance. CHECK (available >= 0). */
  available: number;
  /** Sum of open holds. CHECK (held >= 0). */
  held: number;
  total_spent: number;
  total_generations: number;
  rate_limit_per_minute: number | null;
  max_concurrent: number | null;
  daily_image_allowance: number | null;
  monthly_image_allowance: number | null;
  suspended: number;
  created_at: string;
  webhook_secret_sealed: string | null;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  last4: string;
  hash: string;
  scopes: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  /** The id of the key that replaced this one by rotation; a key is rotated at most once. */
  replaced_by: string | null;
}

export type LedgerKind = "credit" | "hold" | "capture" | "release" | "refund";

/** Append-only. Sum of delta_available = tenants.available; sum of delta_held = tenants.held. */
export interface LedgerTable {
  id: Generated<number>;
  tenant_id: string;
  job_id: string | null;
  kind: LedgerKind;
  delta_available: number;
  delta_held: number;
  reason: string | null;
  created_at: string;
}

export type JobStatus = "queued" | "running" | "completed" | "failed" | "blocked" | "canceled";
export const TERMINAL_STATUSES: readonly JobStatus[] = ["completed", "failed", "blocked", "canceled"];
export const OPEN_STATUSES: readonly JobStatus[] = ["queued", "running"];
export const JOB_STATUSES: readonly JobStatus[] = [...OPEN_STATUSES, ...TERMINAL_STATUSES];

export interface JobsTable {
  /** The public generation id (an integer, as seed 000 shows). */
  seq: Generated<number>;
  /** The public job id (job_...). */
  id: string;
  tenant_id: string;
  key_id: string;
  status: JobStatus;
  type: "create" | "edit";
  model: string;
  prompt: string;
  negative_prompt: string | null;
  width: number;
  height: number;
  seed: number;
  output_format: "png" | "jpeg" | "webp";
  source_images: number;
  /** The held price; charged only when status is completed. */
  cost: number;
  store: number;
  progress: number;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  image_token: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Per-job webhook, signed with the tenant's default webhook secret. */
  webhook_url: string | null;
}

export interface ImagesTable {
  token: string;
  tenant_id: string;
  job_id: string;
  blob_key: string;
  mime_type: string;
  bytes: number;
  etag: string;
  width: number;
  height: number;
  created_at: string;
  expires_at: string;
  deleted_at: string | null;
}

export interface IdempotencyKeysTable {
  tenant_id: string;
  key: string;
  request_hash: string;
  job_id: string;
  created_at: string;
}

export type WebhookEvent = "job.completed" | "job.failed" | "job.blocked" | "webhook.test";
export const JOB_EVENTS: readonly WebhookEvent[] = ["job.completed", "job.failed", "job.blocked"];

export interface WebhookEndpointsTable {
  id: string;
  tenant_id: string;
  url: string;
  /** Comma-separated event names. */
  events: string;
  /** The whsec_ secret, sealed with the master key. */
  secret_sealed: string;
  description: string | null;
  created_at: string;
  deleted_at: string | null;
}

export type DeliveryStatus = "pending" | "delivered" | "failed";

export interface WebhookDeliveriesTable {
  id: string;
  tenant_id: string;
  /** Null for a per-job webhook_url delivery. */
  endpoint_id: string | null;
  job_id: string | null;
  event: WebhookEvent;
  /** The webhook-id header: the same on every retry. */
  msg_id: string;
  url: string;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface SettingsTable {
  name: string;
  value: string;
}

export interface Database {
  settings: SettingsTable;
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  ledger: LedgerTable;
  jobs: JobsTable;
  images: ImagesTable;
  idempotency_keys: IdempotencyKeysTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

export type Tenant = Selectable<TenantsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type Job = Selectable<JobsTable>;
export type NewJob = Insertable<JobsTable>;
export type ImageRow = Selectable<ImagesTable>;
export type WebhookEndpoint = Selectable<WebhookEndpointsTable>;
export type WebhookDelivery = Selectable<WebhookDeliveriesTable>;
