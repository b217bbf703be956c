/** What one job learns about its prompt from the WebSocket, and the wait between history polls. */
import { excerpt } from "../shared/upstream.js";
import { EngineError } from "../types.js";
import type { ComfyEvent, ComfySocket } from "./socket.js";

const OOM = /out of memory|OutOfMemory|\bOOM\b/i;

function str(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}

/** An `execution_error` (event or history message) as an error an API user can act on. */
export function executionError(what: string, d: Record<string, unknown>): EngineError {
  const message = str(d.exception_message).trim() || str(d.exception_type) || "unknown error";
  const node = str(d.node_id);
  const where = node
    ? `node ${node}${str(d.node_type) ? ` (${str(d.node_type)})` : ""} failed`
    : "the prompt failed";
  // Running out of GPU memory depends on what else the server holds; another server (or a later try) may fit.
  const oom = OOM.test(`${str(d.exception_type)} ${message}`);
  return new EngineError(`${what}: ${where}: ${excerpt(message, 500)}`, oom);
}

export function interruptedError(what: string): EngineError {
  return new EngineError(`${what}: the prompt was interrupted on the backend`, true);
}

export class PromptWatch {
  /** When the WebSocket said the prompt finished; history may lag behind it for a moment. */
  doneAt: number | undefined;
  failure: EngineError | undefined;
  private progress = 0;
  private woken = false;
  private wake: (() => void) | undefined;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly socket: ComfySocket,
    promptId: string,
    private readonly what: string,
    private readonly onProgress?: (p: number) => void,
  ) {
    this.follow(promptId);
    this.unsubscribe.push(socket.onChange(() => this.poke()));
  }

  /** Listens for another id too: a server that ignores the id we chose answers with its own. */
  follow(promptId: string): void {
    this.unsubscribe.push(this.socket.subscribe(promptId, (ev) => this.handle(ev)));
  }

  /**
   * Waits `ms`, or less when the prompt finished, failed, or the socket opened or closed (unless `steady`:
   * then only an abort ends the wait early, which keeps retries against a dead server spaced out).
   */
  sleep(ms: number, signal: AbortSignal, steady = false): Promise<void> {
    if (signal.aborted || (this.woken && !steady)) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.wake = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (!steady) this.wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }

  dispose(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    this.wake?.();
  }

  private poke(): void {
    this.woken = true;
    this.wake?.();
  }

  private handle(ev: ComfyEvent): void {
    const d = ev.data;
    switch (ev.type) {
      case "progress": {
        const value = Number(d.value);
        const max = Number(d.max);
        if (!(max > 0) || !Number.isFinite(value)) return;
        // Several nodes report progress in turn (sampler, then a tiled decode); a job's progress only grows.
        const p = Math.min(Math.max(value / max, 0), 1);
        if (p > this.progress) {
          this.progress = p;
          this.onProgress?.(p);
        }
        return;
      }
      case "executing":
        if (d.node === null) this.finished();
        return;
      case "execution_success":
        this.finished();
        return;
      case "execution_error":
        this.failure ??= executionError(this.what, d);
        this.poke();
        return;
      case "execution_interrupted":
        this.failure ??= interruptedError(this.what);
        this.poke();
        return;
    }
  }

  private finished(): void {
    if (this.doneAt === undefined) this.doneAt = Date.now();
    this.poke();
  }
}
