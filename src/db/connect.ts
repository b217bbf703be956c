import { ConfigError } from "../config.js";
import { makeDirSync } from "../dirs.js";
import path from "node:path";
import SQLite from "better-sqlite3";
import pg from "pg";
import { Kysely, Migrator, PostgresDialect, type CompiledQuery } from "kysely";
import { BUSY, FastSqliteDialect } from "./sqlite-driver.js";
import type { MaybePromise } from "../maybe.js";
import type { Database } from "./schema.js";
import { StaticMigrations, type Dialect } from "./migrations.js";

export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  /**
   * The first row of a compiled read, run outside any transaction. On SQLite it runs at once when no
   * transaction holds the connection and the row comes back as a value, skipping Kysely's queue of
   * promises (most of a small query's cost on the request path); otherwise, and on PostgreSQL, it is
   * `kysely.executeQuery` and the row comes as a promise.
   */
  first<R>(query: CompiledQuery<R>): MaybePromise<R | undefined>;
  close(): Promise<void>;
}

// int8 (bigint) arrives from pg as a string; micro-dollars stay far below 2^53, so a number is exact.
const pgTypes = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === 20 && format !== "binary") return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export function openDatabase(opts: {
  databaseUrl?: string;
  dataDir: string;
  poolSize?: number;
  onIdleError?: (err: Error) => void;
}): Db {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.poolSize ?? 10,
      types: pgTypes,
    });
    // An idle client whose server connection drops (a restart, an administrator's terminate) is reported
    // here; without a listener the process would crash. The pool replaces the client on next use.
    pool.on("error", (err) => opts.onIdleError?.(err));
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return {
      kysely,
      dialect: "postgres",
      first: async (query) => (await kysely.executeQuery(query)).rows[0],
      close: () => kysely.destroy(),
    };
  }
  makeDirSync(opts.dataDir);
  const file = path.join(opts.dataDir, "zekron.db");
  // A second process waits this long for the first to let go (a restart that overlaps its predecessor's
  // shutdown), then stops with a clear line.
  const sqlite = new SQLite(file, { timeout: 2000 });
  try {
    // One process owns the database: the embedded deployment is one process (its queue and limits live in
    // it), and a lock held for the connection's life spares every query the shared-memory locking of WAL,
    // two system calls each (locking_mode must come before journal_mode for that).
    sqlite.pragma("locking_mode = EXCLUSIVE");
    sqlite.pragma("journal_mode = WAL");
    sqlite.exec("BEGIN IMMEDIATE; COMMIT");
  } catch (err) {
    sqlite.close();
    if ((err as { code?: string }).code === "SQLITE_BUSY") {
      throw new Error(
        `${file} is in use by another process: a data dir serves one Zekron process at a time ` +
          "(stop the other one first)",
        { cause: err },
      );
    }
    throw err;
  }
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  const dialect = new FastSqliteDialect(sqlite);
  const kysely = new Kysely<Database>({ dialect });
  const driver = dialect.driver!;
  return {
    kysely,
    dialect: "sqlite",
    first: <R>(query: CompiledQuery<R>) => {
      const row = driver.firstNow<R>(query.sql, query.parameters);
      return row === BUSY ? kysely.executeQuery(query).then((r) => r.rows[0]) : row;
    },
    // Kysely closes its driver only if a query ever went through it; the lock must go either way.
    close: async () => {
      await kysely.destroy();
      if (sqlite.open) sqlite.close();
    },
  };
}

/** A database URL fit for a message: its password replaced. */
function withoutPassword(databaseUrl: string): string {
  const u = new URL(databaseUrl);
  if (u.password) u.password = "***";
  return u.toString();
}

/** The advisory lock's key: "zekr" and 1, two int4s, so that other applications' keys are unlikely to meet it. */
const PG_LOCK = [0x7a656b72, 1] as const;
/** How long a start waits for the lock (a restart that overlaps its predecessor's shutdown), as on SQLite. */
const PG_LOCK_WAIT_MS = 2000;

/**
 * On PostgreSQL, one process per database, as SQLite's exclusive lock gives the embedded default: the
 * queue and the limits of this version live in the process, and recovery at start re-queues or fails the
 * `running` jobs it finds, which would be another live process's (their engines run twice, their waiters
 * are never told). A session-level advisory lock, on a connection of its own held for the process's life.
 */
export async function claimPostgres(
  databaseUrl: string,
  onError: (err: Error) => void,
): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  // A dropped connection (a server restart) loses the lock; the process goes on, as it would on SQLite
  // had its file been taken away, and says so.
  client.on("error", onError);
  try {
    await client.connect();
  } catch (err) {
    throw new ConfigError([
      `Invalid setting DATABASE_URL: cannot connect to ${withoutPassword(databaseUrl)}: ${(err as Error).message}`,
    ]);
  }
  try {
    const until = performance.now() + PG_LOCK_WAIT_MS;
    for (;;) {
      const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [
        ...PG_LOCK,
      ]);
      if (rows[0]?.ok) break;
      if (performance.now() > until) {
        throw new Error(
          "DATABASE_URL's database is in use by another Zekron process: this version runs one process " +
            "per database (stop the other one first)",
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  // Ending the session releases its advisory locks.
  return { release: () => client.end() };
}

/**
 * A look-up by one value, for the request path: the query is compiled once, here (building it cost more
 * than running it), and each call runs it through `db.first` with the value as its one parameter, giving
 * the first row or undefined, at once when `db.first` can. `build` must take exactly one parameter (use
 * "" for it).
 */
export function lookupBy<R>(
  db: Db,
  build: (kysely: Kysely<Database>) => { compile(): CompiledQuery<R> },
): (value: string) => MaybePromise<R | undefined> {
  const query = build(db.kysely).compile();
  return (value) => db.first<R>({ ...query, parameters: [value] });
}

export async function migrate(db: Db): Promise<void> {
  const migrator = new Migrator({ db: db.kysely, provider: new StaticMigrations(db.dialect) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error || failed) {
    throw new Error(
      `Database migration failed${failed ? ` at ${failed.migrationName}` : ""}: ${String(error)}`,
    );
  }
}
