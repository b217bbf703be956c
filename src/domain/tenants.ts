import type { Kysely } from "kysely";
import type { ApiKeyRow, Database, Tenant } from "../db/schema.js";
import { iso } from "../clock.js";
import { newId } from "./ids.js";
import { generateKey, hashKey, keyPrefix, KEY_SCOPES, type KeyScope } from "./apikeys.js";
import { credit } from "./ledger.js";

export interface TenantLimitsPatch {
  rate_limit_per_minute?: number | null;
  max_concurrent?: number | null;
  daily_image_allowance?: number | null;
  monthly_image_allowance?: number | null;
  suspended?: boolean;
}

export class TenantRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly pepper: Buffer,
  ) {}

  async create(name: string, balance: number, now: number): Promise<Tenant> {
    const id = newId("ten");
    await this.db
      .insertInto("tenants")
      .values({
        id,
        name,
        available: 0,
        held: 0,
        total_spent: 0,
        total_generations: 0,
        rate_limit_per_minute: null,
        max_concurrent: null,
        daily_image_allowance: null,
        monthly_image_allowance: null,
        suspended: 0,
        created_at: iso(now),
        webhook_secret_sealed: null,
      })
      .execute();
    if (balance > 0) await credit(this.db, id, balance, "opening balance", iso(now));
    return (await this.get(id))!;
  }

  get(id: string): Promise<Tenant | undefined> {
    return this.db.selectFrom("tenants").selectAll().where("id", "=", id).executeTakeFirst();
  }

  list(limit: number, offset: number): Promise<Tenant[]> {
    return this.db
      .selectFrom("tenants")
      .selectAll()
      .orderBy("created_at", "desc")
      .orderBy("id")
      .limit(limit)
      .offset(offset)
      .execute();
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom("tenants")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async update(id: string, patch: TenantLimitsPatch): Promise<Tenant | undefined> {
    const { suspended, ...limits } = patch;
    const values = { ...limits, ...(suspended === undefined ? {} : { suspended: suspended ? 1 : 0 }) };
    if (Object.keys(values).length > 0)
      await this.db.updateTable("tenants").set(values).where("id", "=", id).execute();
    return this.get(id);
  }

  /** Creates a key and returns it in full: the only time it is ever visible. */
  async createKey(
    tenantId: string,
    opts: { name?: string; scopes?: KeyScope[]; expiresAt?: string | null },
    now: number,
  ): Promise<{ key: string; row: ApiKeyRow }> {
    const key = generateKey("live");
    const row: ApiKeyRow = {
      id: newId("key"),
      tenant_id: tenantId,
      name: opts.name ?? "default",
      prefix: keyPrefix(key),
      last4: key.slice(-4),
      hash: hashKey(this.pepper, key),
      scopes: (opts.scopes ?? [...KEY_SCOPES]).join(","),
      created_at: iso(now),
      expires_at: opts.expiresAt ?? null,
      revoked_at: null,
    };
    await this.db.insertInto("api_keys").values(row).execute();
    return { key, row };
  }

  async findKeyByHash(hash: string): Promise<(ApiKeyRow & { tenant: Tenant }) | undefined> {
    const key = await this.db.selectFrom("api_keys").selectAll().where("hash", "=", hash).executeTakeFirst();
    const tenant = key && (await this.get(key.tenant_id));
    return key && tenant ? { ...key, tenant } : undefined;
  }

  listKeys(tenantId: string): Promise<ApiKeyRow[]> {
    return this.db
      .selectFrom("api_keys")
      .selectAll()
      .where("tenant_id", "=", tenantId)
      .orderBy("created_at", "desc")
      .execute();
  }

  async revokeKey(tenantId: string, keyId: string, at: string): Promise<ApiKeyRow | undefined> {
    await this.db
      .updateTable("api_keys")
      .set({ revoked_at: at })
      .where("id", "=", keyId)
      .where("tenant_id", "=", tenantId)
      .where("revoked_at", "is", null)
      .execute();
    return this.db
      .selectFrom("api_keys")
      .selectAll()
      .where("id", "=", keyId)
      .where("tenant_id", "=", tenantId)
      .executeTakeFirst();
  }
}
