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
      const signed =
        typeof q.signature === "string" && typeof q.expires === "string"
          ? { expires: q.expires, signature: q.signature }
          : null;
      let row;
      if (req.auth) {
        try {
          requireScope(req.auth, "read");
          row = await s.images.find(token, { tenantId: req.auth.tenantId });
        } catch (err) {
          // A signed link works for whoever holds it. A key sent with it that is not the owner's (or may
          // not read), as a client sends its key to every URL of its server, does not take that away.
          const refused =
            err instanceof ApiError && (err.code === "not_found" || err.code === "access_denied");
          if (!signed || !refused) throw err;
          row = await s.images.find(token, signed);
        }
      } else if (signed) {
        row = await s.images.find(token, signed);
      } else {
        throw new ApiError("unauthorized", "Send your API key, or use a signed link");
      }
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
