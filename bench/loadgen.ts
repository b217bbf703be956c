import net from "node:net";

/**
 * A closed-loop load generator for large responses, in the manner of wrk: one keep-alive socket per
 * connection, each reading into one buffer of its own that is reused (no allocation per chunk), and only
 * the status line and Content-Length read from each response, so that the client spends as little of the
 * two shared cores as it can and the server's figure is the server's. (node:http's client, used before,
 * took about half as much CPU per 1 MiB response as the server itself.)
 */
export async function fetchLoop(
  url: string,
  opts: { connections: number; seconds: number; headers: Record<string, string> },
) {
  const u = new URL(url);
  const head = Object.entries({ host: u.host, ...opts.headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  const request = Buffer.from(`GET ${u.pathname}${u.search} HTTP/1.1\r\n${head}\r\n`);
  const end = performance.now() + opts.seconds * 1000;
  let requests = 0;
  let bytes = 0;
  let errors = 0;
  const start = performance.now();
  await Promise.all(
    Array.from(
      { length: opts.connections },
      () =>
        new Promise<void>((resolve) => {
          let header = "";
          let left = -1; // body bytes still to come; -1 while reading a head
          const socket = net.connect({
            host: u.hostname,
            port: Number(u.port),
            onread: {
              buffer: Buffer.allocUnsafe(256 * 1024),
              callback(n: number, buf: Uint8Array) {
                let body = n;
                if (left < 0) {
                  // Only the head becomes a string (the first 8 KiB of a read at most), never the body.
                  const before = header.length;
                  header += Buffer.from(buf.buffer, buf.byteOffset, Math.min(n, 8192)).toString("latin1");
                  const at = header.indexOf("\r\n\r\n");
                  if (at < 0) return true;
                  if (!header.startsWith("HTTP/1.1 200 ")) errors++;
                  const length = /\r\ncontent-length: *(\d+)/i.exec(header.slice(0, at));
                  header = "";
                  if (!length) {
                    errors++;
                    socket.destroy();
                    return false;
                  }
                  body = n - (at + 4 - before);
                  left = Number(length[1]);
                }
                bytes += body;
                left -= body;
                if (left === 0) {
                  requests++;
                  left = -1;
                  if (performance.now() < end) socket.write(request);
                  else socket.end();
                }
                return true;
              },
            },
          });
          socket.on("connect", () => socket.write(request));
          socket.on("error", () => errors++);
          socket.on("close", () => resolve());
        }),
    ),
  );
  const seconds = (performance.now() - start) / 1000;
  return { requestsPerSec: requests / seconds, bytesPerSec: bytes / seconds, errors };
}

/** The p-th percentile of an ascending list. */
export function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
