import { ConfigError, loadConfig, type Config } from "./config.js";
import { startServer } from "./server.js";
import { banner, ensureDemoTenant } from "./bootstrap.js";

/**
 * Runs the server as a process: `npm start` and `zekron serve` both come here. Reads the settings (a bad one
 * exits 2 with one line per problem), starts, prints the banner, and on SIGTERM or SIGINT stops accepting,
 * lets the work in hand finish and exits 0 (1 if that fails or takes over 30 s).
 */
export async function runServer(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.lines.join("\n") + "\n");
      process.exit(2);
    }
    throw err;
  }
  const server = await startServer(config);
  const { services } = server;
  const demo = await ensureDemoTenant(services);
  const shownUrl = config.publicUrl ?? server.url.replace("127.0.0.1", "localhost");
  process.stdout.write(
    banner(
      shownUrl,
      services.secrets.adminToken,
      demo,
      services.secrets.generatedAdminToken || demo !== null,
    ),
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    services.log.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      services.log.error("shutdown did not finish in 30 s: exiting; the next start recovers the jobs left");
      process.exit(1);
    }, 30_000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        services.log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

export function startFailed(err: unknown): never {
  // A setting found bad only when used (a directory that cannot be made, a database that refuses the
  // URL's role, another master key): its one line, and the exit code of a bad setting.
  if (err instanceof ConfigError) {
    process.stderr.write(err.lines.join("\n") + "\n");
    process.exit(2);
  }
  process.stderr.write(`Zekron failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
