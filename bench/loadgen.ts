import http from "node:http";

/**
 * A minimal closed-loop load generator for large responses: bodies are counted, not parsed, so the client
 * spends as little of the shared CPU as it can (autocannon's parser costs more on 1 MiB bodies).
 */
export async function fetchLoop(
  url: string,
  opts: { connections: number; seconds: number; headers: Record<string, string> },
) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const end = performance.now() + opts.seconds * 1000;
  let requests = 0;
  let bytes = 0;
  let errors = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.get(url, { agent, headers: opts.headers }, (res) => {
        if (res.statusCode !== 200) errors++;
        res.on("data", (c: Buffer) => (bytes += c.length));
        res.on("end", () => {
          requests++;
          resolve();
        });
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
    });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: opts.connections }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return { requestsPerSec: requests / seconds, bytesPerSec: bytes / seconds, errors };
}

/** The p-th percentile of an ascending list. */
export function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
