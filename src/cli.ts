#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  JOB_STATUSES,
  ZekronClient,
  ZekronError,
  isTerminal,
  type ImageInput,
  type Job,
} from "./client/index.js";
import { KEY_SCOPES, type KeyScope } from "./domain/apikeys.js";

const EXIT = { ok: 0, api: 1, usage: 2, auth: 3, job: 4, connect: 5 } as const;
const DEFAULT_URL = "http://localhost:8080";

class UsageError extends Error {
  constructor(
    message: string,
    readonly helpFor?: string,
  ) {
    super(message);
  }
}

/** Every option of every command; each command lists those it takes, so a misplaced one is a usage error. */
const OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  json: { type: "boolean" },
  url: { type: "string" },
  key: { type: "string" },
  "admin-token": { type: "string" },
  name: { type: "string" },
  balance: { type: "string" },
  reason: { type: "string" },
  scopes: { type: "string" },
  "expires-at": { type: "string" },
  status: { type: "string" },
  limit: { type: "string" },
  offset: { type: "string" },
  cursor: { type: "string" },
  output: { type: "string", short: "o" },
  size: { type: "string" },
  model: { type: "string" },
  image: { type: "string", multiple: true },
  seed: { type: "string" },
  format: { type: "string" },
  negative: { type: "string" },
} as const;

type OptionName = keyof typeof OPTIONS;
type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

interface Context {
  values: Values;
  args: string[];
  out: (text: string) => void;
  err: (text: string) => void;
}

interface Command {
  /** "gen", "jobs list", ... */
  name: string;
  /** Positional arguments: at least, at most. */
  args: [number, number];
  options: OptionName[];
  summary: string;
  help: string;
  run(ctx: Context): Promise<number>;
}

const API = ["url", "key"] as const satisfies OptionName[];
const ADMIN = ["url", "admin-token"] as const satisfies OptionName[];

const CONNECTION_HELP = `
Connection:
  --url <url>          the server (ZEKRON_URL; ${DEFAULT_URL} by default)`;
const KEY_HELP = `${CONNECTION_HELP}
  --key <key>          an API key (ZEKRON_API_KEY)`;
const ADMIN_HELP = `${CONNECTION_HELP}
  --admin-token <t>    the server's admin token (ZEKRON_ADMIN_TOKEN)`;

const TOP_HELP = `zekron: the Zekron image-generation API from the command line

Usage: zekron <command> [options]

Commands:
  serve                          start the server (settings from the environment, as \`npm start\`)
  migrate                        apply the database migrations and exit
  gen "<prompt>"                 generate an image as a job, follow it live and save it
  jobs list | get | cancel       your jobs
  keys list | create | revoke    your API keys
  tenants list | create | credit tenants (with the admin token)

Options of the commands that call the API:
  --url <url>          the server (ZEKRON_URL; ${DEFAULT_URL} by default)
  --key <key>          an API key (ZEKRON_API_KEY)
  --admin-token <t>    the admin token, for \`tenants\` (ZEKRON_ADMIN_TOKEN)
  --json               machine-readable JSON on stdout (listings, get, create, gen)
  -h, --help           this help; \`zekron <command> --help\` for a command's own
  --version            the version

Exit codes:
  0  success
  1  API or server error (the message, its error code and reference on stderr)
  2  usage error (unknown command or option, missing or bad argument)
  3  authentication error (401 or 403: missing, invalid, revoked or suspended key, or a scope it lacks)
  4  the job failed, was blocked or was canceled
  5  cannot connect to the server

Examples:
  export ZEKRON_URL=http://localhost:8080 ZEKRON_API_KEY=zk_live_...
  zekron gen "A lighthouse on a cliff at dawn" --size 1024x768 -o lighthouse.png
  zekron jobs list --status completed --json
`;

