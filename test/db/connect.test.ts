import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { DIALECTS, createPgDatabase, tenantRepoFixture, tempDir, type TestDb } from "../helpers/db.js";
import { createServer, type AddressInfo } from "node:net";
import { openDatabase } from "../../src/db/connect.js";
import { loadConfig } from "../../src/config.js";
import { startServer } from "../../src/server.js";
import { createServices } from "../../src/services.js";
import { TenantRepo } from "../../src/domain/tenants.js";

const NOW = Date.parse("2026-06-01T00:00:00Z");

describe.each(DIALECTS)("Db.first on %s", (dialect) => {
  let t: TestDb;
  let repo: TenantRepo;
  tenantRepoFixture(dialect, (f) => ({ t, repo } = f));

  const nameQuery = (id: string) =>
    t.db.kysely.selectFrom("tenants").select(["name"]).where("id", "=", id).compile();

  it("reads what is committed: the first row, or undefined", async () => {
    const tenant = await repo.create("reader", 0, NOW);
    expect(await t.db.first(nameQuery(tenant.id))).toEqual({ name: "reader" });
    expect(await t.db.first(nameQuery("ten_missing"))).toBeUndefined();
    const now = t.db.first(nameQuery(tenant.id));
    if (dialect === "sqlite") {
      // Nothing holds the connection: the row comes at once, without a turn of the event loop.
      expect(now).toEqual({ name: "reader" });
    } else {
      expect(now).toBeInstanceOf(Promise);
      await now;
    }
  });

  it("sees every write at once: an update, one with RETURNING, a delete, an insert, not a rolled-back one", async () => {
    const tenant = await repo.create("one", 0, NOW);
    const name = async (id = tenant.id) => (await t.db.first(nameQuery(id)))?.name;
    const rename = (to: string) =>
      t.db.kysely.updateTable("tenants").set({ name: to }).where("id", "=", tenant.id);
    expect(await name()).toBe("one");
    expect(await name()).toBe("one");
    await rename("two").execute();
    expect(await name()).toBe("two");
    await rename("three").returning("name").execute();
    expect(await name()).toBe("three");
    await expect(
      t.db.kysely.transaction().execute(async (trx) => {
        await trx.updateTable("tenants").set({ name: "four" }).where("id", "=", tenant.id).execute();
        throw new Error("abandoned");
      }),
    ).rejects.toThrow("abandoned");
    expect(await name()).toBe("three");
    await t.db.kysely.deleteFrom("tenants").where("id", "=", tenant.id).execute();
    expect(await name()).toBeUndefined();
    const row = await repo.get((await repo.create("model", 0, NOW)).id);
    // A read that found no row, then the insert of that row.
    expect(await name("ten_later")).toBeUndefined();
    await t.db.kysely
      .insertInto("tenants")
      .values({ ...row!, id: "ten_later", name: "later" })
      .execute();
    expect(await name("ten_later")).toBe("later");
  });

  it("never sees a transaction's uncommitted writes: it waits for the transaction, then reads its result", async () => {
    const tenant = await repo.create("before", 0, NOW);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let written!: () => void;
    const wrote = new Promise<void>((r) => (written = r));
    const tx = t.db.kysely.transaction().execute(async (trx) => {
      await trx.updateTable("tenants").set({ name: "after" }).where("id", "=", tenant.id).execute();
      written();
      await gate; // the transaction holds its connection between two statements
      await trx.updateTable("tenants").set({ name: "committed" }).where("id", "=", tenant.id).execute();
    });
    await wrote;
    let seen: { name: string } | undefined;
    const pending = t.db.first(nameQuery(tenant.id));
    // Never at once here: on SQLite the transaction holds the connection, on PostgreSQL reads are async.
    expect(pending).toBeInstanceOf(Promise);
    const reading = Promise.resolve(pending).then((row) => (seen = row));
    await new Promise((r) => setTimeout(r, 30));
    if (dialect === "sqlite") {
      // One connection: the read queues behind the transaction rather than run inside it.
      expect(seen).toBeUndefined();
    } else {
      // Another pooled connection: PostgreSQL shows the last committed row.
      expect(seen).toEqual({ name: "before" });
    }
    open();
    await tx;
    await reading;
    if (dialect === "sqlite") expect(seen).toEqual({ name: "committed" });
    expect(await t.db.first(nameQuery(tenant.id))).toEqual({ name: "committed" });
  });
});

describe("the embedded database", () => {
  it("serves one process at a time: a second opening of the same data dir stops with a clear error", async () => {
    const dataDir = tempDir();
    try {
      const first = openDatabase({ dataDir });
      // Within one process too: SQLite keeps the lock per connection.
      expect(() => openDatabase({ dataDir })).toThrow(/zekron\.db is in use by another process/);
      await first.close();
      const again = openDatabase({ dataDir });
      await again.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("a start that fails (its port taken) lets go of the data dir", async () => {
    const dataDir = tempDir();
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    try {
      const port = (taken.address() as AddressInfo).port;
      const config = loadConfig({
        PORT: String(port),
        HOST: "127.0.0.1",
        LOG_LEVEL: "silent",
        ZEKRON_DATA_DIR: dataDir,
        ZEKRON_DEMO_TENANT: "false",
      });
      await expect(startServer(config)).rejects.toThrow(/EADDRINUSE/);
      const again = openDatabase({ dataDir });
      await again.close();
    } finally {
      taken.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("a PostgreSQL database", () => {
  it("serves one process at a time: a second start on it stops with a clear error, and starts once the first has gone", async () => {
    const pgdb = await createPgDatabase();
    const dirs = [tempDir(), tempDir(), tempDir(), tempDir()];
    // Processes on one database share its master key (each data dir would otherwise make its own).
    const masterKey = randomBytes(32).toString("base64");
    const config = (dataDir: string, key = masterKey) =>
      loadConfig({
        LOG_LEVEL: "silent",
        ZEKRON_DATA_DIR: dataDir,
        ZEKRON_DEMO_TENANT: "false",
        DATABASE_URL: pgdb.url,
        ZEKRON_MASTER_KEY: key,
      });
    try {
      const first = await createServices(config(dirs[0]!));
      // Recovery at start would take the first process's running jobs: the second must not get that far.
      await expect(createServices(config(dirs[1]!))).rejects.toThrow(
        /database is in use by another Zekron process/,
      );
      await first.close();
      const again = await createServices(config(dirs[2]!));
      await again.close();
      // Another master key would leave every key and image of this database unusable: the start stops.
      await expect(createServices(config(dirs[3]!, randomBytes(32).toString("base64")))).rejects.toThrow(
        /^Invalid setting ZEKRON_MASTER_KEY: the database's API keys and images were made/,
      );
      // And it let go of the database: the right key starts.
      const third = await createServices(config(dirs[2]!));
      await third.close();
    } finally {
      await pgdb.drop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
