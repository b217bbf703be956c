import type { FastifyInstance } from "fastify";
import type { Services } from "../../services.js";
import { formatMoney } from "../../domain/money.js";
import { routeSchema } from "../schemas/fastify.js";
import { modelOps } from "../schemas/models.js";

/** GET /v1/models: OpenAI's list shape plus what a client needs to choose and price a model. */
export function modelRoutes(app: FastifyInstance, s: Services): void {
  const body = {
    object: "list",
    data: s.catalog.models.map((m) => ({
      id: m.id,
      object: "model",
      created: m.created,
      owned_by: "zekron",
      name: m.name,
      aliases: m.aliases,
      status: m.status,
      sizes: s.catalog.sizes(m),
      max_size: `${m.maxSize}x${m.maxSize}`,
      supports_edit: m.supportsEdit,
      price: { min: formatMoney(m.priceMin), max: formatMoney(m.priceMax) },
    })),
  };
  app.get(
    "/v1/models",
    { schema: routeSchema(modelOps.list), config: { auth: "key", scope: "read" } },
    async () => body,
  );
}
