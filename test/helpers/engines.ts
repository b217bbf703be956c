import { LocalEngine } from "../../src/engines/local/index.js";
import { EngineError, type Engine, type EngineRequest, type EngineResult } from "../../src/engines/types.js";

/** The real local engine, held back until the test says go: for timeouts, disconnects, concurrency. */
export class GatedEngine implements Engine {
  readonly kind = "gated";
  readonly supportsEdit = true;
  readonly maxSourceImages = 2;
  private readonly inner = new LocalEngine();
  private waiting: (() => void)[] = [];
  started = 0;
  open = false;
  /** Prompts in the order their work started. */
  readonly order: string[] = [];

  async generate(req: EngineRequest): Promise<EngineResult> {
    this.started++;
    this.order.push(req.prompt);
    if (!this.open) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.inner.generate(req);
  }

  release(): void {
    this.open = true;
    for (const w of this.waiting.splice(0)) w();
  }

  /** Lets the oldest waiting request through, and no other. */
  releaseOne(): void {
    this.waiting.shift()?.();
  }
}

/** Fails every request the way a broken backend would. */
export class FailingEngine implements Engine {
  readonly kind = "failing";
  readonly supportsEdit = true;
  readonly maxSourceImages = 2;
  calls = 0;
  async generate(): Promise<EngineResult> {
    this.calls++;
    throw new EngineError("backend exploded");
  }
}

/** A request for the engines' own tests: 256x256 PNG, seed 42, a landscape prompt; any field overridden. */
export function engineRequest(overrides: Partial<EngineRequest> = {}): EngineRequest {
  return {
    prompt: "A serene mountain landscape at golden hour",
    width: 256,
    height: 256,
    seed: 42,
    format: "png",
    images: [],
    model: "local",
    signal: new AbortController().signal,
    ...overrides,
  };
}
