import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
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
    { schema: routeSchema(imageOps.get), config: { auth: "image" }, onSend: sendPooled },
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
      pooled.set(reply, plain.bytes);
      return reply.send(EMPTY);
    },
  );
}

const EMPTY = Buffer.alloc(0);
/** The pooled bytes a reply is to send, handed from the handler to its onSend stage. */
const pooled = new WeakMap<FastifyReply, Buffer>();

/**
 * Fastify's send serializes a view over shared memory as JSON (it takes only ArrayBuffer-backed bytes as
 * bytes), but its onSend stage writes any Buffer as it is: the handler sends an empty one, and this puts
 * the image in its place, so the answer goes out as one corked write, headers and body, with none of a
 * stream's machinery per request (a one-chunk Readable before; the difference measured here was within
 * this machine's noise).
 */
function sendPooled(
  _req: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  done: (err: null, p: unknown) => void,
) {
  const bytes = payload === EMPTY ? pooled.get(reply) : undefined;
  done(null, bytes ?? payload);
}