const GROUPS: Record<string, string> = {
  jobs: `Usage: zekron jobs <list | get | cancel> [options]

  list                 your jobs, newest first
  get <job-id>         one job: status, progress, cost, result URL
  cancel <job-id>      cancel a queued or running job (refunded), or purge a finished job's image

Run \`zekron jobs <subcommand> --help\` for its options.
`,
  keys: `Usage: zekron keys <list | create | revoke> [options]

  list                 this account's API keys (prefix and last 4 characters)
  create               a new key (shown once), with the \`keys\` scope
  revoke <key-id>      revoke a key at once

Run \`zekron keys <subcommand> --help\` for its options.
`,
  tenants: `Usage: zekron tenants <list | create | credit> [options]

  list                 every tenant with its balance and limits
  create               a tenant with a balance, and its first API key (shown once)
  credit <id> <amount> a top-up, or a correction with a negative amount

These use the admin routes: pass --admin-token or set ZEKRON_ADMIN_TOKEN.
Run \`zekron tenants <subcommand> --help\` for its options.
`,
};

const COMMANDS: Command[] = [
  {
    name: "serve",
    args: [0, 0],
    options: [],
    summary: "start the server",
    help: `Usage: zekron serve

Starts the server exactly as \`npm start\` does, with its settings from the environment (PORT, HOST,
ZEKRON_DATA_DIR, DATABASE_URL, ZEKRON_ADMIN_TOKEN, ZEKRON_CONFIG, ...; see the README's Configuration).
A bad setting stops it with exit code 2. SIGTERM or Ctrl-C stops it after the work in hand.
`,
    run: serve,
  },
  {
    name: "migrate",
    args: [0, 0],
    options: [],
    summary: "apply the database migrations",
    help: `Usage: zekron migrate

Applies the database migrations to DATABASE_URL (PostgreSQL) or to the SQLite database in ZEKRON_DATA_DIR,
and exits. The server also applies them at start; this is for deploying the schema first.
`,
    run: migrateCommand,
  },
  {
    name: "gen",
    args: [1, 1],
    options: [...API, "json", "output", "size", "model", "image", "seed", "format", "negative"],
    summary: "generate an image",
    help: `Usage: zekron gen "<prompt>" [options]

Submits a job (POST /v1/images/generate), follows it live (a progress bar on stderr when it is a terminal,
plain lines otherwise), then downloads the image and saves it.

Options:
  -o, --output <file>  where to save it ("-" for stdout); <job id>.<format> by default
  --size <WxH>         e.g. 1024x768 (multiples of 8 from 256 to the model's max); 1024x1024 by default
  --model <model>      a model id or alias (zekron models: GET /v1/models); zekron-image-1 by default
  --image <file>       a source image (PNG, JPEG or WebP) to edit; twice to combine two
  --seed <n>           the same prompt, size and seed give the same image
  --format <f>         png (default), jpeg or webp
  --negative <text>    what to keep out of the image
  --json               print the finished job, with "file", as JSON on stdout
${KEY_HELP}

Exit code 4 when the job fails, is blocked or is canceled. Ctrl-C stops following; the job goes on.
`,
    run: gen,
  },
  {
    name: "jobs list",
    args: [0, 0],
    options: [...API, "json", "status", "limit", "cursor"],
    summary: "list jobs",
    help: `Usage: zekron jobs list [--status <status>] [--limit <n>] [--cursor <cursor>] [--json]

Your jobs, newest first.

Options:
  --status <status>    queued, running, completed, failed, blocked or canceled
  --limit <n>          1 to 100; 20 by default
  --cursor <cursor>    the next page: the cursor printed after a full page (next_cursor in --json)
  --json               the page as JSON ({"object":"list","data":[...],"has_more","next_cursor"})
${KEY_HELP}
`,
    run: jobsList,
  },
  {
    name: "jobs get",
    args: [1, 1],
    options: [...API, "json"],
    summary: "show a job",
    help: `Usage: zekron jobs get <job-id> [--json]

One job: status, progress, cost, and when completed its signed result URL.
${KEY_HELP}
`,
    run: jobsGet,
  },
  {
    name: "jobs cancel",
    args: [1, 1],
    options: [...API],
    summary: "cancel a job",
    help: `Usage: zekron jobs cancel <job-id>

Cancels a queued or running job (its hold is refunded), or deletes a finished job's image.
${KEY_HELP}
`,
    run: jobsCancel,
  },
  {
    name: "keys list",
    args: [0, 0],
    options: [...API, "json"],
    summary: "list API keys",
    help: `Usage: zekron keys list [--json]

This account's API keys, newest first, revoked ones included. Needs a key with the \`keys\` scope.
${KEY_HELP}
`,
    run: keysList,
  },
  {
    name: "keys create",
    args: [0, 0],
    options: [...API, "json", "name", "scopes", "expires-at"],
    summary: "create an API key",
    help: `Usage: zekron keys create [--name <name>] [--scopes a,b] [--expires-at <time>] [--json]

Creates an API key for this account and prints it: it is shown this once.

Options:
  --name <name>        a label; "default" by default
  --scopes <list>      comma-separated, of generate, read, keys, webhooks; all of the calling key's by default
  --expires-at <time>  ISO 8601 with an offset, e.g. 2027-01-01T00:00:00+00:00; never by default
  --json               the answer as JSON ({"api_key","key":{...}})
${KEY_HELP}
`,
    run: keysCreate,
  },
  {
    name: "keys revoke",
    args: [1, 1],
    options: [...API],
    summary: "revoke an API key",
    help: `Usage: zekron keys revoke <key-id>

Revokes a key of this account at once.
${KEY_HELP}
`,
    run: keysRevoke,
  },
  {
    name: "tenants list",
    args: [0, 0],
    options: [...ADMIN, "json", "limit", "offset"],
    summary: "list tenants",
    help: `Usage: zekron tenants list [--limit <n>] [--offset <n>] [--json]

Every tenant, with balance, spend and limits.

Options:
  --limit <n>          1 to 100; 50 by default
  --offset <n>         tenants to skip
  --json               {"tenants":[...],"pagination":{...}}
${ADMIN_HELP}
`,
    run: tenantsList,
  },
  {
    name: "tenants create",
    args: [0, 0],
    options: [...ADMIN, "json", "name", "balance"],
    summary: "create a tenant",
    help: `Usage: zekron tenants create --name <name> [--balance <amount>] [--json]

Creates a tenant and its first API key, printed this once.

Options:
  --name <name>        required
  --balance <amount>   the starting balance in dollars, e.g. 10.00; 0 by default
  --json               the answer as JSON ({"tenant":{...},"api_key","key":{...}})
${ADMIN_HELP}
`,
    run: tenantsCreate,
  },
  {
    name: "tenants credit",
    args: [2, 2],
    options: [...ADMIN, "json", "reason"],
    summary: "credit a tenant",
    help: `Usage: zekron tenants credit <tenant-id> <amount> [--reason <text>] [--json]

Adds the amount (dollars, e.g. 5.00) to the tenant's balance; a negative amount (-1.25) corrects it.
Ledgered with the reason ("top-up" or "correction" by default).
${ADMIN_HELP}
`,
    run: tenantsCredit,
  },
];

