/**
 * The engines and models file (`ZEKRON_CONFIG`, YAML or JSON): which backends exist and which public
 * model each one serves. Parsed and checked once at start, like the environment; every problem is reported
 * with its path in the file, so an operator can fix them all in one go.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { DEFAULT_MODELS, type ModelInfo, type ModelRoute } from "./domain/catalog.js";
import { parseMoney } from "./domain/money.js";
import type { EngineInstanceConfig } from "./engines/instance.js";

export const ENGINE_KINDS = ["local", "comfyui", "a1111", "openai"] as const;

/** Default per-instance concurrency: one job at a time is all an A1111 server handles safely. */
const DEFAULT_CONCURRENCY: Record<(typeof ENGINE_KINDS)[number], number> = {
  local: 2,
  comfyui: 1,
  a1111: 1,
  openai: 4,
};
const DEFAULT_ENGINE_TIMEOUT_S = 300;
const CREATED = 1767225600;

export interface EngineSetup {
  engines: EngineInstanceConfig[];
  models: ModelInfo[];
  /** OpenAI model names accepted on the OpenAI-compatible routes, mapped to catalog model ids. */
  openaiModels: Record<string, string>;
}

const httpUrl = z
  .string()
  .refine(
    (v) => {
      try {
        return ["http:", "https:"].includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: "must be an http:// or https:// URL" },
  )
  // Credentials in a URL end up in error messages (and so in front of tenants): they have their own fields.
  .refine((v) => !URL.canParse(v) || (!new URL(v).username && !new URL(v).password), {
    message: "must not contain a user or password; use username/password or api_key",
  });

const EngineSchema = z
  .object({
    kind: z.enum(ENGINE_KINDS),
    url: httpUrl.optional(),
    concurrency: z.number().int().min(1).max(1000).optional(),
    timeout_seconds: z.number().positive().max(86400).optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    api_key: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    allow_private_result_urls: z.boolean().optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.kind !== "local" && !e.url)
      ctx.addIssue({ code: "custom", message: `a ${e.kind} engine needs a url` });
    if (e.password !== undefined && e.username === undefined)
      ctx.addIssue({ code: "custom", message: "password is set without username" });
    if (e.allow_private_result_urls !== undefined && e.kind !== "openai")
      ctx.addIssue({ code: "custom", message: "allow_private_result_urls is for openai engines only" });
  });

const money = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const micros = parseMoney(v);
  if (micros === null || micros < 0) {
    ctx.addIssue({ code: "custom", message: "must be an amount like 0.0250" });
    return z.NEVER;
  }
  return micros;
});

const SIZE = /^(\d{2,5})x(\d{2,5})$/;

const RouteSchema = z
  .object({
    engine: z.string().min(1),
    priority: z.number().int().min(0).max(1000).default(1),
    weight: z.number().positive().max(1000).default(1),
    timeout_seconds: z.number().positive().max(86400).optional(),
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

const ModelSchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, { message: "letters, digits and . _ : - only" }),
    aliases: z.array(z.string().min(1)).default([]),
    name: z.string().min(1).optional(),
    status: z.enum(["ga", "preview", "beta"]).default("ga"),
    max_size: z.number().int().min(256).max(8192).default(1024),
    sizes: z
      .array(z.string().regex(SIZE, { message: "must be WIDTHxHEIGHT" }))
      .min(1)
      .optional(),
    price: z.object({ min: money, max: money }).strict(),
    supports_edit: z.boolean().default(true),
    routes: z.array(RouteSchema).min(1),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.price.min > m.price.max)
      ctx.addIssue({ code: "custom", path: ["price"], message: "min is above max" });
    for (const [i, s] of (m.sizes ?? []).entries()) {
      const [w, h] = s.split("x").map(Number) as [number, number];
      if (w > m.max_size || h > m.max_size || w < 64 || h < 64)
        ctx.addIssue({ code: "custom", path: ["sizes", i], message: `${s} is outside 64..max_size` });
    }
  });

const FileSchema = z
  .object({
    engines: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/), EngineSchema).default({}),
    models: z.array(ModelSchema).optional(),
    openai_models: z.record(z.string(), z.string()).default({}),
  })
  .strict();

/** `${NAME}` in any string value is replaced by that environment variable, so secrets stay out of the file. */
function expandEnv(v: unknown, env: NodeJS.ProcessEnv, where: string, problems: string[]): unknown {
  if (typeof v === "string") {
    return v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const value = env[name];
      if (value === undefined) {
        problems.push(`${where}: environment variable ${name} is not set`);
        return "";
      }
      return value;
    });
  }
  if (Array.isArray(v)) return v.map((x, i) => expandEnv(x, env, `${where}[${i}]`, problems));
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, expandEnv(x, env, where ? `${where}.${k}` : k, problems)]),
    );
  }
  return v;
}

