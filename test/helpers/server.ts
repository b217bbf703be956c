import { afterAll, beforeAll, expect } from "vitest";
import { rmSync } from "node:fs";
import { loadConfig } from "../../src/config.js";
import { startServer, type RunningServer, type StartOptions } from "../../src/server.js";
import type { Clock } from "../../src/clock.js";
import { createPgDatabase, tempDir, type DialectName } from "./db.js";
import { ledgerSums } from "../../src/domain/ledger.js";
import type { Tenant } from "../../src/db/schema.js";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

export class TestClock implements Clock {
  constructor(public t = Date.parse("2026-06-01T12:00:00Z")) {}
  now() {
    return this.t;
  }
  advance(ms: number) {
    this.t += ms;
  }
}

export interface TestServer extends RunningServer {
  dataDir: string;
  stop(): Promise<void>;
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  /** A tenant with a key; `balance` as a decimal string. */
  tenant(balance?: string, extra?: Record<string, unknown>): Promise<{ id: string; key: string }>;
  api(
    key: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
}

/** A real server on a free port, on a fresh data dir (and a fresh PostgreSQL database when asked). */
export async function startTestServer(
  opts: { env?: Record<string, string>; dialect?: DialectName; dataDir?: string } & StartOptions = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const pgdb = opts.dialect === "postgres" ? await createPgDatabase() : undefined;
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    ZEKRON_DATA_DIR: dataDir,
    ZEKRON_ADMIN_TOKEN: ADMIN_TOKEN,
    ZEKRON_DEMO_TENANT: "false",
    ZEKRON_RATE_LIMIT_PER_MINUTE: "100000",
    ...(pgdb ? { DATABASE_URL: pgdb.url } : {}),
    ...opts.env,
  });
  // A test's requests are all done when it stops its server: a connection still open after 5 s is a stray.
  const server = await startServer(config, { drainMs: 5000, ...opts });
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(server.url + path, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    ...server,
    dataDir,
    admin,
    async tenant(balance = "10.00", extra = {}) {
      const res = await admin("POST", "/admin/v1/tenants", { name: "t", balance, ...extra });
      if (res.status !== 201) throw new Error(`tenant creation failed: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { data: { tenant: { id: string }; api_key: string } };
      return { id: body.data.tenant.id, key: body.data.api_key };
    },
    api(key, method, path, body, headers = {}) {
      return fetch(server.url + path, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
    },
    async stop() {
      // A stop that hangs says what it waits on, in the test's output (the server's own log is silent).
      const watch = setTimeout(() => {
        server.app.server.getConnections((_err, open) => {
          const s = server.services;
          process.stderr.write(
            `test server ${server.url}: stop() still waiting after 10 s; connections ${open}, ` +
              `jobs running ${s.queue.running()}, queued ${s.queue.depth()}; ` +
              `active resources: ${process.getActiveResourcesInfo().join(", ")}\n`,
          );
        });
      }, 10_000);
      try {
        await server.close();
      } finally {
        clearTimeout(watch);
      }
      await pgdb?.drop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * One server on the embedded default for the enclosing describe, with a tenant of `balance`: `ready` gets
 * the server and the tenant's key before the first test, and the server stops after the last. Use as
 * `serverFixture("10.00", (f) => ({ srv, key } = f))`.
 */
export function serverFixture(balance: string, ready: (f: { srv: TestServer; key: string }) => void): void {
  let srv: TestServer | undefined;
  beforeAll(async () => {
    srv = await startTestServer();
    ready({ srv, key: (await srv.tenant(balance)).key });
  });
  afterAll(() => srv?.stop());
}

/** A small valid PNG made with sharp, for edits. */
export async function samplePng(width = 64, height = 48, color = { r: 200, g: 80, b: 40 }): Promise<Buffer> {
  const sharp = (await import("sharp")).default;
  return sharp({ create: { width, height, channels: 3, background: color } })
    .png()
    .toBuffer();
}

/** The statuses of a tenant's jobs, oldest first. */
export async function jobStatuses(srv: TestServer, tenantId: string): Promise<string[]> {
  const rows = await srv.services.db.kysely
    .selectFrom("jobs")
    .select("status")
    .where("tenant_id", "=", tenantId)
    .orderBy("seq")
    .execute();
  return rows.map((j) => j.status);
}

/** A tenant's row, once checked against its ledger: the ledger's sums are its balance and its holds. */
export async function settledTenant(srv: TestServer, tenantId: string): Promise<Tenant> {
  const tenant = (await srv.services.tenants.get(tenantId))!;
  expect(await ledgerSums(srv.services.db.kysely, tenantId)).toEqual({
    available: tenant.available,
    held: tenant.held,
  });
  return tenant;
}
