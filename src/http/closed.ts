import type { FastifyReply } from "fastify";

/**
 * Calls `fn` once, when the response is done or its connection closes, whichever comes first. The
 * response's own 'close' misses one case: the answer to a pipelined request, queued behind an earlier
 * one when the client hangs up, never gets it (Node 20), so the connection's close is watched too.
 */
export function whenClosed(reply: FastifyReply, fn: () => void): void {
  const res = reply.raw;
  const socket = reply.request.raw.socket as typeof reply.request.raw.socket | null;
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    // A kept-alive connection outlives its requests: it must not gather one listener per request.
    socket?.removeListener("close", once);
    res.removeListener("close", once);
    fn();
  };
  res.once("close", once);
  socket?.once("close", once);
  if (res.destroyed || socket?.destroyed) once();
}
