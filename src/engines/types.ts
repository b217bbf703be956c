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
  /**
   * A cheap health check of the backend (ComfyUI `/system_stats`, A1111 `/sdapi/v1/sd-models`, OpenAI
   * `/v1/models`); rejects when the backend cannot serve. Engines without a backend leave it out.
   */
  probe?(signal: AbortSignal): Promise<void>;
  /** Releases what the engine keeps open (a ComfyUI WebSocket), at shutdown. */
  close?(): void;
}

/**
 * Thrown by an engine for a failure the client should see as `generation_failed`. `retryable` failures
 * (connection refused, 5xx, 429, timeout) let the router try the next route; others (a bad workflow, a
 * validation error) would fail the same way anywhere. `code` is `service_unavailable` when no backend
 * could take the job at all. The message is for the operator's log: it names engines and quotes what
 * backends answered (host names, model paths, upstream account ids), so tenants read `publicMessage`
 * when one is given, and otherwise a summary of the kind of failure (`publicReason`).
 */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly retryable = false,
    readonly code: "generation_failed" | "service_unavailable" = "generation_failed",
    readonly publicMessage?: string,
  ) {
    super(message);
    this.name = "EngineError";
  }
}

/** What a tenant is told of an engine failure (see EngineError). */
export function publicReason(err: EngineError): string {
  if (err.publicMessage !== undefined) return err.publicMessage;
  if (err.code === "service_unavailable") return "no engine is available for this model right now";
  return err.retryable
    ? "the backend could not be reached or did not answer in time"
    : "the backend could not make this image";
}
