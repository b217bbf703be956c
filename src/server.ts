import type { Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
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
// Below the 30 s after which `run.ts` exits regardless, so that the jobs in hand get the rest.
const DRAIN_MS = 20_000;

export interface StartOptions extends ServiceOptions {
  /** How long `close()` waits for in-flight responses before cutting their connections (default 20 s). */
  drainMs?: number;
}

/** Builds the services and the app, recovers jobs, starts the workers and the sweeper, and listens. */
export async function startServer(config: Config, opts: StartOptions = {}): Promise<RunningServer> {
  const services = await createServices(config, opts);
  const drainMs = opts.drainMs ?? DRAIN_MS;
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
        // Stop accepting, let in-flight requests finish (see drainGently), then let the workers finish
        // the jobs in hand. A request that outlasts the drain time (a long sync generation, a client that
        // stopped reading) has its connection cut; its job goes on, and lands in history or is refunded.
        drainGently(app.server);
        const cut = setTimeout(() => {
          app.server.getConnections((_err, open) => {
            services.log.warn({ open, drainMs }, "shutdown: cutting the connections still open");
            app.server.closeAllConnections();
          });
        }, drainMs);
        try {
          await app.close();
        } finally {
          clearTimeout(cut);
        }
        await services.close();
      })();
      return closing;
    },
  };
}

/** Node's (internal) list of an HTTP server's connections. */
interface ConnectionList {
  all(): { socket: Socket }[];
  idle(): { socket: Socket }[];
}

/**
 * Mends to Node's close for the answers still in flight, so that each connection closes once its answer
 * has gone out, and not before:
 * - an answer not yet begun is sent with `Connection: close`, so that its client does not reuse a
 *   connection about to go;
 * - a connection whose answer finishes later closes about a second after it: Node reads the keep-alive time
 *   as each answer finishes (at Fastify's 72 s, such a connection held the close);
 * - Node's `server.close()` destroys every idle connection at once, including one whose answer has ended
 *   but is still being written out (a large image to a slow reader), which cut that answer short: those
 *   are spared, and close by the keep-alive time above once their answer is out;
 * - it leaves a connection that has not sent a request yet, which then held the close: those go too.
 * Node keeps its list of connections under a symbol; where it is not found, only the keep-alive mend
 * applies.
 */
function drainGently(server: Server): void {
  server.keepAliveTimeout = 1;
  const key = Object.getOwnPropertySymbols(server).find((k) => k.description === "http.server.connections");
  const list = key && (server as unknown as Record<symbol, ConnectionList | undefined>)[key];
  if (typeof list?.all !== "function" || typeof list.idle !== "function") return;
  const answerOf = (socket: Socket) =>
    (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  for (const { socket } of list.all()) {
    const answer = answerOf(socket);
    if (answer && !answer.headersSent) answer.setHeader("Connection", "close");
  }
  server.closeIdleConnections = () => {
    const idle = new Set(list.idle().map((c) => c.socket));
    for (const { socket } of list.all()) {
      const answer = answerOf(socket);
      // Idle between two requests, or open without a byte of a request yet: Node counts the latter as
      // active, and it held the close until its client gave up on it (undici: after 4 s).
      const waiting = idle.has(socket) || (socket.bytesRead === 0 && !answer);
      if (!waiting || (answer && !answer.writableFinished)) continue;
      socket.destroy();
    }
  };
}
