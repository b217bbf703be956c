import { sql, type Kysely } from "kysely";
import type { Database, LedgerKind } from "../db/schema.js";
import { prepared, transaction } from "../db/prepared.js";

/**
 * Every change to a balance is one conditional UPDATE plus one append-only ledger row, in the caller's
 * transaction. A hold moves money from `available` to `held`; a capture spends it; a release gives it
 * back. The UPDATE's WHERE is the check (never read then write), and the unique (job_id, kind) index makes
 * a second capture or release of the same job fail instead of moving money twice.
 */

// The statements every generation runs (hold, then capture or release), built once (see prepared).
const append = prepared(
  (
    db,
    p: {
      tenantId: string;
      jobId: string | null;
      kind: LedgerKind;
      dAvail: number;
      dHeld: number;
      reason: string | null;
      at: string;
    },
  ) =>
    db.insertInto("ledger").values({
      tenant_id: p.tenantId,
      job_id: p.jobId,
      kind: p.kind,
      delta_available: p.dAvail,
      delta_held: p.dHeld,
      reason: p.reason,
      created_at: p.at,
    }),
);

const holdRow = prepared((db, p: { tenantId: string; amount: number }) =>
  db
    .updateTable("tenants")
    .set({ available: sql`available - ${p.amount}`, held: sql`held + ${p.amount}` })
    .where("id", "=", p.tenantId)
    .where("available", ">=", p.amount)
    .returning("available"),
);

const captureRow = prepared((db, p: { tenantId: string; amount: number }) =>
  db
    .updateTable("tenants")
    .set({
      held: sql`held - ${p.amount}`,
      total_spent: sql`total_spent + ${p.amount}`,
      total_generations: sql`total_generations + 1`,
    })
    .where("id", "=", p.tenantId)
    .returning("available"),
);

const releaseRow = prepared((db, p: { tenantId: string; amount: number }) =>
  db
    .updateTable("tenants")
    .set({ available: sql`available + ${p.amount}`, held: sql`held - ${p.amount}` })
    .where("id", "=", p.tenantId),
);

/** Returns the new available balance, or null when the balance does not cover `amount`. */
export async function hold(
  db: Kysely<Database>,
  tenantId: string,
  jobId: string,
  amount: number,
  at: string,
) {
  const [row] = (await holdRow(db, { tenantId, amount })).rows;
  if (!row) return null;
  await append(db, { tenantId, jobId, kind: "hold", dAvail: -amount, dHeld: amount, reason: null, at });
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
  const [row] = (await captureRow(db, { tenantId, amount })).rows;
  await append(db, { tenantId, jobId, kind: "capture", dAvail: 0, dHeld: -amount, reason: null, at });
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
  await releaseRow(db, { tenantId, amount });
  await append(db, { tenantId, jobId, kind: "release", dAvail: amount, dHeld: -amount, reason, at });
}

/**
 * Gives back a captured charge: the job's image was made and paid for, and then could not be delivered
 * (a zero-retention image whose client left before its answer). Once per job, by the unique (job_id, kind)
 * index, in the caller's transaction.
 */
export async function refund(
  db: Kysely<Database>,
  tenantId: string,
  jobId: string,
  amount: number,
  at: string,
  reason: string,
) {
  await db
    .updateTable("tenants")
    .set({
      available: sql`available + ${amount}`,
      total_spent: sql`total_spent - ${amount}`,
      total_generations: sql`total_generations - 1`,
    })
    .where("id", "=", tenantId)
    .execute();
  await append(db, { tenantId, jobId, kind: "refund", dAvail: amount, dHeld: 0, reason, at });
}

/** A top-up (positive) or correction (negative). Returns the new balance, or null if it would go below 0. */
export async function credit(
  db: Kysely<Database>,
  tenantId: string,
  amount: number,
  reason: string,
  at: string,
) {
  return transaction(db, async (tx) => {
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