// ---- Parsing --------------------------------------------------------------------------------------------

// parseArgs reads "-1.25" as a short option; an argument that is a negative number is kept aside under a
// placeholder and put back after parsing, so that `tenants credit ten_x -1.25` works.
const NEGATIVE = /^-\d+(\.\d+)?$/;
const PLACEHOLDER = "\u0000neg:";

function parse(argv: string[]) {
  const shielded = argv.map((a) => (NEGATIVE.test(a) ? PLACEHOLDER + a : a));
  let parsed;
  try {
    parsed = parseArgs({ args: shielded, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
  const restore = (v: string) => (v.startsWith(PLACEHOLDER) ? v.slice(PLACEHOLDER.length) : v);
  const values = parsed.values as Record<string, unknown>;
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === "string") values[k] = restore(v);
    else if (Array.isArray(v)) values[k] = v.map((x: string) => restore(x));
  }
  return { values: parsed.values, positionals: parsed.positionals.map(restore) };
}

async function main(argv: string[]): Promise<number> {
  const out = (text: string) => void process.stdout.write(text);
  const err = (text: string) => void process.stderr.write(text);
  let helpFor: string | undefined;
  try {
    const { values, positionals } = parse(argv);
    const [first, second] = positionals;
    if (first === "help") {
      out(helpOf(positionals.slice(1).join(" ")));
      return EXIT.ok;
    }
    if (values.version && !first) {
      out(`${version()}\n`);
      return EXIT.ok;
    }
    if (!first) {
      if (values.help) {
        out(TOP_HELP);
        return EXIT.ok;
      }
      err(TOP_HELP);
      return EXIT.usage;
    }
    const group = GROUPS[first];
    const name = group ? `${first} ${second ?? ""}`.trim() : first;
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) {
      if (group && !second) {
        if (values.help) {
          out(group);
          return EXIT.ok;
        }
        err(group);
        return EXIT.usage;
      }
      helpFor = group ? first : undefined;
      throw new UsageError(
        group ? `Unknown subcommand: ${first} ${second}` : `Unknown command: ${first}`,
        helpFor,
      );
    }
    helpFor = command.name;
    if (values.help) {
      out(command.help);
      return EXIT.ok;
    }
    for (const option of Object.keys(values) as OptionName[]) {
      if (!command.options.includes(option))
        throw new UsageError(`zekron ${command.name} does not take --${option}`, helpFor);
    }
    const args = positionals.slice(group ? 2 : 1);
    const [min, max] = command.args;
    if (args.length < min) throw new UsageError(`zekron ${command.name}: missing argument`, helpFor);
    if (args.length > max)
      throw new UsageError(
        `zekron ${command.name}: unexpected argument ${JSON.stringify(args[max])}`,
        helpFor,
      );
    return await command.run({ values, args, out, err });
  } catch (e) {
    return report(e, err, helpFor);
  }
}

