import { sql, type Kysely, type Migration, type MigrationProvider } from "kysely";

export type Dialect = "sqlite" | "postgres";

/** Versioned migrations, written once with Kysely's schema builder for both dialects. */
function migrations(dialect: Dialect): Record<string, Migration> {
  const money = "bigint" as const;
  return {
    "0001_initial": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("tenants")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("name", "text", (c) => c.notNull())
          .addColumn("available", money, (c) =>
            c
              .notNull()
              .defaultTo(0)
              .check(sql`available >= 0`),
          )
          .addColumn("held", money, (c) =>
            c
              .notNull()
              .defaultTo(0)
              .check(sql`held >= 0`),
          )
          .addColumn("total_spent", money, (c) => c.notNull().defaultTo(0))
          .addColumn("total_generations", "integer", (c) => c.notNull().defaultTo(0))
          .addColumn("rate_limit_per_minute", "integer")
          .addColumn("max_concurrent", "integer")
          .addColumn("daily_image_allowance", "integer")
          .addColumn("monthly_image_allowance", "integer")
          .addColumn("suspended", "integer", (c) => c.notNull().defaultTo(0))
          .addColumn("created_at", "text", (c) => c.notNull())
          .execute();

        await db.schema
          .createTable("api_keys")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id"))
          .addColumn("name", "text", (c) => c.notNull())
          .addColumn("prefix", "text", (c) => c.notNull())
          .addColumn("last4", "text", (c) => c.notNull())
          .addColumn("hash", "text", (c) => c.notNull().unique())
          .addColumn("scopes", "text", (c) => c.notNull())
          .addColumn("created_at", "text", (c) => c.notNull())
          .addColumn("expires_at", "text")
          .addColumn("revoked_at", "text")
          .execute();
        await db.schema.createIndex("api_keys_tenant").on("api_keys").column("tenant_id").execute();

        await db.schema
          .createTable("ledger")
          .addColumn("id", dialect === "postgres" ? "bigserial" : "integer", (c) =>
            dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id"))
          .addColumn("job_id", "text")
          .addColumn("kind", "text", (c) => c.notNull())
          .addColumn("delta_available", money, (c) => c.notNull())
          .addColumn("delta_held", money, (c) => c.notNull())
          .addColumn("reason", "text")
          .addColumn("created_at", "text", (c) => c.notNull())
          .execute();
        await db.schema.createIndex("ledger_tenant").on("ledger").columns(["tenant_id", "id"]).execute();
        // A hold, a capture and a release happen at most once per job, whatever retries or races occur.
        await db.schema
          .createIndex("ledger_job_kind")
          .on("ledger")
          .columns(["job_id", "kind"])
          .unique()
          .where(sql.ref("job_id"), "is not", null)
          .execute();

        await db.schema
          .createTable("jobs")
          .addColumn("seq", dialect === "postgres" ? "bigserial" : "integer", (c) =>
            dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn("id", "text", (c) => c.notNull().unique())
          .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id"))
          .addColumn("key_id", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("type", "text", (c) => c.notNull())
          .addColumn("model", "text", (c) => c.notNull())
          .addColumn("prompt", "text", (c) => c.notNull())
          .addColumn("negative_prompt", "text")
          .addColumn("width", "integer", (c) => c.notNull())
          .addColumn("height", "integer", (c) => c.notNull())
          .addColumn("seed", "bigint", (c) => c.notNull())
          .addColumn("output_format", "text", (c) => c.notNull())
          .addColumn("source_images", "integer", (c) => c.notNull().defaultTo(0))
          .addColumn("cost", money, (c) => c.notNull())
          .addColumn("store", "integer", (c) => c.notNull().defaultTo(1))
          .addColumn("progress", "real", (c) => c.notNull().defaultTo(0))
          .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
          .addColumn("error_code", "text")
          .addColumn("error_message", "text")
          .addColumn("image_token", "text")
          .addColumn("created_at", "text", (c) => c.notNull())
          .addColumn("started_at", "text")
          .addColumn("finished_at", "text")
          .execute();
        await db.schema.createIndex("jobs_tenant_seq").on("jobs").columns(["tenant_id", "seq"]).execute();
        await db.schema.createIndex("jobs_status").on("jobs").column("status").execute();

        await db.schema
          .createTable("images")
          .addColumn("token", "text", (c) => c.primaryKey())
          .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id"))
          .addColumn("job_id", "text", (c) => c.notNull())
          .addColumn("blob_key", "text", (c) => c.notNull())
          .addColumn("mime_type", "text", (c) => c.notNull())
          .addColumn("bytes", "integer", (c) => c.notNull())
          .addColumn("etag", "text", (c) => c.notNull())
          .addColumn("width", "integer", (c) => c.notNull())
          .addColumn("height", "integer", (c) => c.notNull())
          .addColumn("created_at", "text", (c) => c.notNull())
          .addColumn("expires_at", "text", (c) => c.notNull())
          .addColumn("deleted_at", "text")
          .execute();
        await db.schema
          .createIndex("images_expiry")
          .on("images")
          .columns(["deleted_at", "expires_at"])
          .execute();
      },
    },
    "0002_jobs_webhooks_idempotency": {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable("jobs").addColumn("webhook_url", "text").execute();

        await db.schema
          .createTable("idempotency_keys")
          .addColumn("tenant_id", "text", (c) => c.notNull())
          .addColumn("key", "text", (c) => c.notNull())
          .addColumn("request_hash", "text", (c) => c.notNull())
          .addColumn("job_id", "text", (c) => c.notNull())
          .addColumn("created_at", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("idempotency_keys_pk", ["tenant_id", "key"])
          .execute();

        await db.schema
          .createTable("webhook_endpoints")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id"))
          .addColumn("url", "text", (c) => c.notNull())
          .addColumn("events", "text", (c) => c.notNull())
          .addColumn("secret_sealed", "text", (c) => c.notNull())
          .addColumn("description", "text")
          .addColumn("created_at", "text", (c) => c.notNull())
          .addColumn("deleted_at", "text")
          .execute();
        await db.schema
          .createIndex("webhook_endpoints_tenant")
          .on("webhook_endpoints")
          .column("tenant_id")
          .execute();

        await db.schema
          .createTable("webhook_deliveries")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("tenant_id", "text", (c) => c.notNull())
          .addColumn("endpoint_id", "text")
          .addColumn("job_id", "text")
          .addColumn("event", "text", (c) => c.notNull())
          .addColumn("msg_id", "text", (c) => c.notNull())
          .addColumn("url", "text", (c) => c.notNull())
          .addColumn("payload", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
          .addColumn("next_attempt_at", "text")
          .addColumn("last_status", "integer")
          .addColumn("last_error", "text")
          .addColumn("created_at", "text", (c) => c.notNull())
          .addColumn("delivered_at", "text")
          .execute();
        await db.schema
          .createIndex("webhook_deliveries_due")
          .on("webhook_deliveries")
          .columns(["status", "next_attempt_at"])
          .execute();
        await db.schema
          .createIndex("webhook_deliveries_endpoint")
          .on("webhook_deliveries")
          .columns(["endpoint_id", "created_at"])
          .execute();

        // The signing secret of per-job webhook_url deliveries (one per tenant, created on first use).
        await db.schema.alterTable("tenants").addColumn("webhook_secret_sealed", "text").execute();
      },
    },
    "0003_api_key_rotation": {
      async up(db: Kysely<unknown>) {
        // The key that replaced this one through POST /v1/keys/rotate: a key is rotated at most once, so
        // a retry or a race cannot leave several successors, and a successor can be traced to its origin.
        await db.schema.alterTable("api_keys").addColumn("replaced_by", "text").execute();
      },
    },
    "0004_settings": {
      async up(db: Kysely<unknown>) {
        // Facts about the deployment itself, by name: first the check value of the master key its keys
        // and images were made with, so that a start with another key stops instead of locking them out.
        await db.schema
          .createTable("settings")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("value", "text", (c) => c.notNull())
          .execute();
      },
    },
  };
}

export class StaticMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.dialect);
  }
}
