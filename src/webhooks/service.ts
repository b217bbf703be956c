import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database, Job, WebhookDelivery, WebhookEndpoint, WebhookEvent } from "../db/schema.js";
import { JOB_EVENTS } from "../db/schema.js";
import { apiTime, iso, type Clock } from "../clock.js";
import { newId } from "../domain/ids.js";
import { formatMoney } from "../domain/money.js";
import type { ImageService } from "../domain/images.js";
import { open, seal } from "../storage/envelope.js";
import { deliver, type DeliveryResult } from "./deliver.js";
import { newMessageId, newWebhookSecret, signHeaders } from "./sign.js";
import { nextDelayMs } from "./schedule.js";
import { prepared } from "../db/prepared.js";

/** Run by every job's ending (see prepared). */
const endpointsOf = prepared((db, p: { tenantId: string }) =>
  db
    .selectFrom("webhook_endpoints")
    .select(["id", "url", "events"])
    .where("tenant_id", "=", p.tenantId)
    .where("deleted_at", "is", null),
);

const EVENT_OF: Partial<Record<Job["status"], WebhookEvent>> = {
  completed: "job.completed",
  failed: "job.failed",
  blocked: "job.blocked",
};
/** A claimed delivery is retried by anyone after this long, so a crash mid-delivery loses nothing. */
const CLAIM_MS = 60_000;
const POLL_MS = 1000;
const BATCH = 20;

export interface WebhookDeps {
  db: Kysely<Database>;
  images: ImageService;
  masterKey: Buffer;
  clock: Clock;
  log: Logger;
  allowPrivate: boolean;
  /** Base of URLs inside payloads (ZEKRON_PUBLIC_URL, or where this server listens). */
  publicUrl: () => string;
}

/**
 * Webhook endpoints and deliveries. Deliveries are rows written in the same transaction that ends a job
 * (an outbox), so a crash can delay an event but not lose it; a dispatcher claims due rows, sends them
 * through the SSRF-safe client and reschedules failures.
 */
export class WebhookService {
  private timer?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private stopped = true;
  private inFlight = new Set<Promise<void>>();

  constructor(private readonly d: WebhookDeps) {}

  // Endpoints

  async createEndpoint(tenantId: string, url: string, events: WebhookEvent[], description: string | null) {
    const id = newId("whe");
    const secret = newWebhookSecret();
    const row: WebhookEndpoint = {
      id,
      tenant_id: tenantId,
      url,
      events: events.join(","),
      secret_sealed: this.sealSecret(`webhook:${id}`, secret),
      description,
      created_at: iso(this.d.clock.now()),
      deleted_at: null,
    };
    await this.d.db.insertInto("webhook_endpoints").values(row).execute();
    return { row, secret };
  }

  listEndpoints(tenantId: string): Promise<WebhookEndpoint[]> {
    return this.d.db
      .selectFrom("webhook_endpoints")
      .selectAll()
      .where("tenant_id", "=", tenantId)
      .where("deleted_at", "is", null)
      .orderBy("created_at", "desc")
      .execute();
  }

  getEndpoint(tenantId: string, id: string): Promise<WebhookEndpoint | undefined> {
    return this.d.db
      .selectFrom("webhook_endpoints")
      .selectAll()
      .where("id", "=", id)
      .where("tenant_id", "=", tenantId)
      .where("deleted_at", "is", null)
      .executeTakeFirst();
  }

