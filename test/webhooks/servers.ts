import http from "node:http";
import net from "node:net";
import type { AddressInfo, LookupFunction } from "node:net";

export interface Hit {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  port: number;
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:41234 */
  url: string;
  hits: Hit[];
  close(): Promise<void>;
}

/** A local HTTP server that records every request before `respond` answers it. */
export async function startReceiver(
  respond: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_q, res) => res.end("ok"),
  host = "127.0.0.1",
): Promise<Receiver> {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      hits.push({
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      respond(req, res);
    });
  });
  await new Promise<void>((ok) => server.listen(0, host, ok));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://${net.isIPv6(host) ? `[${host}]` : host}:${port}`,
    hits,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** A stand-in for DNS (none is reachable here): each call takes the next answer, the last one repeats. */
export function fakeLookup(answers: Record<string, string[][]>): LookupFunction & { calls: string[] } {
  const calls: string[] = [];
  const lookup = ((hostname, options, callback) => {
    calls.push(hostname);
    const seq = answers[hostname];
    const ips = seq?.[Math.min(calls.filter((h) => h === hostname).length, seq.length) - 1];
    if (!ips) {
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = "ENOTFOUND";
      return callback(err, "", 0);
    }
    const all = ips.map((address) => ({ address, family: net.isIP(address) }));
    if (options.all) callback(null, all);
    else callback(null, all[0]!.address, all[0]!.family);
  }) as LookupFunction & { calls: string[] };
  lookup.calls = calls;
  return lookup;
}

const isLoopback = (ip: string) =>
  (net.isIPv4(ip) && ip.startsWith("127.")) || ip === "::1" || /^::ffff:127\./i.test(ip);

/**
 * Test safety net, independent of the code under test: any socket connect to a non-loopback address, given
 * directly or through a lookup answer, throws instead of sending a packet. Records what it let through.
 */
export function guardLoopbackOnly(): { seen: string[]; restore(): void } {
  const seen: string[] = [];
  const proto = net.Socket.prototype as unknown as { connect: (...args: unknown[]) => unknown };
  const original = proto.connect;
  const check = (ip: string) => {
    if (!isLoopback(ip)) throw new Error(`test guard: refusing to connect to ${ip}`);
    seen.push(ip);
  };
  proto.connect = function (this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    if (first && typeof first === "object" && "host" in first) {
      const opts = first as net.TcpNetConnectOpts;
      if (opts.host && net.isIP(opts.host)) check(opts.host);
      const lookup = opts.lookup;
      if (lookup) {
        opts.lookup = (hostname, options, callback) =>
          lookup(hostname, options, (err, address, family) => {
            try {
              if (!err)
                for (const a of typeof address === "string" ? [address] : address)
                  check(typeof a === "string" ? a : a.address);
            } catch (guardErr) {
              return callback(guardErr as Error, address, family);
            }
            callback(err, address, family);
          });
      }
    }
    return original.apply(this, args);
  };
  return { seen, restore: () => void (proto.connect = original) };
}
