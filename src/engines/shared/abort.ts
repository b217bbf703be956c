import { EngineError } from "../types.js";

/**
 * Settles when the engine does or as soon as the signal fires, whichever comes first: an engine that
 * ignores its signal can then neither hold a job past its timeout nor keep a router slot.
 */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () =>
      reject(signal.reason instanceof Error ? signal.reason : new EngineError("canceled"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
