import type { FastifyInstance } from "fastify";
import type { Config } from "./config.js";
import { createServices, type ServiceOptions, type Services } from "./services.js";
import { buildApp } from "./http/app.js";

export interface RunningServer {
  app: FastifyInstance;
  services: Services;
  url: string;
  close(): Promise<void>;
}

const SWEEP_EVERY_MS = 60_000;

/** Builds the services and the app, recovers jobs, starts the workers and the sweeper, and listens. */
export async function startServer(config: Config, opts: ServiceOptions = {}): Promise<RunningServer> {
  const services = await createServices(config, opts);
  const app = buildApp(services);
  let sweeper: NodeJS.Timeout | undefined;
  let address: string;
  try {
    await services.jobs.recover();
    services.router.start();
    services.jobs.start();
    services.webhooks.start();
    const sweep = () =>
      services.images.sweep().catch((err: unknown) => services.log.error({ err }, "image sweep failed"));
    void sweep();
    sweeper = setInterval(sweep, SWEEP_EVERY_MS);
    sweeper.unref();
    address = await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    // A start that fails (the port taken, say) lets go of what it opened, the database lock included.
    clearInterval(sweeper);
    await app.close().catch(() => undefined);
    await services.close().catch(() => undefined);
    throw err;
  }
  const url = address.replace("0.0.0.0", "127.0.0.1").replace("[::]", "127.0.0.1");
  services.runtime.listenUrl = url.replace(
    "127.0.0.1",
    config.host === "0.0.0.0" ? "localhost" : "127.0.0.1",
  );
  let closing: Promise<void> | undefined;
  return {
    app,
    services,
    url,
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        // Stop accepting, let in-flight requests finish, then let the workers finish the jobs in hand.
        await app.close();
        await services.close();
      })();
      return closing;
    },
  };
}
