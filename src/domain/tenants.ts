import type { Kysely } from "kysely";
import { lookupBy, type Db } from "../db/connect.js";
import type { MaybePromise } from "../maybe.js";
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

export type RotateResult =
  | { ok: true; key: string; row: ApiKeyRow; old: ApiKeyRow }
  | { ok: false; reason: "inactive" }
  | { ok: false; reason: "rotated"; replacedBy: string };

class LostRotationRace extends Error {}

export type TenantBalance = Pick<Tenant, "available" | "total_spent" | "total_generations">;

function isActive(k: ApiKeyRow, now: number): boolean {
  // An unreadable expiry counts as expired: a key must never outlive its expiry by accident.
  return k.revoked_at === null && (k.expires_at === null || Date.parse(k.expires_at) > now);
}

export class TenantRepo {
  private readonly db: Kysely<Database>;
  private readonly byId: (id: string) => MaybePromise<Tenant | undefined>;
  private readonly balanceById: (id: string) => MaybePromise<TenantBalance | undefined>;

  constructor(
    db: Db,
    private readonly pepper: Buffer,
  ) {
    this.db = db.kysely;
    // On the path of most requests.
    this.byId = lookupBy(db, (k) => k.selectFrom("tenants").selectAll().where("id", "=", ""));
    this.balanceById = lookupBy(db, (k) =>
      k.selectFrom("tenants").select(["available", "total_spent", "total_generations"]).where("id", "=", ""),
    );
  }

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

  async get(id: string): Promise<Tenant | undefined> {
    return this.byId(id);
  }

  /**
   * The three figures of GET /v1/balance, fresh from the database: a narrower read than `get`, and at
   * once when the database can answer at once (see `Db.first`).
   */
  balance(id: string): MaybePromise<TenantBalance | undefined> {
    return this.balanceById(id);
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
    opts: { name?: string; scopes?: readonly KeyScope[]; expiresAt?: string | null },
    now: number,
  ): Promise<{ key: string; row: ApiKeyRow }> {
    const created = this.newKey(tenantId, opts, now);
    await this.db.insertInto("api_keys").values(created.row).execute();
    return created;
  }

  private newKey(
    tenantId: string,
    opts: { name?: string; scopes?: readonly KeyScope[]; expiresAt?: string | null },
    now: number,
  ): { key: string; row: ApiKeyRow } {
    const key = generateKey("live");
    const row: ApiKeyRow = {
      id: newId("key"),
      tenant_id: tenantId,
      name: opts.name ?? "default",
      prefix: keyPrefix(key),
      last4: key.slice(-4),
      hash: hashKey(this.pepper, key),
      scopes: (opts.scopes ?? KEY_SCOPES).join(","),
      created_at: iso(now),
      expires_at: opts.expiresAt ?? null,
      revoked_at: null,
      replaced_by: null,
    };
    return { key, row };
  }

  async findKeyByHash(hash: string): Promise<(ApiKeyRow & { tenant: Tenant }) | undefined> {
    const key = await this.db.selectFrom("api_keys").selectAll().where("hash", "=", hash).executeTakeFirst();
    const tenant = key && (await this.get(key.tenant_id));
    return key && tenant ? { ...key, tenant } : undefined;
  }

  /** Newest first; ids are random, so ordering by id only keeps same-millisecond keys in a stable order. */
  listKeys(tenantId: string): Promise<ApiKeyRow[]> {
    return this.db
      .selectFrom("api_keys")
      .selectAll()
      .where("tenant_id", "=", tenantId)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .execute();
  }

  getKey(tenantId: string, keyId: string): Promise<ApiKeyRow | undefined> {
    return this.db
      .selectFrom("api_keys")
      .selectAll()
      .where("id", "=", keyId)
      .where("tenant_id", "=", tenantId)
      .executeTakeFirst();
  }

  /** Keys that still authenticate: not revoked and not expired at `now`. */
  async countActiveKeys(tenantId: string, now: number): Promise<number> {
    const row = await this.db
      .selectFrom("api_keys")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("tenant_id", "=", tenantId)
      .where("revoked_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", iso(now))]))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Replaces a key by a new one with the same name, scopes and expiry. With no grace the old key is
   * revoked; with grace it expires at now + grace, or at its own expiry when that comes first. The old key
   * is updated only while it is still active and not yet rotated, so a retry or two racing rotations leave
   * exactly one successor (the loser's new key is rolled back).
   */
  async rotateKey(tenantId: string, keyId: string, graceMs: number, now: number): Promise<RotateResult> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const old = await tx
          .selectFrom("api_keys")
          .selectAll()
          .where("id", "=", keyId)
          .where("tenant_id", "=", tenantId)
          .executeTakeFirst();
        if (!old || !isActive(old, now)) return { ok: false, reason: "inactive" } as const;
        if (old.replaced_by !== null) return { ok: false, reason: "rotated", replacedBy: old.replaced_by };
        const created = this.newKey(
          tenantId,
          { name: old.name, scopes: old.scopes.split(",") as KeyScope[], expiresAt: old.expires_at },
          now,
        );
        await tx.insertInto("api_keys").values(created.row).execute();
        const ownExpiry = old.expires_at === null ? Infinity : Date.parse(old.expires_at);
        const stop =
          graceMs === 0 ? { revoked_at: iso(now) } : { expires_at: iso(Math.min(ownExpiry, now + graceMs)) };
        const updated = await tx
          .updateTable("api_keys")
          .set({ ...stop, replaced_by: created.row.id })
          .where("id", "=", keyId)
          .where("tenant_id", "=", tenantId)
          .where("revoked_at", "is", null)
          .where("replaced_by", "is", null)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) !== 1) throw new LostRotationRace();
        return {
          ok: true,
          key: created.key,
          row: created.row,
          old: { ...old, ...stop, replaced_by: created.row.id },
        };
      });
    } catch (err) {
      if (!(err instanceof LostRotationRace)) throw err;
      const current = await this.getKey(tenantId, keyId);
      return current?.replaced_by
        ? { ok: false, reason: "rotated", replacedBy: current.replaced_by }
        : { ok: false, reason: "inactive" };
    }
  }

  async revokeKey(tenantId: string, keyId: string, at: string): Promise<ApiKeyRow | undefined> {
    await this.db
      .updateTable("api_keys")
      .set({ revoked_at: at })
      .where("id", "=", keyId)
      .where("tenant_id", "=", tenantId)
      .where("revoked_at", "is", null)
      .execute();
    return this.getKey(tenantId, keyId);
  }
}
