export type OutputFormat = "png" | "jpeg" | "webp";

export const MIME_TYPES: Record<OutputFormat, string> = {
  png: "image/png",
  jpeg: "image/jpeg",
  webp: "image/webp",
};

/** A source image that has already passed the untrusted-image checks (format sniffed, pixels capped). */
export interface SourceImage {
  bytes: Buffer;
  format: OutputFormat;
  width: number;
  height: number;
}

/** A normalized request: what every engine receives, whatever the public route was. */
export interface EngineRequest {
  prompt: string;
  negativePrompt?: string;
  width: number;
  height: number;
  seed: number;
  format: OutputFormat;
  /** Empty for text-to-image; 1 or 2 images for an edit. */
  images: SourceImage[];
  /** The public model id, and the engine parameters its route carries (checkpoint, steps, ...). */
  model: string;
  params?: Record<string, unknown>;
  /** Aborted on cancel or timeout; an engine stops work and rejects when it fires. */
  signal: AbortSignal;
  /** Progress in [0, 1]. */
  onProgress?: (progress: number) => void;
}

export interface EngineResult {
  /** Encoded image in the requested format. */
  bytes: Buffer;
  format: OutputFormat;
  width: number;
  height: number;
}

export interface Engine {
  readonly kind: string;
  readonly supportsEdit: boolean;
  readonly maxSourceImages: number;
  generate(req: EngineRequest): Promise<EngineResult>;
}

/** Thrown by an engine for a failure the client should see as `generation_failed`. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = "EngineError";
  }
}
