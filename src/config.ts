import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { defaultEngineSetup, loadEngineSetup, type EngineSetup } from "./configfile.js";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: "must be a whole number" })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `must be between ${min} and ${max}` });

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => p + "//").join(" or ")}` },
  );

const EnvSchema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default("0.0.0.0"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  ZEKRON_DATA_DIR: z
    .string()
    .min(1)
    .refine((v) => statSync(v, { throwIfNoEntry: false })?.isDirectory() ?? true, {
      message: "must be a directory (this path is a file)",
    })
    .default("./data"),
  ZEKRON_ADMIN_TOKEN: z
    .string()
    .min(16, { message: "must be at least 16 characters" })
    // It is sent as `Authorization: Bearer <token>`, which ends at the first space.
    .refine((v) => !/\s/.test(v), { message: "must not contain spaces or other whitespace" })
    .optional(),
  ZEKRON_MASTER_KEY: z
    .string()
    .refine((v) => decodeMasterKey(v) !== null, {
      message: "must be 32 bytes as 64 hex characters or base64 (try: openssl rand -base64 32)",
    })
    .optional(),
  ZEKRON_PUBLIC_URL: url(["http:", "https:"])
    // Every URL in an answer is this plus a path: a query or a fragment would end up in the middle.
    .refine((v) => !/[?#]/.test(v), { message: "must not have a query or a fragment" })
    .transform((v) => v.replace(/\/+$/, ""))
    .optional(),
  DATABASE_URL: url(["postgres:", "postgresql:"]).optional(),
  REDIS_URL: url(["redis:", "rediss:"]).optional(),
  ZEKRON_BLOB_URL: z
    .string()
    .transform((v, ctx) => {
      const dir = blobDirOf(v);
      if (typeof dir === "string") return dir;
      ctx.addIssue({ code: "custom", message: dir.error });
      return z.NEVER;
    })
    .optional(),
  ZEKRON_CONFIG: z.string().min(1).optional(),
  ZEKRON_WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  ZEKRON_IMAGE_TTL_SECONDS: int(60, 365 * 86400).default(86400),
  ZEKRON_MAX_PROMPT_LENGTH: int(1, 100_000).default(2000),
  ZEKRON_BODY_LIMIT_MB: int(1, 200).default(25),
  ZEKRON_MAX_INPUT_MEGAPIXELS: int(1, 268).default(25),
  ZEKRON_RATE_LIMIT_PER_MINUTE: int(1, 1_000_000).default(60),
  ZEKRON_MAX_CONCURRENT: int(1, 10_000).default(5),
  ZEKRON_WORKER_CONCURRENCY: int(1, 1024).optional(),
  ZEKRON_SYNC_TIMEOUT_SECONDS: int(1, 3600).default(120),
  ZEKRON_ENGINE_TIMEOUT_SECONDS: int(1, 86400).default(300),
  ZEKRON_DEMO_TENANT: bool.default(true),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  port: number;
  host: string;
  logLevel: Env["LOG_LEVEL"];
  dataDir: string;
  adminToken?: string;
  masterKey?: Buffer;
  publicUrl?: string;
  databaseUrl?: string;
  redisUrl?: string;
  blobDir: string;
  /** The setting that chose blobDir, for a message about it. */
  blobDirSetting: "ZEKRON_BLOB_URL" | "ZEKRON_DATA_DIR";
  webhookAllowPrivate: boolean;
  imageTtlSeconds: number;
  maxPromptLength: number;
  bodyLimitBytes: number;
  maxInputPixels: number;
  rateLimitPerMinute: number;
  maxConcurrent: number;
  /** Jobs in flight at once across all engines: the setting, else the sum of the instances' concurrency. */
  workerConcurrency: number;
  /** Engine instances and the model catalog (from ZEKRON_CONFIG, or the built-in default). */
  engineSetup: EngineSetup;
  syncTimeoutMs: number;
  engineTimeoutMs: number;
  demoTenant: boolean;
}

export class ConfigError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join("\n"));
    this.name = "ConfigError";
  }
}

/**
 * The directory a ZEKRON_BLOB_URL names: a path (absolute, or relative to the working directory) or a
 * `file:` URL of this machine (`file:///srv/blobs`); anything else is an error to report.
 */