function helpOf(name: string): string {
  if (!name) return TOP_HELP;
  const command = COMMANDS.find((c) => c.name === name);
  if (command) return command.help;
  if (GROUPS[name]) return GROUPS[name];
  throw new UsageError(`No help for ${JSON.stringify(name)}: no such command`);
}

function report(e: unknown, err: (text: string) => void, helpFor?: string): number {
  if (e instanceof UsageError) {
    err(`zekron: ${e.message}\n`);
    err(`Run \`zekron ${e.helpFor ?? helpFor ?? ""} --help\`.\n`.replace("  ", " "));
    return EXIT.usage;
  }
  if (e instanceof ZekronError) {
    if (e.isConnectionError) {
      err(`zekron: ${e.message}\n`);
      return EXIT.connect;
    }
    const ref = e.reference ? `, reference ${e.reference}` : e.requestId ? `, request id ${e.requestId}` : "";
    err(`zekron: ${e.message} [${e.code}${ref}]\n`);
    if (e.suggestion) err(`hint: ${e.suggestion}\n`);
    return e.isAuthError ? EXIT.auth : EXIT.api;
  }
  err(`zekron: ${e instanceof Error ? e.message : String(e)}\n`);
  return EXIT.api;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

// ---- Shared -----------------------------------------------------------------------------------------------

function client(values: Values, auth: "key" | "admin"): ZekronClient {
  const baseUrl = values.url ?? env("ZEKRON_URL") ?? DEFAULT_URL;
  const apiKey = values.key ?? env("ZEKRON_API_KEY");
  const adminToken = values["admin-token"] ?? env("ZEKRON_ADMIN_TOKEN");
  if (auth === "key" && !apiKey) throw new CredentialsMissing("No API key: pass --key or set ZEKRON_API_KEY");
  if (auth === "admin" && !adminToken)
    throw new CredentialsMissing("No admin token: pass --admin-token or set ZEKRON_ADMIN_TOKEN");
  try {
    return new ZekronClient({
      baseUrl,
      apiKey,
      adminToken,
      onRetry: (r) =>
        process.stderr.write(
          `zekron: ${r.error.status ? `${r.error.status} ${r.error.code}` : r.error.message}; ` +
            `retrying in ${(r.delayMs / 1000).toFixed(1)}s\n`,
        ),
    });
  } catch (e) {
    throw new UsageError(`--url: ${(e as Error).message}`);
  }
}

/** A missing key or token is an authentication error (exit 3), told before any request is made. */
class CredentialsMissing extends ZekronError {
  constructor(message: string) {
    super({ status: 401, code: "unauthorized", message });
  }
}

function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === "" ? undefined : v;
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

function intOption(values: Values, name: "limit" | "offset" | "seed", min: number, max: number) {
  const v = values[name];
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return Number(v);
}

function table(header: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? "-" : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

// ---- serve, migrate -------------------------------------------------------------------------------------

async function serve(): Promise<number> {
  // Loaded here only: the API commands stay free of the server's modules (database drivers, sharp).
  const { runServer, startFailed } = await import("./run.js");
  await runServer().catch(startFailed);
  // The server runs until a signal; runServer exits the process then.
  return new Promise<number>(() => undefined);
}

async function migrateCommand({ out, err }: Context): Promise<number> {
  const { ConfigError, loadConfig } = await import("./config.js");
  const { openDatabase, migrate } = await import("./db/connect.js");
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.lines.join("\n") + "\n");
      return EXIT.usage;
    }
    throw e;
  }
  const where = config.databaseUrl
    ? `PostgreSQL at ${new URL(config.databaseUrl).host}`
    : `SQLite at ${path.join(config.dataDir, "zekron.db")}`;
  const db = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(db);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    err(`zekron: ${message}\n`);
    // migrate() wraps the driver's error into its message; a refused or unroutable connection is exit 5.
    return /\b(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT)\b/.test(message) ? EXIT.connect : EXIT.api;
  } finally {
    await db.close();
  }
  out(`Migrations applied: the database (${where}) is at the latest schema.\n`);
  return EXIT.ok;
}

