import { z } from "zod";
import type { Operation } from "./operation.js";

export const ImageParams = z.strictObject({
  token: z
    .string()
    .describe("The image token (`token` in the generate answer)")
    .meta({ example: "q7Vd2Lr9XbN4kTzW8mYc1HfP0sJgAeUo" }),
});

export const ImageQuery = z.object({
  expires: z
    .string()
    .regex(/^\d+$/)
    .optional()
    .describe("Signed links only: expiry, Unix seconds")
    .meta({ example: "1780401600" }),
  signature: z.string().optional().describe("Signed links only: the HMAC of token and expiry"),
});

export const ImageHeaders = z.object({
  "If-None-Match": z.string().optional().describe("The ETag of a copy in hand: 304 when it still matches"),
});

export const ImageBytes = z.string().describe("The image bytes").meta({ format: "binary" });

export const imageOps = {
  get: {
    operationId: "getImage",
    summary: "Fetch an image's bytes",
    description:
      "The image with its `Content-Type`, `ETag` and `Cache-Control: private`. Needs the owner's key (with " +
      "the `read` scope), or a signed query (`?expires=...&signature=...`, as in `signed_url` and " +
      "`result_url`) that works without a key until it expires. Another account's token answers 404, " +
      "an expired image 410.",
    tags: ["Images"],
    auth: "image",
    params: ImageParams,
    querystring: ImageQuery,
    headers: ImageHeaders,
    responses: {
      200: {
        description: "The image",
        schema: ImageBytes,
        contentTypes: ["image/png", "image/jpeg", "image/webp"],
        headers: {
          ETag: { description: "Identifies these bytes", type: "string" },
          "Cache-Control": { description: "`private, max-age=3600`", type: "string" },
        },
      },
      304: { description: "Not modified: the If-None-Match ETag still matches" },
    },
    errors: ["not_found", "expired"],
  },
} satisfies Record<string, Operation>;
