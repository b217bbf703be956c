import type { FastifyInstance } from "fastify";
import type { Services } from "../../services.js";
import { ApiError } from "../../errors.js";
import { requireScope } from "../auth.js";
import { whenClosed } from "../closed.js";
import { routeSchema } from "../schemas/fastify.js";
import { imageOps } from "../schemas/images.js";

/** GET /v1/images/{token}: the owner's key, or a signed link until it expires. */
export function imageRoutes(app: FastifyInstance, s: Services): void {
  app.get<{ Params: { token: string }; Querystring: { expires?: string; signature?: string } }>(
    "/v1/images/:token",
    { schema: routeSchema(imageOps.get), config: { auth: "image" } },
    async (req, reply) => {
      const { token } = req.params;
      const q = req.query;
      let access;
      if (req.auth) {
        requireScope(req.auth, "read");
        access = { tenantId: req.auth.tenantId };
      } else if (typeof q.signature === "string" && typeof q.expires === "string") {
        access = { expires: q.expires, signature: q.signature };
      } else {
        throw new ApiError("unauthorized", "Send your API key, or use a signed link");
      }
      const row = await s.images.find(token, access);
      // The image's caching headers go only on the image (or its 304): an error after this point (the
      // bytes gone, a failed decryption) must not be cached under the image's ETag.
      const cacheable = () =>
        reply
          .header("ETag", row.etag)
          .header("Cache-Control", "private, max-age=3600")
          .header("X-Content-Type-Options", "nosniff");
      // Checked before the bytes are read: a revalidation costs a database row, not a decryption.
      if (req.headers["if-none-match"] === row.etag) return cacheable().code(304).send();
      const plain = await s.images.openShared(row);
      // The pooled memory goes back once the response is done with it: sent, or the client gone (also
      // for a pipelined request whose answer was still queued: see whenClosed).
      whenClosed(reply, plain.release);
      cacheable().header("Content-Type", row.mime_type).header("Content-Length", plain.bytes.length);
      // Sent as it is, in one corked write with the headers: Fastify takes a Buffer of any memory as bytes
      // when the reply's Content-Type is not JSON.
      return reply.send(plain.bytes);
    },
  );
}
