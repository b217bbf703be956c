/**
 * Downloads an image from a URL an OpenAI-compatible upstream answered. Unlike the upstream's own address
 * (which the operator configured), this URL is chosen by the upstream, so it is treated like a webhook
 * target: only public addresses (checked on the literal, on every lookup answer, and once more by
 * request-filtering-agent on the address actually connected to), no redirects, a capped body.
 */
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from "request-filtering-agent";
import { isPublicAddress } from "../../webhooks/address.js";
import { agentRefusal, checkedLookup, notPublic, Refused } from "../../webhooks/deliver.js";
import { abortError, retryableStatus } from "../shared/upstream.js";
import { EngineError } from "../types.js";

export interface ResultFetchOptions {
  what: string;
  signal: AbortSignal;
  maxBytes: number;
  /** Lets loopback and private addresses through (tests, or an upstream on the operator's own network). */
  allowPrivate: boolean;
  headers?: Record<string, string>;
  /** Resolves host names, like dns.lookup (which is the default). */
  lookup?: LookupFunction;
}

/** The URL checked before anything is sent; its path and query (often a signed token) are never echoed. */
function checkUrl(raw: string, what: string, allowed: (ip: string) => boolean): URL {
  let url: URL;
  try {
    // WHATWG parsing also turns odd IPv4 spellings (0177.0.0.1, 2130706433) into 127.0.0.1.
    url = new URL(raw);
  } catch {
    throw new EngineError(`${what}: the upstream answered a result URL that is not valid`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new EngineError(`${what}: refused: the result URL is a ${url.protocol} URL`);
  }
  if (url.username || url.password) {
    throw new EngineError(`${what}: refused: the result URL carries credentials`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (isIP(host) && !allowed(host)) throw new EngineError(`${what}: ${notPublic(host).message}`);
  return url;
}

function describe(err: unknown, what: string): EngineError {
  if (err instanceof Refused) return new EngineError(`${what}: ${err.message}`);
  const message = err instanceof Error ? err.message : String(err);
  const refused = agentRefusal(message);
  if (refused) return new EngineError(`${what}: ${refused}`);
  // Node's happy-eyeballs connect fails with an AggregateError whose message is empty.
  const detail = (err as NodeJS.ErrnoException).code ?? (message || "connection failed");
  return new EngineError(`${what}: cannot download the result image (${detail})`, true);
}

export function fetchResultUrl(raw: string, opts: ResultFetchOptions): Promise<Buffer> {
  const { what, signal, maxBytes } = opts;
  const allowed = (ip: string) => opts.allowPrivate || isPublicAddress(ip);
  if (signal.aborted) return Promise.reject(abortError(signal, what));
  let url: URL;
  try {
    url = checkUrl(raw, what, allowed);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  const secure = url.protocol === "https:";
  const filter = { allowPrivateIPAddress: opts.allowPrivate };
  const agent = secure ? new RequestFilteringHttpsAgent(filter) : new RequestFilteringHttpAgent(filter);
  const lookup = checkedLookup(opts.lookup ?? (dns.lookup as LookupFunction), allowed);

  return new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    const finish = (err: EngineError | null, body?: Buffer) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      req.destroy();
      agent.destroy();
      if (err) reject(err);
      else resolve(body as Buffer);
    };
    const onAbort = () => finish(abortError(signal, what));
    signal.addEventListener("abort", onAbort, { once: true });

    const req = (secure ? https : http).request(url, {
      method: "GET",
      agent,
      lookup,
      headers: { ...opts.headers, accept: "image/*" },
    });
    req.on("error", (err) => finish(signal.aborted ? abortError(signal, what) : describe(err, what)));
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        return finish(
          new EngineError(`${what}: the result URL answered a redirect (${status}), which is not followed`),
        );
      }
      if (status < 200 || status >= 300) {
        return finish(
          new EngineError(
            `${what}: downloading the result image answered ${status}`,
            retryableStatus(status),
          ),
        );
      }
      const declared = Number(res.headers["content-length"] ?? NaN);
      if (declared > maxBytes) {
        return finish(
          new EngineError(`${what}: the result image of ${declared} bytes is over the ${maxBytes} limit`),
        );
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          finish(new EngineError(`${what}: the result image is over the ${maxBytes} byte limit`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => finish(null, Buffer.concat(chunks)));
      const cut = () => finish(new EngineError(`${what}: the result image download was cut off`, true));
      res.on("error", () => (signal.aborted ? onAbort() : cut()));
      res.on("close", () => {
        if (!res.complete) cut();
      });
    });
    req.end();
  });
}