// ---- gen ----------------------------------------------------------------------------------------------

const FORMATS: Record<string, "png" | "jpeg" | "webp"> = {
  png: "png",
  jpeg: "jpeg",
  jpg: "jpeg",
  webp: "webp",
};
const EXTENSIONS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp" };

async function gen({ values, args, out, err }: Context): Promise<number> {
  const prompt = args[0]!;
  let width: number | undefined;
  let height: number | undefined;
  if (values.size !== undefined) {
    const m = /^(\d{1,5})x(\d{1,5})$/.exec(values.size);
    if (!m) throw new UsageError("--size must be WIDTHxHEIGHT, e.g. 1024x768");
    width = Number(m[1]);
    height = Number(m[2]);
  }
  const format = values.format === undefined ? undefined : FORMATS[values.format.toLowerCase()];
  if (values.format !== undefined && !format) throw new UsageError("--format must be png, jpeg or webp");
  const seed = intOption(values, "seed", 0, 2 ** 32 - 1);
  const files = values.image ?? [];
  if (files.length > 2) throw new UsageError("--image can be given at most twice");
  const images: ImageInput[] = [];
  for (const file of files) {
    try {
      images.push(await readFile(file));
    } catch (e) {
      throw new UsageError(`cannot read --image ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
  }
  const api = client(values, "key");

  const accepted = await api.submitJob({
    prompt,
    width,
    height,
    model: values.model,
    seed,
    output_format: format,
    negative_prompt: values.negative,
    images: images.length > 0 ? images : undefined,
  });
  const id = accepted.job_id;
  const progress = new Progress(id, process.stderr);
  const interrupted = () => {
    progress.end();
    err(`\nzekron: stopped following ${id}; the job goes on (zekron jobs get ${id})\n`);
    process.exit(130);
  };
  process.once("SIGINT", interrupted);
  let job: Job;
  try {
    job = await api.waitForJob(id, { onUpdate: (j) => progress.update(j) });
  } finally {
    process.off("SIGINT", interrupted);
    progress.end();
  }

  if (job.status !== "completed") {
    const why = job.error ? `: ${job.error}${job.error_code ? ` [${job.error_code}]` : ""}` : "";
    err(`zekron: job ${id} ${job.status}${why}\n`);
    if (values.json) out(json(job));
    return EXIT.job;
  }
  if (!job.result_url) {
    err(`zekron: job ${id} completed, but its image is no longer kept\n`);
    return EXIT.api;
  }
  const bytes = await api.getImage(job.result_url);
  const ext = EXTENSIONS[job.mime_type ?? ""] ?? (format === "jpeg" ? "jpg" : (format ?? "png"));
  const file = values.output ?? `${id}.${ext}`;
  if (file === "-") {
    process.stdout.write(bytes);
  } else {
    await writeFile(file, bytes);
  }
  if (values.json) {
    if (file !== "-") out(json({ ...job, file }));
  } else if (file !== "-") {
    out(`Saved ${file} (${job.size}, ${job.model}, seed ${job.seed}, cost ${job.cost})\n`);
  }
  return EXIT.ok;
}

/** The job's state on stderr: a bar redrawn in place on a terminal, otherwise a plain line per change. */
class Progress {
  private readonly started = Date.now();
  private readonly tty: boolean;
  private drawn = false;
  private lastLine = "";

  constructor(
    private readonly id: string,
    private readonly stream: NodeJS.WriteStream,
  ) {
    this.tty = stream.isTTY === true;
  }

  update(job: Job) {
    const pct = Math.round((job.status === "completed" ? 1 : job.progress) * 100);
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    if (!this.tty) {
      const line = `${this.id} ${job.status}${isTerminal(job.status) ? "" : ` ${pct}%`}`;
      if (line !== this.lastLine) this.stream.write(line + "\n");
      this.lastLine = line;
      return;
    }
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    this.stream.write(`\r\x1b[2K${this.id}  [${bar}] ${String(pct).padStart(3)}%  ${job.status}  ${secs}s`);
    this.drawn = true;
  }

  end() {
    if (this.drawn) this.stream.write("\n");
    this.drawn = false;
  }
}

// ---- jobs -----------------------------------------------------------------------------------------------

async function jobsList({ values, out, err }: Context): Promise<number> {
  const status = values.status;
  if (status !== undefined && !(JOB_STATUSES as readonly string[]).includes(status))
    throw new UsageError(`--status must be one of ${JOB_STATUSES.join(", ")}`);
  const page = await client(values, "key").listJobs({
    status: status as Job["status"] | undefined,
    limit: intOption(values, "limit", 1, 100),
    cursor: values.cursor,
  });
  if (values.json) {
    out(json(page));
    return EXIT.ok;
  }
  if (page.data.length === 0) {
    err("No jobs.\n");
    return EXIT.ok;
  }
  out(
    table(
      ["JOB", "STATUS", "PROGRESS", "MODEL", "SIZE", "COST", "CREATED"],
      page.data.map((j) => [
        j.job_id,
        j.status,
        `${Math.round(j.progress * 100)}%`,
        j.model,
        j.size,
        j.cost,
        j.created_at,
      ]),
    ),
  );
  if (page.has_more && page.next_cursor) err(`More: zekron jobs list --cursor ${page.next_cursor}\n`);
  return EXIT.ok;
}

async function jobsGet({ values, args, out }: Context): Promise<number> {
  const job = await client(values, "key").getJob(args[0]!);
  if (values.json) {
    out(json(job));
    return EXIT.ok;
  }
  const rows: [string, unknown][] = [
    ["job", job.job_id],
    ["status", job.status],
    ["progress", `${Math.round(job.progress * 100)}%`],
    ["model", job.model],
    ["size", job.size],
    ["seed", job.seed],
    ["cost", job.cost],
    ["created", job.created_at],
    ["started", job.started_at],
    ["finished", job.finished_at],
    ["result", job.result_url],
    ["expires in", job.expires_in === undefined ? undefined : `${job.expires_in}s`],
    ["error", job.error ? `${job.error}${job.error_code ? ` [${job.error_code}]` : ""}` : undefined],
  ];
  out(
    rows
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `${`${k}:`.padEnd(12)}${String(v)}\n`)
      .join(""),
  );
  return EXIT.ok;
}

async function jobsCancel({ values, args, out }: Context): Promise<number> {
  const api = client(values, "key");
  const id = args[0]!;
  // Only to word the answer; a key without the `read` scope can still cancel.
  const before = await api.getJob(id).catch(() => undefined);
  await api.cancelJob(id);
  if (!before) out(`Canceled ${id} (or, if it had finished, deleted its image).\n`);
  else if (isTerminal(before.status)) out(`Deleted the image of ${id} (${before.status}).\n`);
  else out(`Canceled ${id}; its hold of ${before.cost} is refunded.\n`);
  return EXIT.ok;
}

// ---- keys -----------------------------------------------------------------------------------------------

async function keysList({ values, out, err }: Context): Promise<number> {
  const keys = await client(values, "key").keys.list();
  if (values.json) {
    out(json(keys));
    return EXIT.ok;
  }
  if (keys.length === 0) err("No keys.\n");
  else
    out(
      table(
        ["ID", "NAME", "KEY", "SCOPES", "CREATED", "EXPIRES", "REVOKED"],
        keys.map((k) => [
          k.id,
          k.name,
          k.display,
          k.scopes.join(","),
          k.created_at,
          k.expires_at,
          k.revoked_at,
        ]),
      ),
    );
  return EXIT.ok;
}

async function keysCreate({ values, out }: Context): Promise<number> {
  const scopes = values.scopes?.split(",").map((s) => s.trim());
  if (scopes && scopes.some((s) => !(KEY_SCOPES as readonly string[]).includes(s)))
    throw new UsageError(`--scopes is a comma-separated list of ${KEY_SCOPES.join(", ")}`);
  const created = await client(values, "key").keys.create({
    name: values.name,
    scopes: scopes as KeyScope[] | undefined,
    expires_at: values["expires-at"],
  });
  if (values.json) {
    out(json(created));
    return EXIT.ok;
  }
  const k = created.key;
  out(
    `Created key ${k.id} "${k.name}" (scopes ${k.scopes.join(",")}; expires ${k.expires_at ?? "never"}).\n` +
      `API key (shown once): ${created.api_key}\n`,
  );
  return EXIT.ok;
}

async function keysRevoke({ values, args, out }: Context): Promise<number> {
  await client(values, "key").keys.revoke(args[0]!);
  out(`Revoked ${args[0]}.\n`);
  return EXIT.ok;
}

// ---- tenants --------------------------------------------------------------------------------------------

async function tenantsList({ values, out, err }: Context): Promise<number> {
  const page = await client(values, "admin").admin.tenants.list({
    limit: intOption(values, "limit", 1, 100),
    offset: intOption(values, "offset", 0, 1_000_000_000),
  });
  if (values.json) {
    out(json(page));
    return EXIT.ok;
  }
  if (page.tenants.length === 0) err("No tenants.\n");
  else
    out(
      table(
        [
          "ID",
          "NAME",
          "BALANCE",
          "HELD",
          "SPENT",
          "IMAGES",
          "RATE/MIN",
          "CONCURRENT",
          "SUSPENDED",
          "CREATED",
        ],
        page.tenants.map((t) => [
          t.id,
          t.name,
          t.balance,
          t.held,
          t.total_spent,
          t.total_generations,
          t.rate_limit_per_minute ?? "default",
          t.max_concurrent ?? "default",
          t.suspended ? "yes" : "no",
          t.created_at,
        ]),
      ),
    );
  const { total, offset } = page.pagination;
  if (page.pagination.has_more)
    err(`${total} tenants; more: zekron tenants list --offset ${offset + page.tenants.length}\n`);
  return EXIT.ok;
}

async function tenantsCreate({ values, out }: Context): Promise<number> {
  if (!values.name) throw new UsageError("--name is required");
  if (values.balance !== undefined && !/^\d{1,9}(\.\d{1,6})?$/.test(values.balance))
    throw new UsageError("--balance must be an amount in dollars, e.g. 10.00");
  const created = await client(values, "admin").admin.tenants.create({
    name: values.name,
    balance: values.balance,
  });
  if (values.json) {
    out(json(created));
    return EXIT.ok;
  }
  out(
    `Created tenant ${created.tenant.id} "${created.tenant.name}" with a balance of ${created.tenant.balance}.\n` +
      `API key (shown once): ${created.api_key}\n`,
  );
  return EXIT.ok;
}

async function tenantsCredit({ values, args, out }: Context): Promise<number> {
  const [id, amount] = args as [string, string];
  if (!/^-?\d{1,9}(\.\d{1,6})?$/.test(amount) || Number(amount) === 0)
    throw new UsageError("<amount> must be a non-zero amount in dollars, e.g. 5.00 or -1.25");
  const done = await client(values, "admin").admin.tenants.credit(id, amount, values.reason);
  if (values.json) out(json(done));
  else
    out(`Credited ${done.amount} to ${done.tenant_id} (${done.reason}); the balance is ${done.balance}.\n`);
  return EXIT.ok;
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
