import { sql, type Compilable, type CompiledQuery, type Kysely, type QueryResult } from "kysely";
import type { Database } from "./schema.js";

/** Stands for a value of the statement's while it is built: its name in the values a run gives. */
const SLOT = Symbol("slot");
type Slot = { readonly [SLOT]: string };
const isSlot = (v: unknown): v is Slot => typeof v === "object" && v !== null && SLOT in v;

/**
 * What a dialect's compiler makes of a quoted name and a value: the same for two executors that write the
 * same SQL for a statement (SQLite: `"a" ?`, PostgreSQL: `"a" $1`).
 */
function dialectOf(on: Kysely<Database>): string {
  let dialect = dialects.get(on);
  if (dialect === undefined) dialects.set(on, (dialect = sql`${sql.ref("a")} ${0}`.compile(on).sql));
  return dialect;
}
/** By executor: a transaction's statements ask once, and none of `transaction`'s ask at all. */
const dialects = new WeakMap<Kysely<Database>, string>();

/**
 * `db.transaction().execute(body)`, with the transaction known to prepared statements as of its database's
 * dialect: they need not ask it (the question is a compile of its own, most of what a prepared statement
 * saves when a transaction runs only one or two).
 */
export function transaction<T>(db: Kysely<Database>, body: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
  const dialect = dialectOf(db);
  return db.transaction().execute((tx) => {
    dialects.set(tx, dialect);
    return body(tx);
  });
}

/**
 * A statement that Kysely builds and compiles once per dialect, and that then runs with new values. Kysely
 * builds and compiles a query anew on every call: measured here, about 50 us a statement when it runs
 * cold (after a render, as every generation's do), for statements whose own work in SQLite is less. The
 * few statements every generation runs are written this way.
 *
 * `build` gets `p`, whose every field stands for the value of that name: it must put each where a value
 * goes (a `where`, `set`, `values` or `sql` value), never decide the statement's shape on it, and the
 * values of a run must not be undefined (null is a value).
 */
export function prepared<P extends Record<string, unknown>, R>(
  build: (db: Kysely<Database>, p: P) => Compilable<R>,
): (on: Kysely<Database>, values: P) => Promise<QueryResult<R>> {
  const byDialect = new Map<string, { query: CompiledQuery<R>; names: (string | undefined)[] }>();
  const slots = new Proxy({}, { get: (_, name) => ({ [SLOT]: String(name) }) }) as P;
  return (on, values) => {
    const dialect = dialectOf(on);
    let made = byDialect.get(dialect);
    if (!made) {
      const query = build(on, slots).compile();
      made = { query, names: query.parameters.map((v) => (isSlot(v) ? v[SLOT] : undefined)) };
      byDialect.set(dialect, made);
    }
    const { query, names } = made;
    const parameters = names.map((name, i) => (name === undefined ? query.parameters[i] : values[name]));
    return on.executeQuery({ ...query, parameters });
  };
}

/** The values of `p` named, as an object of those fields: for an INSERT's `values` in a prepared statement. */
export function fields<P extends Record<string, unknown>, K extends keyof P & string>(
  p: P,
  names: readonly K[],
): Pick<P, K> {
  return Object.fromEntries(names.map((n) => [n, p[n]])) as Pick<P, K>;
}

/**
 * A list of every field of `T`, checked when it compiles: a column added to the row type and not to the
 * list is an error, rather than a value that an INSERT built with `fields` leaves out.
 */
export function allColumns<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    names: K &
      ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, K[number]> }),
  ): K => names;
}
