import { timingSafeEqual, createHash } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { Tenant } from "../db/schema.js";
import type { TenantRepo } from "../domain/tenants.js";
import { hasValidChecksum, hashKey, type KeyScope } from "../domain/apikeys.js";
import { ApiError } from "../errors.js";
import type { Clock } from "../clock.js";
import type { MaybePromise } from "../maybe.js";

export interface AuthContext {
  keyId: string;
  tenantId: string;
  scopes: Set<string>;
  tenant: Tenant;
  /** The key's replacement once it was rotated: in its grace time it may only generate and read. */
  replacedBy: string | null;
}

/**
 * What a rotated key may still do until its grace ends: the work it was deployed for. Managing keys and
 * webhooks would let whoever holds a leaked key revoke its replacement, or add an endpoint that outlives it.
 */
const GRACE_SCOPES: ReadonlySet<string> = new Set<KeyScope>(["generate", "read"]);

interface CacheEntry {
  /** When it was looked up, on `performance.now()`. */
  at: number;
  /** Null for a key that is unknown or revoked. */
  ctx: AuthContext | null;
  expiresAt: number | null;
}

/** How long a looked-up key may be trusted without asking the database again: revocation takes at most this. */
const KEY_CACHE_MS = 1000;
const KEY_CACHE_MAX = 10_000;

export function presentedKey(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization?.trim();
  if (header) {
    const m = /^Bearer(?:\s+(\S+))?$/i.exec(header);
    if (!m) return header;
    // `Bearer` with nothing after it is no key at all (401 unauthorized), not a wrong one.
    if (m[1]) return m[1];
  }
  const x = req.headers["x-api-key"];
  return typeof x === "string" && x.length > 0 ? x.trim() : undefined;
}

export class KeyAuthenticator {
  /**
   * Keyed by the presented key, not by its hash: a request whose key was looked up in the last second
   * skips the HMAC as well as the database (the HMAC was a fifth of an authenticated request's cost). The
   * keys stay in this process's memory only, as they do in every request that carries them; at rest and
   * in the database there are only hashes.
   */
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly tenants: TenantRepo,
    private readonly pepper: Buffer,
    private readonly clock: Clock,
  ) {}

  /**
   * Resolves a presented key: at once when it was looked up in the last second, otherwise a promise.
   * Failures are always a rejected promise (unauthorized / invalid_api_key / key_suspended).
   */
  authenticate(key: string | undefined): MaybePromise<AuthContext> {
    if (!key)
      return Promise.reject(new ApiError("unauthorized", "No API key: send Authorization: Bearer <key>"));
    // The cache runs on real elapsed time; key expiry on the service clock (which tests may move).
    const tick = performance.now();
    const entry = this.cache.get(key);
    if (entry && tick - entry.at < KEY_CACHE_MS) {
      try {
        return this.admit(entry);
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    if (!hasValidChecksum(key)) return Promise.reject(new ApiError("invalid_api_key", "Invalid API key"));
    return this.lookup(key, tick).then((e) => this.admit(e));
  }

  /**
   * Checked on every request, cached or not, so a key stops at its expiry (a rotation's grace end
   * included) to the millisecond; `!(x > now)` also refuses an unreadable (NaN) expiry.
   */
  private admit(entry: CacheEntry): AuthContext {
    const now = this.clock.now();
    if (!entry.ctx || (entry.expiresAt !== null && !(entry.expiresAt > now))) {
      throw new ApiError("invalid_api_key", "Invalid, revoked or expired API key");
    }
    if (entry.ctx.tenant.suspended) throw new ApiError("key_suspended", "This account is suspended");
    return entry.ctx;
  }

  private async lookup(key: string, tick: number): Promise<CacheEntry> {
    const row = await this.tenants.findKeyByHash(hashKey(this.pepper, key));
    const ctx: AuthContext | null =
      row && row.revoked_at === null
        ? {
            keyId: row.id,
            tenantId: row.tenant_id,
            scopes: new Set(row.scopes.split(",")),
            tenant: row.tenant,
            replacedBy: row.replaced_by,
          }
        : null;
    const entry = { at: tick, ctx, expiresAt: row?.expires_at ? Date.parse(row.expires_at) : null };
    // Re-inserted, not overwritten, so the map runs from the oldest look-up to the newest: entries past
    // their second go from the front (no key stays in memory long after its last request), and the
    // oldest goes when the map is full.
    this.cache.delete(key);
    for (const [k, e] of this.cache) {
      if (tick - e.at < KEY_CACHE_MS && this.cache.size < KEY_CACHE_MAX) break;
      this.cache.delete(k);
    }
    this.cache.set(key, entry);
    return entry;
  }

  /** Drops cached entries so a change made in this process (revocation, suspension, limits) applies at once. */
  invalidate(filter?: { tenantId?: string; keyId?: string }): void {
    if (!filter) return this.cache.clear();
    for (const [key, e] of this.cache) {
      if (e.ctx && (e.ctx.tenantId === filter.tenantId || e.ctx.keyId === filter.keyId))
        this.cache.delete(key);
    }
  }
}

export function requireScope(ctx: AuthContext, scope: KeyScope): void {
  if (!ctx.scopes.has(scope)) throw new ApiError("access_denied", `This key lacks the \`${scope}\` scope`);
  if (ctx.replacedBy !== null && !GRACE_SCOPES.has(scope)) {
    throw new ApiError(
      "access_denied",
      `This key was rotated to ${ctx.replacedBy}: until its grace ends it may only generate and read; use its replacement`,
    );
  }
}

export class AdminAuthenticator {
  private readonly digest: Buffer;
  constructor(token: string) {
    this.digest = createHash("sha256").update(token).digest();
  }

  check(presented: string | undefined): void {
    if (!presented)
      throw new ApiError("unauthorized", "No admin token: send Authorization: Bearer <ZEKRON_ADMIN_TOKEN>");
    const given = createHash("sha256").update(presented).digest();
    if (timingSafeEqual(given, this.digest)) return;
    if (hasValidChecksum(presented)) throw new ApiError("access_denied", "API keys cannot use admin routes");
    throw new ApiError("invalid_api_key", "Invalid admin token");
  }
}