function blobDirOf(v: string): string | { error: string } {
  if (/^s3:\/\//i.test(v)) return { error: "s3:// is not supported in this version; use a directory" };
  if (!/^[a-z][a-z0-9+.-]*:/i.test(v)) return v;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return { error: "must be a directory path or a file:// URL" };
  }
  if (u.protocol !== "file:") return { error: "must be a directory path or a file:// URL" };
  if (u.host !== "" && u.host !== "localhost") {
    return {
      error: `a file:// URL names a path on this machine: file:///${u.host}${u.pathname} (three slashes), not host "${u.host}"`,
    };
  }
  if (u.search || u.hash) return { error: "a file:// URL must not have a query or a fragment" };
  return fileURLToPath(u);
}

export function decodeMasterKey(v: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, "hex");
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(v)) {
    const buf = Buffer.from(v, "base64");
    if (buf.length === 32) return buf;
  }
  return null;
}

/** Parses the environment once; a bad value throws a ConfigError naming each bad setting. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as a shell `FOO=` intends.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `Invalid setting ${String(i.path[0] ?? "?")}: ${i.message}`),
    );
  }
  const e = parsed.data;
  const blob = e.ZEKRON_BLOB_URL;
  const engineTimeoutMs = e.ZEKRON_ENGINE_TIMEOUT_SECONDS * 1000;
  const localConcurrency = e.ZEKRON_WORKER_CONCURRENCY ?? 2;
  let engineSetup: EngineSetup;
  try {
    engineSetup = e.ZEKRON_CONFIG
      ? loadEngineSetup(e.ZEKRON_CONFIG, env, { localConcurrency, engineTimeoutMs })
      : defaultEngineSetup(localConcurrency, engineTimeoutMs);
  } catch (err) {
    throw new ConfigError(
      (err as Error).message.split("\n").map((line) => `Invalid setting ZEKRON_CONFIG: ${line}`),
    );
  }
  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    dataDir: e.ZEKRON_DATA_DIR,
    adminToken: e.ZEKRON_ADMIN_TOKEN,
    masterKey: e.ZEKRON_MASTER_KEY ? (decodeMasterKey(e.ZEKRON_MASTER_KEY) ?? undefined) : undefined,
    publicUrl: e.ZEKRON_PUBLIC_URL,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    blobDir: blob ?? `${e.ZEKRON_DATA_DIR}/blobs`,
    blobDirSetting: blob ? "ZEKRON_BLOB_URL" : "ZEKRON_DATA_DIR",
    webhookAllowPrivate: e.ZEKRON_WEBHOOK_ALLOW_PRIVATE,
    imageTtlSeconds: e.ZEKRON_IMAGE_TTL_SECONDS,
    maxPromptLength: e.ZEKRON_MAX_PROMPT_LENGTH,
    bodyLimitBytes: e.ZEKRON_BODY_LIMIT_MB * 1024 * 1024,
    maxInputPixels: e.ZEKRON_MAX_INPUT_MEGAPIXELS * 1_000_000,
    rateLimitPerMinute: e.ZEKRON_RATE_LIMIT_PER_MINUTE,
    maxConcurrent: e.ZEKRON_MAX_CONCURRENT,
    workerConcurrency:
      e.ZEKRON_WORKER_CONCURRENCY ?? engineSetup.engines.reduce((n, i) => n + i.concurrency, 0),
    engineSetup,
    syncTimeoutMs: e.ZEKRON_SYNC_TIMEOUT_SECONDS * 1000,
    engineTimeoutMs,
    demoTenant: e.ZEKRON_DEMO_TENANT,
  };
}
