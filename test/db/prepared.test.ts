import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { createTestDb, DIALECTS, type TestDb } from "../helpers/db.js";
import { fields, prepared, transaction } from "../../src/db/prepared.js";

describe("prepared statements, on both dialects in one process", () => {
  const dbs: TestDb[] = [];
  beforeAll(async () => {
    for (const d of DIALECTS) dbs.push(await createTestDb(d));
  });
  afterAll(async () => {
    for (const t of dbs) await t.drop();
  });

  it("builds once per dialect, and runs with each call's values by name, constants kept", async () => {
    let builds = 0;
    const insert = prepared((db, p: { id: string; name: string; n: number; at: string }) => {
      builds++;
      return db
        .insertInto("tenants")
        .values({
          ...fields(p, ["id", "name"]),
          // A value inside raw SQL, one used twice, and constants.
          available: sql<number>`${p.n} * 2`,
          held: 0,
          total_spent: p.n,
          total_generations: p.n,
          suspended: 0,
          created_at: p.at,
        })
        .returning(["id", "name", "available", "held", "total_spent", "total_generations", "created_at"]);
    });
    for (const t of dbs) {
      const db = t.db.kysely;
      for (const n of [1, 2, 3]) {
        const at = `2026-12-0${n}T00:00:00.000Z`;
        const { rows } = await insert(db, { id: `ten_${n}`, name: `tenant ${n}`, n, at });
        expect(
          rows.map((r) => ({ ...r, available: Number(r.available), total_spent: Number(r.total_spent) })),
        ).toEqual([
          {
            id: `ten_${n}`,
            name: `tenant ${n}`,
            available: 2 * n,
            held: 0,
            total_spent: n,
            total_generations: n,
            created_at: at,
          },
        ]);
      }
    }
    expect(builds).toBe(DIALECTS.length);
  });

  // On the tenants the test above made.
  it("runs inside a transaction, which a rollback undoes", async () => {
    const rename = prepared((db, p: { id: string; name: string }) =>
      db.updateTable("tenants").set({ name: p.name }).where("id", "=", p.id).returning("name"),
    );
    for (const t of dbs) {
      const db = t.db.kysely;
      await expect(
        db.transaction().execute(async (tx) => {
          expect((await rename(tx, { id: "ten_1", name: "renamed" })).rows).toEqual([{ name: "renamed" }]);
          throw new Error("roll back");
        }),
      ).rejects.toThrow("roll back");
      const row = await db.selectFrom("tenants").select("name").where("id", "=", "ten_1").executeTakeFirst();
      expect(row).toEqual({ name: "tenant 1" });
      // The same through transaction(), which tells the statements the dialect without asking it.
      await transaction(db, async (tx) => {
        expect((await rename(tx, { id: "ten_3", name: "three" })).rows).toEqual([{ name: "three" }]);
      });
      expect((await rename(db, { id: "ten_2", name: "two" })).rows).toEqual([{ name: "two" }]);
      expect((await rename(db, { id: "nobody", name: "x" })).rows).toEqual([]);
    }
  });
});
