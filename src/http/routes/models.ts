import type { FastifyInstance } from "fastify";
import type { Services } from "../../services.js";
import { formatMoney } from "../../domain/money.js";
import { ApiError } from "../../errors.js";
import { routeSchema } from "../schemas/fastify.js";
import { modelOps } from "../schemas/models.js";

/** GET /v1/models (and /v1/models/{id}): OpenAI's shapes plus what a client needs to choose and price a model. */
export function modelRoutes(app: FastifyInstance, s: Services): void {
  const views = new Map(
    s.catalog.models.map((m) => [
      m.id,
      {
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
      },
    ]),
  );
  const body = { object: "list", data: [...views.values()] };
  app.get(
    "/v1/models",
    { schema: routeSchema(modelOps.list), config: { auth: "key", scope: "read" } },
    async () => body,
  );
  app.get<{ Params: { id: string } }>(
    "/v1/models/:id",
    { schema: routeSchema(modelOps.get), config: { auth: "key", scope: "read" } },
    async (req) => {
      const model = s.catalog.find(req.params.id);
      const view = model && views.get(model.id);
      if (!view) throw new ApiError("not_found", `No model ${req.params.id}`);
      return view;
    },
  );
}
