import type { FastifyInstance } from "fastify";
import type { Services } from "../../services.js";
import { apiTime } from "../../clock.js";
import { ApiError } from "../../errors.js";
import {
  asObject,
  imageUrl,
  generateAndWait,
  idempotencyOf,
  serverTiming,
  validateGeneration,
} from "../generation.js";
import { routeSchema } from "../schemas/fastify.js";
import { previewOps } from "../schemas/preview.js";

const SUFFIX = ":image-preview";

/**
 * The paths the preview route serves: `/api/v1/{model}:image-preview`, the model a name without a colon
 * (so `{model}:image-preview:image-preview` is no route, not the model `{model}:image-preview`).
 */
function isPreviewPath(path: string): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return false;
  }
  return /^\/api\/v1\/[^/:]+:image-preview$/.test(decoded);
}

/** POST /api/v1/{model}:image-preview (seed 001). */
export function previewRoutes(app: FastifyInstance, s: Services): void {
  app.post<{ Params: { action: string } }>(
    "/api/v1/:action",
    {
      schema: routeSchema(previewOps.preview),
      config: { auth: "key", scope: "generate", generation: true, serves: isPreviewPath },
    },
    async (req, reply) => {
      const action = req.params.action;
      const body = asObject(req.body);
      const options = (body.options ?? {}) as Record<string, unknown>;
      if (typeof options !== "object" || Array.isArray(options)) {
        throw new ApiError("invalid_parameter", "options must be an object", { param: "options" });
      }
      // The model in the path wins; `model` in the body is accepted when it names the same model.
      const pathModel = action.slice(0, -SUFFIX.length);
      const { input, model } = await validateGeneration(
        s,
        req.auth!,
        {
          prompt: body.prompt,
          model: pathModel,
          size: options.size,
          negative_prompt: options.negative_prompt,
          seed: options.seed,
        },
        true,
      );
      if (typeof body.model === "string" && s.catalog.find(body.model)?.id !== model.id) {
        throw new ApiError("invalid_model", `The body names ${body.model} but the path names ${pathModel}`);
      }
      const outcome = await generateAndWait(s, { ...input, idempotency: idempotencyOf(req, body) });
      const { job, image } = outcome;
      serverTiming(reply, outcome);
      return {
        success: true,
        data: {
          id: `img_${job.seq}`,
          url: image ? imageUrl(s, req, image.token) : null,
          model: typeof body.model === "string" ? body.model : `${model.id}${SUFFIX}`,
          cost: job.cost / 1_000_000,
          created_at: apiTime(job.created_at),
        },
      };
    },
  );
}
