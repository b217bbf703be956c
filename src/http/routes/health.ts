import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { Services } from "../../services.js";
import { routeSchemas } from "../schemas/fastify.js";
import { healthOps } from "../schemas/health.js";

export function healthRoutes(app: FastifyInstance, s: Services): void {
  const doc = routeSchemas(healthOps);
  app.get("/healthz", { schema: doc.healthz }, async () => ({ status: "ok" }));

  app.get("/readyz", { schema: doc.readyz }, async (req, reply) => {
    const checks: Record<string, string> = {};
    const probe = async (name: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
        checks[name] = "ok";
      } catch (err) {
        // The route needs no key: why a check failed (paths, hosts, driver messages) is for the log only.
        checks[name] = "error";
        req.log.error({ err, check: name }, "readiness check failed");
      }
    };
    await Promise.all([
      probe("database", () => sql`select 1`.execute(s.db.kysely)),
      probe("storage", () => s.store.ping()),
      probe("queue", async () => ({ depth: s.queue.depth() })),
    ]);
    const ready = Object.values(checks).every((v) => v === "ok");
    return reply.code(ready ? 200 : 503).send({
      status: ready ? "ready" : "not_ready",
      checks,
      queue: { depth: s.queue.depth(), running: s.queue.running() },
    });
  });
}
