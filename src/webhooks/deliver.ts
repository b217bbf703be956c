import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from "request-filtering-agent";
import { isPublicAddress } from "./address.js";

export { isPublicAddress };

export interface DeliveryResult {
  ok: boolean;
  status: number | null;
  durationMs: number;
  error?: string;
  retryAfterSec?: number;
  responseSnippet?: string;
}

export interface DeliverOptions {
  body: string;
  headers: Record<string, string>;
  /** For the whole attempt: name lookup, connect, and the response. */
  timeoutMs?: number;
  /** Development only: lets loopback and private addresses through (and so plain http too). */
  allowPrivate: boolean;
  allowHttp?: boolean;
  /** Addresses let through although not public: an operator's explicit exception. */
  allowAddresses?: string[];
  /** Resolves host names, like dns.lookup (which is the default). */
  lookup?: LookupFunction;
  maxResponseBytes?: number;
}

const SNIPPET_CHARS = 200;
const SNIPPET_BYTES = 4 * SNIPPET_CHARS;

/** A target refused by the outbound-request rules (also used by the engines' result-URL fetches). */
export class Refused extends Error {}

export const notPublic = (ip: string) => new Refused(`refused: ${ip} is not a public address`);

/** POSTs one webhook attempt. Never throws, never follows a redirect; only a 2xx is `ok`. */
export async function deliver(url: string, opts: DeliverOptions): Promise<DeliveryResult> {
  const started = performance.now();
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const allowed = (ip: string) =>
    opts.allowPrivate || (opts.allowAddresses ?? []).includes(ip) || isPublicAddress(ip);
  const durationMs = () => Math.round(performance.now() - started);
  try {
    const target = checkUrl(url, opts.allowPrivate || opts.allowHttp === true);
    const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
    const lookup = checkedLookup(opts.lookup ?? (dns.lookup as LookupFunction), allowed);
    if (isIP(host)) {
      if (!allowed(host)) throw notPublic(host);
    } else {
      // An early, validation-only look. It cannot be the check that counts: the name may resolve
      // differently when the socket connects (DNS rebinding), so the address is checked again there.
      await resolve(lookup, host, deadline);
    }
    return { ...(await send(target, opts, lookup, deadline)), durationMs: durationMs() };
  } catch (err) {
    const error = deadline.aborted ? `timed out after ${timeoutMs} ms` : describe(err);
    return { ok: false, status: null, durationMs: durationMs(), error };
  }
}

function checkUrl(raw: string, allowHttp: boolean): URL {
  let url: URL;
  try {
    // WHATWG parsing also turns odd IPv4 spellings (0177.0.0.1, 2130706433, 0x7f.1) into 127.0.0.1.
    url = new URL(raw);
  } catch {
    throw new Refused("refused: not a valid URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Refused(`refused: ${url.protocol} URLs are not allowed`);
  }
  if (url.protocol === "http:" && !allowHttp) throw new Refused("refused: https is required");
  if (url.username || url.password) throw new Refused("refused: URLs with credentials are not allowed");
  return url;
}

/** Wraps a lookup so that every answer is checked; the agent checks it once more on its own terms. */
export function checkedLookup(base: LookupFunction, allowed: (ip: string) => boolean): LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, options, (err, address, family) => {
      if (err) return callback(err, address, family);
      const ips = typeof address === "string" ? [address] : address.map((a) => a.address);
      const bad = ips.find((ip) => !allowed(ip));
      callback(bad === undefined ? null : notPublic(bad), address, family);
    });
  };
}

function resolve(lookup: LookupFunction, host: string, signal: AbortSignal): Promise<void> {
  return new Promise((ok, fail) => {
    signal.addEventListener("abort", () => fail(signal.reason), { once: true });
    lookup(host, { all: true }, (err) => (err ? fail(err) : ok()));
  });
}

function send(
  target: URL,
  opts: DeliverOptions,
  lookup: LookupFunction,
  signal: AbortSignal,
): Promise<Omit<DeliveryResult, "durationMs">> {
  const filter = { allowPrivateIPAddress: opts.allowPrivate, allowIPAddressList: opts.allowAddresses ?? [] };
  const secure = target.protocol === "https:";
  // The agents check the address actually connected to, after any lookup, so a name that re-resolves to a
  // private address between the early check and the connection is still refused.
  const agent = secure ? new RequestFilteringHttpsAgent(filter) : new RequestFilteringHttpAgent(filter);
  const maxBytes = opts.maxResponseBytes ?? 64 * 1024;
  return new Promise((ok, fail) => {
    const headers = { ...opts.headers, "content-length": String(Buffer.byteLength(opts.body)) };
    const req = (secure ? https : http).request(target, { method: "POST", agent, lookup, signal, headers });
    req.on("error", fail);
    req.on("close", () => agent.destroy());
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      const retryAfterSec = parseRetryAfter(res.headers["retry-after"]);
      const kept: Buffer[] = [];
      let size = 0;
      // Also runs when the deadline cuts the body short: the status had arrived in time and counts.
      const done = () => {
        res.destroy();
        const snippet = Buffer.concat(kept).toString("utf8").slice(0, SNIPPET_CHARS);
        ok({
          ok: status >= 200 && status < 300,
          status,
          ...(status >= 300 && status < 400 ? { error: "redirect not followed" } : {}),
          ...(status >= 400 || status < 200 ? { error: `HTTP ${status}` } : {}),
          ...(retryAfterSec !== undefined ? { retryAfterSec } : {}),
          ...(snippet ? { responseSnippet: snippet } : {}),
        });
      };
      res.on("data", (chunk: Buffer) => {
        if (size < SNIPPET_BYTES) kept.push(chunk.subarray(0, SNIPPET_BYTES - size));
        size += chunk.length;
        if (size >= maxBytes) done();
      });
      res.on("end", done);
      res.on("error", done);
      res.on("close", done);
    });
    req.end(opts.body);
  });
}

/** Retry-After in seconds, from either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const at = /[a-z]/i.test(v) ? Date.parse(v) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** request-filtering-agent's refusal ("DNS lookup 127.0.0.1(family:4, host:...) is not allowed...") in our words. */
export function agentRefusal(message: string): string | undefined {
  const agent = /^DNS lookup (.+?)\(family:.*is not allowed/.exec(message);
  return agent ? `refused: ${agent[1]} is not a public address` : undefined;
}

function describe(err: unknown): string {
  if (err instanceof Refused) return err.message;
  if (!(err instanceof Error)) return String(err);
  const refused = agentRefusal(err.message);
  if (refused) return refused;
  // Node's happy-eyeballs connect fails with an AggregateError whose message is empty.
  return err.message || (err as NodeJS.ErrnoException).code || err.name;
}
