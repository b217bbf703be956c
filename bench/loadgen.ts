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
  const request = rawRequest(url, "GET", opts.headers);
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
          const socket = rawSocket(url, {
            onBody: (n) => (bytes += n),
            onResponse: (head) => {
              if (!head.startsWith("HTTP/1.1 200 ")) errors++;
              requests++;
              if (performance.now() < end) socket.write(request);
              else socket.end();
            },
            onError: () => errors++,
          });
          socket.on("connect", () => socket.write(request));
          socket.on("close", () => resolve());
        }),
    ),
  );
  const seconds = (performance.now() - start) / 1000;
  return { requestsPerSec: requests / seconds, bytesPerSec: bytes / seconds, errors };
}

/**
 * One client sending the same request `count` times in turn on one keep-alive socket, in the manner of
 * wrk's latency figures: each latency runs from writing the request to the answer's last byte, and the
 * answer is not parsed (undici's fetch put several hundred microseconds of its own on every 200 KB answer).
 */
export async function sequential(
  url: string,
  opts: { method: string; headers: Record<string, string>; body?: string; count: number },
): Promise<{ ms: number; head: string }[]> {
  const request = rawRequest(url, opts.method, opts.headers, opts.body);
  const out: { ms: number; head: string }[] = [];
  await new Promise<void>((resolve, reject) => {
    let t0 = 0;
    const send = () => {
      t0 = performance.now();
      socket.write(request);
    };
    const socket = rawSocket(url, {
      onBody: () => undefined,
      onResponse: (head) => {
        out.push({ ms: performance.now() - t0, head });
        if (out.length < opts.count) send();
        else socket.end();
      },
      onError: (err) => reject(err),
    });
    socket.on("connect", send);
    // A server that hangs up early must not pass for a shorter run.
    socket.on("close", () =>
      out.length < opts.count
        ? reject(new Error(`the server closed after ${out.length} answers`))
        : resolve(),
    );
  });
  return out;
}

function rawRequest(url: string, method: string, headers: Record<string, string>, body?: string): Buffer {
  const u = new URL(url);
  const all = {
    host: u.host,
    ...headers,
    ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }),
  };
  const head = Object.entries(all)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  return Buffer.from(`${method} ${u.pathname}${u.search} HTTP/1.1\r\n${head}\r\n${body ?? ""}`);
}

/**
 * A keep-alive socket that reads into one buffer of its own, reused (no allocation per chunk), and reads
 * only the head of each answer as text (never the body): `onResponse` gets the head once the body named by
 * its Content-Length has come in full.
 */
function rawSocket(
  url: string,
  on: { onBody(n: number): void; onResponse(head: string): void; onError(err: Error): void },
): net.Socket {
  const u = new URL(url);
  let header = "";
  let head = "";
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
          head = header.slice(0, at);
          header = "";
          const length = /\r\ncontent-length: *(\d+)/i.exec(head);
          if (!length) {
            on.onError(new Error(`an answer without Content-Length: ${head.split("\r\n")[0]}`));
            socket.destroy();
            return false;
          }
          body = n - (at + 4 - before);
          left = Number(length[1]);
        }
        on.onBody(body);
        left -= body;
        if (left === 0) {
          left = -1;
          on.onResponse(head);
        }
        return true;
      },
    },
  });
  socket.on("error", (err) => on.onError(err));
  return socket;
}

/** The p-th percentile of an ascending list. */
export function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * A figure of ours against its baseline on a shared, noisy machine: one unmeasured run of each first (the
 * JIT warms up, worker threads start: the first seconds of a cold server are not its rate), then `pairs`
 * pairs of runs, alternating which side goes first, so that a burst of noise from a neighbour weighs on
 * both sides of a pair alike. The result is the median of the pairs' ratios: such a burst moves one pair,
 * not the figure. Each run returns its rate.
 */
export async function pairedRatio(
  pairs: number,
  ours: () => Promise<number>,
  baseline: () => Promise<number>,
): Promise<{ ours: number; baseline: number; baselines: number[]; ratios: number[]; median: number }> {
  await ours();
  await baseline();
  let sumOurs = 0;
  let sumBase = 0;
  const ratios: number[] = [];
  const baselines: number[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    let o: number;
    let b: number;
    if (pair % 2 === 0) {
      b = await baseline();
      o = await ours();
    } else {
      o = await ours();
      b = await baseline();
    }
    sumOurs += o;
    sumBase += b;
    baselines.push(b);
    ratios.push(o / b);
  }
  ratios.sort((x, y) => x - y);
  const mid = Math.floor(pairs / 2);
  const median = pairs % 2 === 1 ? ratios[mid]! : (ratios[mid - 1]! + ratios[mid]!) / 2;
  return { ours: sumOurs / pairs, baseline: sumBase / pairs, baselines, ratios, median };
}
