import { describe, expect, it } from "vitest";
import { DIALECTS, tenantRepoFixture, type TestDb } from "../helpers/db.js";
import { TenantRepo } from "../../src/domain/tenants.js";
import { capture, credit, hold, ledgerSums, refund, release } from "../../src/domain/ledger.js";
import { iso } from "../../src/clock.js";

const NOW = Date.parse("2026-06-01T00:00:00Z");
const at = iso(NOW);

describe.each(DIALECTS)("ledger and tenants on %s", (dialect) => {
  let t: TestDb;
  let repo: TenantRepo;
  tenantRepoFixture(dialect, (f) => ({ t, repo } = f));

  it("creates a tenant with an opening balance that the ledger accounts for", async () => {
    const tenant = await repo.create("acme", 5_000_000, NOW);
    expect(tenant.available).toBe(5_000_000);
    expect(typeof tenant.available).toBe("number");
    expect(await ledgerSums(t.db.kysely, tenant.id)).toEqual({ available: 5_000_000, held: 0 });
  });

  it("holds, captures and releases, and the ledger always sums to the balance", async () => {
    const tenant = await repo.create("flow", 100_000, NOW);
    const db = t.db.kysely;
    expect(await hold(db, tenant.id, "job_a", 30_000, at)).toBe(70_000);
    expect(await hold(db, tenant.id, "job_b", 30_000, at)).toBe(40_000);
    await capture(db, tenant.id, "job_a", 30_000, at);
    await release(db, tenant.id, "job_b", 30_000, at, "failed");
    const after = (await repo.get(tenant.id))!;
    expect(after).toMatchObject({ available: 70_000, held: 0, total_spent: 30_000, total_generations: 1 });
    expect(await ledgerSums(db, tenant.id)).toEqual({ available: 70_000, held: 0 });
  });

  it("refunds a captured job once: the balance and the totals back, the ledger still summing to them", async () => {
    const tenant = await repo.create("undelivered", 100_000, NOW);
    const db = t.db.kysely;
    await hold(db, tenant.id, "job_r", 30_000, at);
    await capture(db, tenant.id, "job_r", 30_000, at);
    await db.transaction().execute((tx) => refund(tx, tenant.id, "job_r", 30_000, at, "undelivered"));
    await expect(
      db.transaction().execute((tx) => refund(tx, tenant.id, "job_r", 30_000, at, "undelivered")),
    ).rejects.toThrow(/unique/i);
    expect(await repo.get(tenant.id)).toMatchObject({
      available: 100_000,
      held: 0,
      total_spent: 0,
      total_generations: 0,
    });
    expect(await ledgerSums(db, tenant.id)).toEqual({ available: 100_000, held: 0 });
  });

  it("refuses a hold the balance does not cover, without a ledger row", async () => {
    const tenant = await repo.create("poor", 10_000, NOW);
    expect(await hold(t.db.kysely, tenant.id, "job_c", 10_001, at)).toBeNull();
    expect(await ledgerSums(t.db.kysely, tenant.id)).toEqual({ available: 10_000, held: 0 });
  });

  it("never releases or captures the same job twice (unique job/kind)", async () => {
    const tenant = await repo.create("twice", 50_000, NOW);
    const db = t.db.kysely;
    await hold(db, tenant.id, "job_d", 20_000, at);
    await hold(db, tenant.id, "job_e", 10_000, at);
    // A third job's hold, so that neither second attempt would take `held` below 0: what stops them is
    // the unique index, not the CHECK.
    await hold(db, tenant.id, "job_f", 10_000, at);
    await db.transaction().execute((tx) => release(tx, tenant.id, "job_d", 20_000, at, "failed"));
    await expect(
      db.transaction().execute((tx) => release(tx, tenant.id, "job_d", 20_000, at, "failed")),
    ).rejects.toThrow(/unique/i);
    await db.transaction().execute((tx) => capture(tx, tenant.id, "job_e", 10_000, at));
    await expect(
      db.transaction().execute((tx) => capture(tx, tenant.id, "job_e", 10_000, at)),
    ).rejects.toThrow(/unique/i);
    expect((await repo.get(tenant.id))!).toMatchObject({ available: 30_000, held: 10_000 });
    expect(await ledgerSums(db, tenant.id)).toEqual({ available: 30_000, held: 10_000 });
  });

  it("rejects a negative balance by CHECK even when the code is bypassed", async () => {
    const tenant = await repo.create("check", 1_000, NOW);
    await expect(
      t.db.kysely.updateTable("tenants").set({ available: -1 }).where("id", "=", tenant.id).execute(),
    ).rejects.toThrow(/check constraint/i);
  });

  it("credits and refuses corrections below zero", async () => {
    const tenant = await repo.create("credit", 1_000, NOW);
    expect(await credit(t.db.kysely, tenant.id, 4_000, "top-up", at)).toBe(5_000);
    expect(await credit(t.db.kysely, tenant.id, -6_000, "correction", at)).toBeNull();
    expect(await credit(t.db.kysely, tenant.id, -5_000, "correction", at)).toBe(0);
    expect(await ledgerSums(t.db.kysely, tenant.id)).toEqual({ available: 0, held: 0 });
  });

  it("lets exactly as many concurrent holds through as the balance covers", async () => {
    const tenant = await repo.create("race", 10 * 25_000, NOW);
    const db = t.db.kysely;
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        db.transaction().execute((tx) => hold(tx, tenant.id, `job_r${i}`, 25_000, at)),
      ),
    );
    expect(results.filter((r) => r !== null)).toHaveLength(10);
    const after = (await repo.get(tenant.id))!;
    expect(after.available).toBe(0);
    expect(after.held).toBe(250_000);
    expect(await ledgerSums(db, tenant.id)).toEqual({ available: 0, held: 250_000 });
  });

  it("stores keys only as hashes and finds them with their tenant", async () => {
    const tenant = await repo.create("keys", 0, NOW);
    const { key, row } = await repo.createKey(tenant.id, { name: "ci" }, NOW);
    expect(row.hash).not.toContain(key.slice(8));
    const found = await repo.findKeyByHash(row.hash);
    expect(found?.tenant.id).toBe(tenant.id);
    expect(found?.scopes).toBe("generate,read,keys,webhooks");
    await repo.revokeKey(tenant.id, row.id, at);
    expect((await repo.findKeyByHash(row.hash))?.revoked_at).toBe(at);
    // Another tenant cannot revoke it.
    const other = await repo.create("other", 0, NOW);
    expect(await repo.revokeKey(other.id, row.id, at)).toBeUndefined();
  });

  it("updates limits and lists tenants", async () => {
    const tenant = await repo.create("limits", 0, NOW);
    const updated = await repo.update(tenant.id, { rate_limit_per_minute: 5, suspended: true });
    expect(updated).toMatchObject({ rate_limit_per_minute: 5, suspended: 1, max_concurrent: null });
    expect(await repo.count()).toBeGreaterThan(5);
    expect((await repo.list(100, 0)).map((x) => x.id)).toContain(tenant.id);
  });
});
