import type { ErrorEnvelope } from "../http/schemas/index.js";

/** A code of the server's closed list (API.md), or one of the client's own for a request that got no answer. */
export type ZekronErrorCode =
  | ErrorEnvelope["error"]["code"]
  | "connection_error"
  | "http_error"
  | "invalid_response"
  // Keeps autocompletion of the known codes while accepting a code a newer server may add.
  | (string & {});

export interface ZekronErrorInit {
  status: number;
  code: ZekronErrorCode;
  message: string;
  reference?: string | null;
  type?: string | null;
  param?: string | null;
  suggestion?: string | null;
  requestId?: string | null;
  retryAfterMs?: number | null;
  body?: unknown;
  cause?: unknown;
}

/**
 * An error answered by the server (any non-2xx status), or a request that got no answer at all
 * (`status` 0, `code` "connection_error").
 */
export class ZekronError extends Error {
  override readonly name = "ZekronError";
  /** The HTTP status; 0 when the server could not be reached or the connection broke. */
  readonly status: number;
  readonly code: ZekronErrorCode;
  /** Zekron's unique error reference (also in the server log); null in OpenAI's envelope and without an answer. */
  readonly reference: string | null;
  /** `type` of the envelope: the code again in Zekron's, OpenAI's error class in OpenAI's. */
  readonly type: string | null;
  /** The request field at fault, when the OpenAI envelope names one. */
  readonly param: string | null;
  readonly suggestion: string | null;
  /** The `X-Request-Id` of the answer: the server logs every error beside it. */
  readonly requestId: string | null;
  /** What `Retry-After` asked for, in milliseconds. */
  readonly retryAfterMs: number | null;
  /** The parsed error body (or its text when it was not JSON). */
  readonly body: unknown;

  constructor(init: ZekronErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.reference = init.reference ?? null;
    this.type = init.type ?? null;
    this.param = init.param ?? null;
    this.suggestion = init.suggestion ?? null;
    this.requestId = init.requestId ?? null;
    this.retryAfterMs = init.retryAfterMs ?? null;
    this.body = init.body;
  }

  /** 401 or 403: the key or token is missing, wrong, revoked, suspended or lacks the scope. */
  get isAuthError(): boolean {
    return this.status === 401 || this.status === 403;
  }

  /** No HTTP answer: refused, reset, DNS failure, or the stream broke. */
  get isConnectionError(): boolean {
    return this.code === "connection_error";
  }

  /** Reads the answer's body (Zekron's envelope, OpenAI's, or anything else) into an error. */
  static async fromResponse(res: Response): Promise<ZekronError> {
    let text = "";
    try {
      text = await res.text();
    } catch {
      // A body that breaks off still leaves the status to report.
    }
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (a proxy's HTML page, say): kept as text.
    }
    const base = {
      status: res.status,
      body,
      requestId: res.headers.get("x-request-id"),
      retryAfterMs: retryAfterMs(res.headers.get("retry-after")) ?? null,
    };
    const error = isObject(body) && isObject(body.error) ? body.error : undefined;
    if (error && typeof error.message === "string") {
      const code = str(error.code) ?? str(error.type) ?? `http_${res.status}`;
      return new ZekronError({
        ...base,
        code,
        message: error.message,
        reference: str(error.reference),
        type: str(error.type),
        param: str(error.param),
        suggestion: str(error.suggestion),
      });
    }
    const snippet = typeof body === "string" ? body.trim().slice(0, 200) : "";
    return new ZekronError({
      ...base,
      code: "http_error",
      message: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}${snippet ? `: ${snippet}` : ""}`,
    });
  }
}

/** `Retry-After` as delay-seconds or an HTTP date, in milliseconds from `now`; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}
