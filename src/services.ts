import pino, { type DestinationStream, type Logger } from "pino";
import { accessSync, constants as fsConstants } from "node:fs";
import path from "node:path";
import { ConfigError, type Config } from "./config.js";
import { makeDirSync } from "./dirs.js";
import { loadSecrets, type Secrets } from "./secrets.js";
import { claimPostgres, openDatabase, migrate, type Db } from "./db/connect.js";
import { systemClock, type Clock } from "./clock.js";
import { Catalog } from "./domain/catalog.js";
import { TenantRepo } from "./domain/tenants.js";
import { ImageService } from "./domain/images.js";
import { JobService } from "./domain/jobs.js";
import { FsBlobStore } from "./storage/fs.js";
import { SealedStore } from "./storage/envelope.js";
import { MemoryQueue } from "./queue/memory.js";
import type { JobQueue } from "./queue/types.js";
import { MemoryLimiter } from "./limits/memory.js";
import type { Limiter } from "./limits/types.js";
import type { Engine } from "./engines/types.js";
import { createEngine } from "./engines/registry.js";
import { EngineRouter, type RouterOptions } from "./engines/router.js";
import { MAX_UPSTREAM_IMAGE_BYTES } from "./engines/shared/output.js";
import { KeyAuthenticator, AdminAuthenticator } from "./http/auth.js";
import { WebhookService } from "./webhooks/service.js";

export interface Services {
  config: Config;
  secrets: Secrets;
  log: Logger;
  clock: Clock;
  db: Db;
  catalog: Catalog;
  tenants: TenantRepo;
  images: ImageService;
  jobs: JobService;
  queue: JobQueue;
  store: SealedStore;
  limiter: Limiter;
  /** Every generation goes through the router to one of the configured engine instances. */
  router: EngineRouter;
  keys: KeyAuthenticator;
  admin: AdminAuthenticator;
  webhooks: WebhookService;
  /** Facts known only once the server runs (the address it listens on). */
  runtime: { listenUrl?: string };
  close(): Promise<void>;
}

export interface ServiceOptions {
  clock?: Clock;
  /** Replaces the engine of every `local` instance (tests: an engine held back, or failing). */
  engine?: Engine;
  router?: RouterOptions;
  log?: Logger;
}

/** The server's logger: JSON lines on stdout, or on `destination` (tests read the lines there). */
export function createLogger(config: Config, destination?: DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      // Belt and braces: nothing here logs headers or bodies, but a key must never reach a log line.
      redact: [
        "req.headers.authorization",
        'req.headers["x-api-key"]',
        "*.api_key",
        "*.key",
        "*.b64_json",
        "*.data",
      ],
    },
    destination,
  );
}

/**
 * Stops a start whose master key is not the one the database's API keys and images were made with: they
 * would all be refused or unreadable, with the server up and saying it is ready. The first start (and the
 * first after an upgrade to a version that checks) records the key's check value.
 */
async function checkMasterKey(db: Db, check: string, dataDir: string): Promise<void> {
  const row = await db.kysely
    .selectFrom("settings")
    .select("value")
    .where("name", "=", "master_key_check")
    .executeTakeFirst();
  if (!row) {
    await db.kysely
      .insertInto("settings")
      .values({ name: "master_key_check", value: check })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    return;
  }
  if (row.value !== check) {
    throw new ConfigError([
      "Invalid setting ZEKRON_MASTER_KEY: the database's API keys and images were made with another master " +
        `key; set it to that key (when it was not set, it was kept in ${path.join(dataDir, "secrets.json")})`,
    ]);
  }
}

/** Makes a directory the server needs, or stops the start naming the setting that chose it. */
function ensureDir(setting: string, dir: string): void {
  try {
    makeDirSync(dir);
    accessSync(dir, fsConstants.W_OK | fsConstants.X_OK);
  } catch (err) {
    throw new ConfigError([`Invalid setting ${setting}: cannot use ${dir}: ${(err as Error).message}`]);
  }
}

/** Builds every service once, choosing each technology from configuration in this one place. */
export async function createServices(config: Config, opts: ServiceOptions = {}): Promise<Services> {
  const log = opts.log ?? createLogger(config);
  const clock = opts.clock ?? systemClock;
  ensureDir("ZEKRON_DATA_DIR", config.dataDir);
  ensureDir(config.blobDirSetting, config.blobDir);
  const secrets = loadSecrets(config);
  const claim =
    config.databaseUrl === undefined
      ? undefined
      : await claimPostgres(config.databaseUrl, (err) =>
          log.error({ err }, "the connection holding this process's claim on the database was lost"),
        );
  const db = openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    onIdleError: (err) => log.warn({ err }, "an idle database connection was closed by the server"),
  });
  const closeDb = async () => {
    await db.close();
    await claim?.release();
  };
  try {
    await migrate(db);
    await checkMasterKey(db, secrets.masterKeyCheck, config.dataDir);
  } catch (err) {
    // Let go of the database (and the lock on it) before reporting the failure.
    await closeDb().catch(() => undefined);
    throw err;
  }
  if (config.redisUrl) log.warn("REDIS_URL is set, but this version keeps its queue and limits in-process");
  if (config.webhookAllowPrivate)
    log.warn("ZEKRON_WEBHOOK_ALLOW_PRIVATE=true: webhooks may reach private addresses (development only)");

  const store = new SealedStore(new FsBlobStore(config.blobDir), secrets.masterKey);
  const catalog = new Catalog(config.engineSetup.models);
  const tenants = new TenantRepo(db, secrets.keyPepper);
  const images = new ImageService(db, store, secrets.urlSigningKey, clock, config.imageTtlSeconds);
  const queue = new MemoryQueue(config.workerConcurrency);
  const engineDeps = { maxPixels: config.maxInputPixels, maxResponseBytes: MAX_UPSTREAM_IMAGE_BYTES, log };
  const router = new EngineRouter(
    config.engineSetup.engines.map((cfg) => ({
      cfg,
      engine: cfg.kind === "local" && opts.engine ? opts.engine : createEngine(cfg, engineDeps),
    })),
    catalog,
    log,
    opts.router,
  );
  const jobs = new JobService({
    db: db.kysely,
    engine: router,
    images,
    store,
    queue,
    clock,
    engineTimeoutMs: config.engineTimeoutMs,
    log,
  });
  const runtime: Services["runtime"] = {};
  const webhooks = new WebhookService({
    db: db.kysely,
    images,
    masterKey: secrets.masterKey,
    clock,
    log,
    allowPrivate: config.webhookAllowPrivate,
    publicUrl: () => config.publicUrl ?? runtime.listenUrl ?? `http://localhost:${config.port}`,
  });
  jobs.setTerminalHooks(webhooks);
  const services: Services = {
    config,
    secrets,
    log,
    clock,
    db,
    catalog,
    tenants,
    images,
    jobs,
    queue,
    store,
    limiter: new MemoryLimiter(),
    router,
    keys: new KeyAuthenticator(tenants, secrets.keyPepper, clock),
    admin: new AdminAuthenticator(secrets.adminToken),
    webhooks,
    runtime,
    async close() {
      router.stop();
      await queue.stop();
      router.close();
      await webhooks.stop();
      await store.close();
      await closeDb();
    },
  };
  return services;
}
