/**
 * The job API's figures: throughput of submit-then-complete against the sync route, and how long a
 * finished job takes to reach a Server-Sent Events client and a webhook receiver.
 */
import http from "node:http";
import { loadConfig } from "../src/config.js";
import { startServer } from "../src/server.js";
import { OPEN_STATUSES } from "../src/db/schema.js";
import { tempDir } from "../test/helpers/db.js";
import { pct } from "./loadgen.js";

/** Submits `count` jobs from 50 concurrent clients, then waits until none is open: jobs per second. */
export async function jobsThroughput(
  base: string,
  auth: Record<string, string>,
  count: number,
): Promise<number> {
  const body = JSON.stringify({
    prompt: "A serene mountain landscape at golden hour",
    width: 256,
    height: 256,
  });
  const headers = { ...auth, "content-type": "application/json" };
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < count) {
        next++;
        const r = await fetch(`${base}/v1/images/generate`, { method: "POST", headers, body });
        if (r.status !== 202) throw new Error(`submit answered ${r.status}: ${await r.text()}`);
        await r.arrayBuffer();
      }
    }),
  );
  for (;;) {
    const open = await Promise.all(
      OPEN_STATUSES.map(async (st) => {
        const r = await fetch(`${base}/v1/jobs?status=${st}&limit=1`, { headers: auth });
        return ((await r.json()) as { data: unknown[] }).data.length;
      }),
    );
    if (open.every((n) => n === 0)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return count / ((performance.now() - started) / 1000);
}

/**
 * An in-process server, so the moment a job completes (the JobService's own event, after the commit) and
 * the moments its SSE event and its webhook arrive are read off one clock.
 */
export async function eventLatency(jobs: number): Promise<{ sse: number[]; webhook: number[] }> {
  const dataDir = tempDir("zekron-bench-events-");
  const server = await startServer(
    loadConfig({
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "error",
      ZEKRON_DATA_DIR: dataDir,
      ZEKRON_ADMIN_TOKEN: "bench-admin-token-0123456789",
      ZEKRON_DEMO_TENANT: "false",
      ZEKRON_RATE_LIMIT_PER_MINUTE: "1000000",
      ZEKRON_WEBHOOK_ALLOW_PRIVATE: "true",
    }),
  );
  const s = server.services;
  const tenant = await s.tenants.create("bench-events", 1_000_000 * 1_000_000, Date.now());
  const { key } = await s.tenants.createKey(tenant.id, { name: "bench" }, Date.now());
  const auth = { authorization: `Bearer ${key}` };

  const arrived = new Map<string, number>();
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const t = performance.now();
      const payload = JSON.parse(Buffer.concat(chunks).toString()) as { data?: { jobId?: string } };
      if (payload.data?.jobId) arrived.set(payload.data.jobId, t);
      res.end("ok");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  await s.webhooks.createEndpoint(tenant.id, hookUrl, ["job.completed"], null);

  const sse: number[] = [];
  const webhook: number[] = [];
  for (let i = 0; i < jobs; i++) {
    // 768x768: long enough to render that the event stream is open well before the job ends.
    const r = await fetch(`${server.url}/v1/images/generate`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ prompt: `a lighthouse on a cliff, number ${i}`, width: 768, height: 768 }),
    });
    const { job_id: id } = (await r.json()) as { job_id: string };
    let completedAt = 0;
    const unsubscribe = s.jobs.subscribe(id, (o) => {
      if (o.job.status === "completed") completedAt = performance.now();
    });
    const stream = await fetch(`${server.url}/v1/jobs/${id}/events`, { headers: auth });
    const reader = stream.body!.getReader();
    let text = "";
    let sseAt = 0;
    while (!sseAt) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
      if (text.includes('"status":"completed"')) sseAt = performance.now();
    }
    await reader.cancel().catch(() => undefined);
    unsubscribe();
    for (let w = 0; w < 500 && !arrived.has(id); w++) await new Promise((res) => setTimeout(res, 2));
    if (!completedAt || !sseAt || !arrived.has(id)) continue; // finished before the stream opened
    sse.push(sseAt - completedAt);
    webhook.push(arrived.get(id)! - completedAt);
  }
  await server.close();
  receiver.close();
  sse.sort((a, b) => a - b);
  webhook.sort((a, b) => a - b);
  return { sse, webhook };
}

export function latencyLine(name: string, xs: number[], target: number): string {
  return `${name}: p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms over ${xs.length} jobs (target p50 < ${target} ms)`;
}