/** The setup without a file: API.md's catalog on the built-in engine. */
export function defaultEngineSetup(localConcurrency: number, engineTimeoutMs: number): EngineSetup {
  return {
    engines: [
      { id: "local", kind: "local", concurrency: localConcurrency, timeoutMs: engineTimeoutMs, headers: {} },
    ],
    models: DEFAULT_MODELS,
    openaiModels: {},
  };
}

/**
 * Reads and checks the file. Throws an Error whose message lists every problem, one per line, each with
 * its path in the file (`models[0].routes[1].engine: no engine named "gpu-3"`).
 */
export function loadEngineSetup(
  file: string,
  env: NodeJS.ProcessEnv,
  defaults: { localConcurrency: number; engineTimeoutMs: number },
): EngineSetup {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, {
      cause: err,
    });
  }
  let raw: unknown;
  try {
    raw = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const kind = /\.json$/i.test(file) ? "JSON" : "YAML";
    throw new Error(`${file} is not valid ${kind}: ${(err as Error).message.split("\n")[0]}`, { cause: err });
  }
  const problems: string[] = [];
  const expanded = expandEnv(raw ?? {}, env, "", problems);
  const parsed = FileSchema.safeParse(expanded);
  if (!parsed.success) {
    for (const i of parsed.error.issues) problems.push(`${formatPath(i.path)}: ${i.message}`);
  }
  if (problems.length || !parsed.success) throw new Error(problems.join("\n"));
  const f = parsed.data;

  const engines: EngineInstanceConfig[] = Object.entries(f.engines).map(([id, e]) => ({
    id,
    kind: e.kind,
    url: e.url?.replace(/\/+$/, ""),
    concurrency:
      e.concurrency ?? (e.kind === "local" ? defaults.localConcurrency : DEFAULT_CONCURRENCY[e.kind]),
    timeoutMs:
      (e.timeout_seconds ??
        (e.kind === "local" ? defaults.engineTimeoutMs / 1000 : DEFAULT_ENGINE_TIMEOUT_S)) * 1000,
    username: e.username,
    password: e.password,
    apiKey: e.api_key,
    headers: e.headers ?? {},
    allowPrivateResultUrls: e.allow_private_result_urls,
  }));
  if (!engines.some((e) => e.id === "local") && !f.models) {
    // Without models of its own, the file keeps the default catalog, which the local engine serves.
    engines.push(defaultEngineSetup(defaults.localConcurrency, defaults.engineTimeoutMs).engines[0]!);
  }
  const engineIds = new Set(engines.map((e) => e.id));
  const baseDir = path.dirname(path.resolve(file));
  const models: ModelInfo[] = f.models
    ? f.models.map((m, mi) => ({
        id: m.id,
        aliases: m.aliases,
        name: m.name ?? m.id,
        status: m.status,
        maxSize: m.max_size,
        supportsEdit: m.supports_edit,
        priceMin: m.price.min,
        priceMax: m.price.max,
        created: CREATED,
        sizes: m.sizes,
        routes: m.routes.map((r, ri): ModelRoute => {
          const where = `models[${mi}].routes[${ri}]`;
          if (!engineIds.has(r.engine)) problems.push(`${where}.engine: no engine named "${r.engine}"`);
          return {
            engine: r.engine,
            priority: r.priority,
            weight: r.weight,
            timeoutMs: r.timeout_seconds === undefined ? undefined : r.timeout_seconds * 1000,
            params: loadWorkflowFiles(r.params, baseDir, `${where}.params`, problems),
          };
        }),
      }))
    : DEFAULT_MODELS;
  const names = new Set<string>();
  for (const [mi, m] of models.entries()) {
    for (const n of [m.id, ...m.aliases]) {
      if (names.has(n)) problems.push(`models[${mi}]: the name "${n}" is used twice`);
      names.add(n);
    }
  }
  for (const [name, target] of Object.entries(f.openai_models)) {
    if (!names.has(target)) problems.push(`openai_models.${name}: no model named "${target}"`);
  }
  if (problems.length) throw new Error(problems.join("\n"));
  return { engines, models, openaiModels: f.openai_models };
}

/** `workflow_file: ./x.json` (and `edit_workflow_file`, ...) become the parsed graph under `workflow`. */
function loadWorkflowFiles(
  params: Record<string, unknown>,
  baseDir: string,
  where: string,
  problems: string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    const m = /^(.*workflow)_file$/.exec(k);
    if (!m) {
      out[k] = v;
      continue;
    }
    if (typeof v !== "string") {
      problems.push(`${where}.${k}: must be a file path`);
      continue;
    }
    try {
      out[m[1]!] = JSON.parse(readFileSync(path.resolve(baseDir, v), "utf8")) as unknown;
    } catch (err) {
      problems.push(`${where}.${k}: cannot load ${v} as JSON (${(err as Error).message.split("\n")[0]})`);
    }
  }
  return out;
}

function formatPath(p: PropertyKey[]): string {
  let out = "";
  for (const k of p) out += typeof k === "number" ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out || "(top level)";
}
