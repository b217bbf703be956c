import type { FastifyInstance } from "fastify";
import type { Services } from "../../services.js";
import { apiTime } from "../../clock.js";
import { formatMoney } from "../../domain/money.js";
import { MIME_TYPES } from "../../engines/types.js";
import {
  asObject,
  imageUrl,
  clientGone,
  generateAndWait,
  refundIfGone,
  idempotencyOf,
  outcomeBytes,
  serverTiming,
  signedImageUrl,
  validateGeneration,
} from "../generation.js";
import { Base64Bytes } from "../json.js";
import { routeSchema } from "../schemas/fastify.js";
import { generateOps } from "../schemas/generate.js";

/** POST /v1/generate (seed 000): create, or edit with 1-2 source images, and wait for the image. */
export function generateRoutes(app: FastifyInstance, s: Services): void {
  const options = {
    schema: routeSchema(generateOps.generate),
    config: { auth: "key", scope: "generate", generation: true },
  } as const;
  app.post("/v1/generate", options, async (req, reply) => {
    const auth = req.auth!;
    const body = asObject(req.body);
    const store = req.headers["x-zekron-store"] !== "0";
    const { input } = await validateGeneration(s, auth, body, store);
    const gone = clientGone(reply);
    const outcome = await generateAndWait(s, { ...input, idempotency: idempotencyOf(req, body) }, gone);
    await refundIfGone(s, req, gone, [outcome]);
    const { job, image } = outcome;
    serverTiming(reply, outcome);
    const bytes = await outcomeBytes(s, outcome);
    // The balance as this job's charge committed, when this process completed it: no read that could
    // fail after the image is paid for (a zero-retention image is nowhere else). A replayed job's is read.
    const available = outcome.available ?? (await s.tenants.balance(auth.tenantId))?.available ?? 0;
    const createdAt = apiTime(job.created_at);
    const url = image && imageUrl(s, req, image.token);
    return {
      success: true,
      data: {
        id: job.seq,
        token: image?.token ?? null,
        type: job.type,
        model: job.model,
        prompt: job.prompt,
        size: `${job.width}x${job.height}`,
        seed: job.seed,
        image: {
          url: url ?? null,
          signed_url: image ? signedImageUrl(s, req, image, url) : null,
          b64_json: new Base64Bytes(bytes),
          mime_type: MIME_TYPES[job.output_format],
          expires_at: image ? apiTime(image.expires_at) : null,
        },
        cost: formatMoney(job.cost),
        remaining_balance: formatMoney(available),
        created_at: createdAt,
      },
      created_at: createdAt,
    };
  });
}
