import { sql, type Kysely } from "kysely";
import type { Database, LedgerKind } from "../db/schema.js";

/**
 * Every change to a balance is one conditional UPDATE plus one append-only ledger row, in the caller's
 * transaction. A hold moves money from `available` to `held`; a capture spends it; a release gives it
 * back. The UPDATE's WHERE is the check (never read then write), and the unique (job_id, kind) index makes
 * a second capture or release of the same job fail instead of moving money twice.
 */

async function append(
  db: Kysely<Database>,
  row: {
    tenantId: string;
    jobId: string | null;
    kind: LedgerKind;
    dAvail: number;
    dHeld: number;
    reason?: string;
    at: string;
  },
) {
  await db
    .insertInto("ledger")
    .values({
      tenant_id: row.tenantId,
      job_id: row.jobId,
      kind: row.kind,
      delta_available: row.dAvail,
      delta_held: row.dHeld,
      reason: row.reason ?? null,
      created_at: row.at,
    })
    .execute();
}

/** Returns the new available balance, or null when the balance does not cover `amount`. */
export async function hold(
  db: Kysely<Database>,
  tenantId: string,
  jobId: string,
  amount: number,
  at: string,
) {
  const row = await db
    .updateTable("tenants")
    .set({ available: sql`available - ${amount}`, held: sql`held + ${amount}` })
    .where("id", "=", tenantId)
    .where("available", ">=", amount)
    .returning("available")
    .executeTakeFirst();
  if (!row) return null;
  await append(db, { tenantId, jobId, kind: "hold", dAvail: -amount, dHeld: amount, at });
  return row.available;
}

/** Returns the available balance as the capture leaves it. */
export async function capture(
  db: Kysely<Database>,
  tenantId: string,
  jobId: string,
  amount: number,
  at: string,
) {
  const row = await db
    .updateTable("tenants")
    .set({
      held: sql`held - ${amount}`,
      total_spent: sql`total_spent + ${amount}`,
      total_generations: sql`total_generations + 1`,
    })
    .where("id", "=", tenantId)
    .returning("available")
    .executeTakeFirst();
  await append(db, { tenantId, jobId, kind: "capture", dAvail: 0, dHeld: -amount, at });
  return row?.available;
}

export async function release(
  db: Kysely<Database>,
  tenantId: string,
  jobId: string,
  amount: number,
  at: string,
  reason: string,
) {
  await db
    .updateTable("tenants")
    .set({ available: sql`available + ${amount}`, held: sql`held - ${amount}` })
    .where("id", "=", tenantId)
    .execute();
  await append(db, { tenantId, jobId, kind: "release", dAvail: amount, dHeld: -amount, reason, at });
}

/** A top-up (positive) or correction (negative). Returns the new balance, or null if it would go below 0. */
export async function credit(
  db: Kysely<Database>,
  tenantId: string,
  amount: number,
  reason: string,
  at: string,
) {
  return db.transaction().execute(async (tx) => {
    const row = await tx
      .updateTable("tenants")
      .set({ available: sql`available + ${amount}` })
      .where("id", "=", tenantId)
      .where(sql<boolean>`available + ${amount} >= 0`)
      .returning("available")
      .executeTakeFirst();
    if (!row) return null;
    await append(tx, { tenantId, jobId: null, kind: "credit", dAvail: amount, dHeld: 0, reason, at });
    return row.available;
  });
}

/** Sums of the ledger for a tenant: must equal the tenant's available and held columns. */
export async function ledgerSums(db: Kysely<Database>, tenantId: string) {
  const row = await db
    .selectFrom("ledger")
    .select([
      sql<number>`coalesce(sum(delta_available), 0)`.as("available"),
      sql<number>`coalesce(sum(delta_held), 0)`.as("held"),
    ])
    .where("tenant_id", "=", tenantId)
    .executeTakeFirstOrThrow();
  return { available: Number(row.available), held: Number(row.held) };
}
