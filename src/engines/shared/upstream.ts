/**
 * HTTP to generation backends. The backends are the operator's own (often on a private network), so their
 * addresses are not filtered like webhook targets; but what they answer is untrusted all the same: bodies
 * are size-capped while they stream, redirects are never followed (a redirect to an internal address is a
 * classic way to turn a gateway into a proxy), and every failure becomes an EngineError that says whether
 * another backend might do better.
 */
import { EngineError } from "../types.js";

export interface UpstreamRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | FormData;
  signal: AbortSignal;
  /** The answer is refused once it grows past this many bytes. */
  maxBytes: number;
}

export interface UpstreamResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** Statuses after which another backend (or the same one later) may well succeed. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The signal's own reason when it is an EngineError (a timeout, a cancel), else a plain cancellation. */
export function abortError(signal: AbortSignal, what: string): EngineError {
  const reason: unknown = signal.reason;
  return reason instanceof EngineError ? reason : new EngineError(`${what}: canceled`, false);
}

/** The request's own abort reason when it was aborted (cancel, timeout), else a connection failure. */
function abortOr(signal: AbortSignal, err: unknown, what: string): EngineError {
  if (signal.aborted) return abortError(signal, what);
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return new EngineError(`${what}: cannot reach the backend (${detail})`, true);
}

export async function upstream(url: string, what: string, req: UpstreamRequest): Promise<UpstreamResponse> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: req.method ?? "GET",
      headers: req.headers,
      body: req.body as BodyInit | undefined,
      signal: req.signal,
      redirect: "manual",
    });
  } catch (err) {
    throw abortOr(req.signal, err, what);
  }
  if (res.status >= 300 && res.status < 400) {
    void res.body?.cancel().catch(() => undefined);
    throw new EngineError(`${what}: the backend answered a redirect (${res.status}), which is not followed`);
  }
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > req.maxBytes) {
    void res.body?.cancel().catch(() => undefined);
    throw new EngineError(
      `${what}: the backend's answer of ${declared} bytes is over the ${req.maxBytes} limit`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size > req.maxBytes) {
          void res.body.cancel().catch(() => undefined);
          throw new EngineError(`${what}: the backend's answer is over the ${req.maxBytes} byte limit`);
        }
        chunks.push(Buffer.from(chunk));
      }
    }
  } catch (err) {
    if (err instanceof EngineError) throw err;
    throw abortOr(req.signal, err, what);
  }
  return { status: res.status, headers: res.headers, body: Buffer.concat(chunks) };
}

/** Parses a JSON answer; a backend that answers something else has failed. */
export function parseJson(res: UpstreamResponse, what: string): unknown {
  try {
    return JSON.parse(res.body.toString("utf8")) as unknown;
  } catch {
    throw new EngineError(
      `${what}: the backend answered ${res.status} with a body that is not JSON`,
      retryableStatus(res.status),
    );
  }
}

/** A short, single-line excerpt of a backend's error body, for messages and logs. */
export function excerpt(body: Buffer | string, max = 300): string {
  const text = (typeof body === "string" ? body : body.toString("utf8")).replace(/\s+/g, " ").trim();
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

/** An EngineError for a non-2xx answer, retryable when the status says another try may work. */
export function statusError(res: UpstreamResponse, what: string, detail?: string): EngineError {
  return new EngineError(
    `${what}: the backend answered ${res.status}${detail ? `: ${detail}` : res.body.length ? `: ${excerpt(res.body)}` : ""}`,
    retryableStatus(res.status),
  );
}

/** Aborts when either the job's signal fires or the route's own timeout passes. */
export function withTimeout(
  signal: AbortSignal,
  ms: number,
  what: string,
): { signal: AbortSignal; clear(): void } {
  const own = new AbortController();
  const timer = setTimeout(
    () => own.abort(new EngineError(`${what}: no answer within ${Math.round(ms / 100) / 10} s`, true)),
    ms,
  );
  const onAbort = () => own.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return {
    signal: own.signal,
    clear() {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    },
  };
}

/** `Authorization: Basic ...` for a user and password, or nothing. */
export function basicAuth(user?: string, password?: string): Record<string, string> {
  if (user === undefined) return {};
  return { authorization: `Basic ${Buffer.from(`${user}:${password ?? ""}`).toString("base64")}` };
}

/** Resolves after `ms`, or rejects when the signal fires first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortOr(signal, undefined, "wait"));
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortOr(signal, undefined, "wait"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
