/** Cancellation and progress for one request: checked between stages, and raced against sharp work. */
import { EngineError, type EngineRequest } from "../types.js";

export class Guard {
  constructor(private readonly req: EngineRequest) {}

  check(): void {
    if (this.req.signal.aborted) throw this.reason();
  }

  progress(value: number): void {
    this.check();
    this.req.onProgress?.(value);
  }

  /** Rejects as soon as the signal fires; sharp cannot be interrupted, so its result is then dropped. */
  async run<T>(work: Promise<T>): Promise<T> {
    const signal = this.req.signal;
    if (signal.aborted) {
      work.catch(() => undefined);
      throw this.reason();
    }
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(this.reason());
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([work, aborted]);
    } finally {
      if (onAbort) signal.removeEventListener("abort", onAbort);
      work.catch(() => undefined);
      aborted.catch(() => undefined);
    }
  }

  private reason(): Error {
    const r: unknown = this.req.signal.reason;
    return r instanceof EngineError ? r : new EngineError("canceled");
  }
}
