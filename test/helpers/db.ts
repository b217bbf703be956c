import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { userInfo } from "node:os";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { openDatabase, migrate, type Db } from "../../src/db/connect.js";
import { TenantRepo } from "../../src/domain/tenants.js";

/** The PostgreSQL of this machine; each test file gets its own fresh database on it. */
export const PG_ADMIN_URL =
  process.env.ZEKRON_TEST_PG_URL ??
  `postgres://${process.env.PGUSER ?? userInfo().username}@127.0.0.1:5432/test`;

export type DialectName = "sqlite" | "postgres";
export const DIALECTS: DialectName[] = ["sqlite", "postgres"];

export interface TestDb {
  db: Db;
  /** A DATABASE_URL for a server on the same database (postgres), or undefined for SQLite. */
  databaseUrl?: string;
  dataDir: string;
  drop(): Promise<void>;
}

export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `zk_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export function tempDir(prefix = "zekron-test-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export async function createTestDb(dialect: DialectName): Promise<TestDb> {
  const dataDir = tempDir();
  if (dialect === "sqlite") {
    const db = openDatabase({ dataDir });
    await migrate(db);
    return {
      db,
      dataDir,
      async drop() {
        await db.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const pgdb = await createPgDatabase();
  const db = openDatabase({ dataDir, databaseUrl: pgdb.url, poolSize: 20 });
  await migrate(db);
  return {
    db,
    databaseUrl: pgdb.url,
    dataDir,
    async drop() {
      await db.close();
      await pgdb.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A test database of `dialect` for the enclosing describe, with a TenantRepo on it: `ready` gets both
 * before the first test, and the database is dropped after the last. Use as
 * `tenantRepoFixture(dialect, (f) => ({ t, repo } = f))`.
 */
export function tenantRepoFixture(
  dialect: DialectName,
  ready: (fixture: { t: TestDb; repo: TenantRepo }) => void,
): void {
  let t: TestDb | undefined;
  beforeAll(async () => {
    t = await createTestDb(dialect);
    ready({ t, repo: new TenantRepo(t.db, Buffer.alloc(32, 7)) });
  });
  afterAll(() => t?.drop());
}
