import { afterEach, describe, expect, it, vi } from "vitest";
import { KeyAuthenticator } from "../../src/http/auth.js";
import { generateKey, hashKey } from "../../src/domain/apikeys.js";
import type { TenantRepo } from "../../src/domain/tenants.js";
import type { ApiKeyRow, Tenant } from "../../src/db/schema.js";

const pepper = Buffer.alloc(32, 3);

/** A repository that knows the given keys and counts its look-ups. */
function repoOf(keys: string[], expiresAt: string | null = null) {
  const byHash = new Map(keys.map((k, i) => [hashKey(pepper, k), i]));
  const repo = {
    lookups: 0,
    async findKeyByHash(hash: string) {
      repo.lookups++;
      const i = byHash.get(hash);
      if (i === undefined) return undefined;
      const row = {
        id: `key_${i}`,
        tenant_id: `ten_${i}`,
        scopes: "read",
        revoked_at: null,
        expires_at: expiresAt,
      };
      return {
        ...(row as unknown as ApiKeyRow),
        tenant: { id: `ten_${i}`, suspended: 0 } as unknown as Tenant,
      };
    },
  };
  return repo;
}

describe("KeyAuthenticator's cache", () => {
  afterEach(() => vi.restoreAllMocks());

  it("serves a key from memory for a second, then asks again; drops keys past their second; never caches a bad checksum", async () => {
    let now = 10_000;
    vi.spyOn(performance, "now").mockImplementation(() => now);
    const keys = [generateKey(), generateKey(), generateKey()];
    const repo = repoOf(keys);
    const auth = new KeyAuthenticator(repo as unknown as TenantRepo, pepper, { now: () => Date.now() });
    const cache = (auth as unknown as { cache: Map<string, unknown> }).cache;

    expect((await auth.authenticate(keys[0])).tenantId).toBe("ten_0");
    now += 500;
    const cached = auth.authenticate(keys[0]);
    // From memory, the context comes at once, not as a promise.
    expect(cached).not.toBeInstanceOf(Promise);
    expect((cached as Awaited<typeof cached>).tenantId).toBe("ten_0");
    expect(repo.lookups).toBe(1);
    await auth.authenticate(keys[1]);
    expect(repo.lookups).toBe(2);
    now += 600; // key 0 was looked up 1.1 s ago: asked again
    await auth.authenticate(keys[0]);
    expect(repo.lookups).toBe(3);

    now += 1500; // both entries are now past their second: a look-up of another key drops them
    await auth.authenticate(keys[2]);
    expect([...cache.keys()]).toEqual([keys[2]]);

    const bad = keys[1]!.slice(0, -1) + (keys[1]!.endsWith("a") ? "b" : "a");
    await expect(auth.authenticate(bad)).rejects.toMatchObject({ code: "invalid_api_key" });
    expect(cache.has(bad)).toBe(false);
    expect(repo.lookups).toBe(4);
  });

  it("refuses a cached key past its expiry on the service clock, as a rejection like every failure", async () => {
    let clock = Date.parse("2026-06-01T00:00:00Z");
    const keys = [generateKey()];
    const auth = new KeyAuthenticator(
      repoOf(keys, "2026-06-01T00:00:01.000Z") as unknown as TenantRepo,
      pepper,
      { now: () => clock },
    );
    expect((await auth.authenticate(keys[0])).keyId).toBe("key_0");
    clock += 1000; // at the expiry: refused, though the entry is still in the cache
    const refused = auth.authenticate(keys[0]);
    expect(refused).toBeInstanceOf(Promise);
    await expect(refused).rejects.toMatchObject({ code: "invalid_api_key" });
    // A missing key is a rejection too, never a throw.
    await expect(auth.authenticate(undefined)).rejects.toMatchObject({ code: "unauthorized" });
  });
});
