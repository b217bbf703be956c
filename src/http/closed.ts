import type { Socket } from "node:net";
import type { FastifyReply } from "fastify";

/** Per connection, what to call when it closes: one listener on the socket however many requests wait. */
const onSocketClose = new WeakMap<Socket, Set<() => void>>();

/**
 * Calls `fn` once, when the response is done or its connection closes, whichever comes first. The
 * response's own 'close' misses one case: the answer to a pipelined request, queued behind an earlier
 * one when the client hangs up, never gets it (Node 20), so the connection's close is watched too,
 * through one listener per connection (pipelined generations would otherwise pass Node's limit of ten).
 */
export function whenClosed(reply: FastifyReply, fn: () => void): void {
  const res = reply.raw;
  const socket = reply.request.raw.socket as Socket | null;
  let waiting = socket ? onSocketClose.get(socket) : undefined;
  if (socket && !waiting) {
    const set = new Set<() => void>();
    waiting = set;
    onSocketClose.set(socket, set);
    socket.once("close", () => {
      onSocketClose.delete(socket);
      for (const f of set) f();
    });
  }
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    // A kept-alive connection outlives its requests: it must not gather their callbacks.
    waiting?.delete(once);
    res.removeListener("close", once);
    fn();
  };
  res.once("close", once);
  waiting?.add(once);
  if (res.destroyed || socket?.destroyed) once();
}