  async deleteEndpoint(tenantId: string, id: string): Promise<boolean> {
    const r = await this.d.db
      .updateTable("webhook_endpoints")
      .set({ deleted_at: iso(this.d.clock.now()) })
      .where("id", "=", id)
      .where("tenant_id", "=", tenantId)
      .where("deleted_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  listDeliveries(endpointId: string, limit: number): Promise<WebhookDelivery[]> {
    return this.d.db
      .selectFrom("webhook_deliveries")
      .selectAll()
      .where("endpoint_id", "=", endpointId)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
  }

  /**
   * Makes a new secret for the per-job `webhook_url` deliveries and returns it: the one time it is shown
   * (the old one stops signing at once).
   */
  async rotateDefaultSecret(tenantId: string): Promise<string> {
    const secret = newWebhookSecret();
    await this.d.db
      .updateTable("tenants")
      .set({ webhook_secret_sealed: this.sealSecret(`tenant:${tenantId}`, secret) })
      .where("id", "=", tenantId)
      .execute();
    return secret;
  }

  /** The secret that signs per-job `webhook_url` deliveries: one per tenant, made on first use. */
  async defaultSecret(tenantId: string): Promise<string> {
    const t = await this.d.db
      .selectFrom("tenants")
      .select("webhook_secret_sealed")
      .where("id", "=", tenantId)
      .executeTakeFirst();
    if (t?.webhook_secret_sealed) return this.openSecret(`tenant:${tenantId}`, t.webhook_secret_sealed);
    const secret = newWebhookSecret();
    await this.d.db
      .updateTable("tenants")
      .set({ webhook_secret_sealed: this.sealSecret(`tenant:${tenantId}`, secret) })
      .where("id", "=", tenantId)
      .where("webhook_secret_sealed", "is", null)
      .execute();
    // Whoever won a race wrote the secret that counts: read it back.
    return this.defaultSecret(tenantId);
  }

  // The outbox

  /**
   * Inside the job's terminal transaction: one delivery row per subscribed endpoint and per-job URL.
   * Returns whether it wrote any.
   */
  async inTransaction(tx: Kysely<Database>, job: Job): Promise<boolean> {
    const event = EVENT_OF[job.status];
    if (!event) return false;
    const { rows: endpoints } = await endpointsOf(tx, { tenantId: job.tenant_id });
    const targets = endpoints
      .filter((e) => e.events.split(",").includes(event))
      .map((e) => ({ endpointId: e.id as string | null, url: e.url }));
    if (job.webhook_url) targets.push({ endpointId: null, url: job.webhook_url });
    if (targets.length === 0) return false;
    const payload = JSON.stringify(await this.payload(tx, job, event));
    const now = iso(this.d.clock.now());
    await tx
      .insertInto("webhook_deliveries")
      .values(
        targets.map((t) => ({
          id: newId("whd"),
          tenant_id: job.tenant_id,
          endpoint_id: t.endpointId,
          job_id: job.id,
          event,
          msg_id: newMessageId(),
          url: t.url,
          payload,
          status: "pending" as const,
          attempts: 0,
          next_attempt_at: now,
          last_status: null,
          last_error: null,
          created_at: now,
          delivered_at: null,
        })),
      )
      .execute();
    return true;
  }

  /**
   * Delivers at once what the job's transaction queued. A job that queued nothing (most: a tenant without
   * endpoints) wakes nothing: the dispatcher's look-up of due deliveries ran after every job, on the
   * generation's path, holding SQLite's connection while the waiting request read the balance.
   */
  afterCommit(_job: Job, queued: boolean): void {
    if (queued) this.wake();
  }

  private async payload(tx: Kysely<Database>, job: Job, event: WebhookEvent) {
    const base = {
      jobId: job.id,
      type: "image",
      status: job.status,
      createdAt: apiTime(job.created_at),
    };
    const at = apiTime(job.finished_at ?? iso(this.d.clock.now()));
    if (job.status === "completed") {
      const img = job.image_token
        ? await tx
            .selectFrom("images")
            .select(["token", "expires_at", "mime_type"])
            .where("token", "=", job.image_token)
            .executeTakeFirst()
        : undefined;
      const expires = img ? Math.floor(Date.parse(img.expires_at) / 1000) : 0;
      return {
        event,
        timestamp: at,
        data: {
          ...base,
          outputUrl: img
            ? `${this.d.publicUrl()}/v1/images/${img.token}?${this.d.images.signedQuery(img.token, expires)}`
            : null,
          outputType: img?.mime_type ?? null,
          metadata: {
            model: job.model,
            width: job.width,
            height: job.height,
            durationMs:
              job.started_at && job.finished_at
                ? Date.parse(job.finished_at) - Date.parse(job.started_at)
                : null,
          },
          cost: formatMoney(job.cost),
          completedAt: at,
        },
      };
    }
    return {
      event,
      timestamp: at,
      data: {
        ...base,
        error: job.error_message ?? "Generation failed",
        creditsRefunded: formatMoney(job.cost),
        [job.status === "blocked" ? "blockedAt" : "failedAt"]: at,
      },
    };
  }

  // Test sends

  /** POST /v1/webhooks/{id}/test: one signed `webhook.test` event, sent now and recorded. */
  async sendTest(endpoint: WebhookEndpoint): Promise<{ delivery: WebhookDelivery; result: DeliveryResult }> {
    const now = iso(this.d.clock.now());
    const row: WebhookDelivery = {
      id: newId("whd"),
      tenant_id: endpoint.tenant_id,
      endpoint_id: endpoint.id,
      job_id: null,
      event: "webhook.test",
      msg_id: newMessageId(),
      url: endpoint.url,
      payload: JSON.stringify({
        event: "webhook.test",
        timestamp: apiTime(now),
        data: { endpointId: endpoint.id },
      }),
      status: "pending",
      attempts: 1,
      next_attempt_at: null,
      last_status: null,
      last_error: null,
      created_at: now,
      delivered_at: null,
    };
    await this.d.db.insertInto("webhook_deliveries").values(row).execute();
    const result = await this.send(row);
    const done = await this.record(row, result, false);
    return { delivery: done, result };
  }

  // The dispatcher

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), POLL_MS);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.all(this.inFlight);
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.drain()
      .catch((err: unknown) => this.d.log.error({ err }, "webhook dispatch failed"))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const now = this.d.clock.now();
      const due = await this.d.db
        .selectFrom("webhook_deliveries")
        .selectAll()
        .where("status", "=", "pending")
        .where("next_attempt_at", "<=", iso(now))
        .orderBy("next_attempt_at")
        .limit(BATCH)
        .execute();
      if (due.length === 0 || this.stopped) return;
      for (const row of due) {
        // Claim by compare-and-set, so two dispatchers never send the same attempt.
        const claimed = await this.d.db
          .updateTable("webhook_deliveries")
          .set({ next_attempt_at: iso(now + CLAIM_MS), attempts: row.attempts + 1 })
          .where("id", "=", row.id)
          .where("status", "=", "pending")
          .where("attempts", "=", row.attempts)
          .executeTakeFirst();
        if (Number(claimed.numUpdatedRows) === 0) continue;
        const attempt = { ...row, attempts: row.attempts + 1 };
        const p = this.send(attempt)
          .then((result) => this.record(attempt, result, true))
          .then(() => undefined)
          .catch((err: unknown) => this.d.log.error({ err, delivery: row.id }, "webhook delivery failed"));
        this.inFlight.add(p);
        void p.finally(() => this.inFlight.delete(p));
      }
      await Promise.all(this.inFlight);
      if (due.length < BATCH) return;
    }
  }

  private async send(row: WebhookDelivery): Promise<DeliveryResult> {
    const secret =
      row.endpoint_id === null
        ? await this.defaultSecret(row.tenant_id)
        : await this.endpointSecret(row.endpoint_id);
    if (!secret) return { ok: false, status: null, durationMs: 0, error: "endpoint deleted" };
    // Wall time, not the service clock: receivers check it against their own clocks.
    const timestamp = Math.floor(Date.now() / 1000);
    return deliver(row.url, {
      body: row.payload,
      headers: {
        "content-type": "application/json",
        "user-agent": "Zekron-Webhooks/1",
        ...signHeaders(secret, row.msg_id, timestamp, row.payload),
      },
      allowPrivate: this.d.allowPrivate,
      allowHttp: this.d.allowPrivate,
    });
  }

  private async endpointSecret(endpointId: string): Promise<string | null> {
    const e = await this.d.db
      .selectFrom("webhook_endpoints")
      .select(["secret_sealed", "deleted_at"])
      .where("id", "=", endpointId)
      .executeTakeFirst();
    return e && e.deleted_at === null ? this.openSecret(`webhook:${endpointId}`, e.secret_sealed) : null;
  }

  private async record(
    row: WebhookDelivery,
    result: DeliveryResult,
    retry: boolean,
  ): Promise<WebhookDelivery> {
    const now = this.d.clock.now();
    const delay =
      result.ok || !retry ? null : nextDelayMs(row.attempts, { retryAfterSec: result.retryAfterSec });
    const values = {
      status: result.ok
        ? ("delivered" as const)
        : delay === null
          ? ("failed" as const)
          : ("pending" as const),
      next_attempt_at: delay === null ? null : iso(now + delay),
      last_status: result.status,
      last_error: result.ok ? null : (result.error ?? `HTTP ${result.status}`),
      delivered_at: result.ok ? iso(now) : null,
    };
    await this.d.db.updateTable("webhook_deliveries").set(values).where("id", "=", row.id).execute();
    if (!result.ok)
      this.d.log.info(
        { delivery: row.id, attempt: row.attempts, error: values.last_error, retryIn: delay },
        "webhook attempt failed",
      );
    return { ...row, ...values };
  }

  private sealSecret(name: string, secret: string): string {
    return seal(this.d.masterKey, name, Buffer.from(secret)).toString("base64");
  }

  private openSecret(name: string, sealed: string): string {
    return open(this.d.masterKey, name, Buffer.from(sealed, "base64")).toString();
  }
}

export const SUBSCRIBABLE_EVENTS = JOB_EVENTS;
