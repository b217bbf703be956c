import { describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import net from "node:net";
import { randomBytes } from "node:crypto";
import { startTestServer } from "../helpers/server.js";
import { GatedEngine } from "../helpers/engines.js";
import { tempDir } from "../helpers/db.js";

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Shutdown (what SIGTERM runs): stop accepting, finish what is in flight, and never hang on a straggler. */
describe("shutdown", () => {
  it("lets an in-flight sync generation finish and answer, while it takes no new request", async () => {
    const engine = new GatedEngine();
    // A drain time far longer than the test: the close must end because the work did, not by the cut.
    const srv = await startTestServer({ engine, drainMs: 60_000 });
    const t = await srv.tenant("1.00");
    const pending = srv.api(t.key, "POST", "/v1/generate", { prompt: "a lighthouse", size: "256x256" });
    await until(() => engine.started === 1);
    const stopping = srv.stop();
    let stopped = false;
    void stopping.then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).toBe(false);
    // A new request gets no answer from the closing server: its connection is refused, or (on a kept-alive
    // connection) a 503.
    const late = await fetch(`${srv.url}/v1/balance`, {
      headers: { authorization: `Bearer ${t.key}` },
    }).catch(() => null);
    expect(late === null || late.status === 503).toBe(true);
    engine.release();
    const res = await pending;
    expect(res.status).toBe(200);
    // The client is told not to reuse the connection.
    expect(res.headers.get("connection")).toBe("close");
    const body = (await res.json()) as { data: { image: { b64_json: string } } };
    expect(body.data.image.b64_json.length).toBeGreaterThan(100);
    // The answered connection closes soon after, not when its keep-alive time (72 s) runs out.
    const t0 = performance.now();
    await stopping;
    expect(performance.now() - t0).toBeLessThan(15_000);
  });

  it("closes a connection that has not sent a request, without waiting for its client or the drain time", async () => {
    const srv = await startTestServer({ drainMs: 60_000 });
    const port = Number(new URL(srv.url).port);
    const silent = net.connect(port, "127.0.0.1");
    await new Promise((r) => silent.once("connect", r));
    let closedByServer = false;
    silent.on("end", () => (closedByServer = true)).on("error", () => (closedByServer = true));
    // The server must have taken the connection before the close starts.
    let open = 0;
    while (open === 0) {
      open = await new Promise<number>((r) => srv.app.server.getConnections((_e, n) => r(n)));
      await new Promise((r) => setTimeout(r, 10));
    }
    await srv.stop(); // would wait for the 60 s drain: the test's own timeout fails first
    await until(() => closedByServer || silent.destroyed);
    silent.destroy();
  });

  it("cuts a request that outlasts the drain time; its job still completes, charged once, in history", async () => {
    const dataDir = tempDir();
    try {
      const engine = new GatedEngine();
      const srv = await startTestServer({ engine, dataDir, drainMs: 300 });
      const t = await srv.tenant("1.00");
      const pending = srv
        .api(t.key, "POST", "/v1/generate", { prompt: "a harbour at dawn", size: "256x256" })
        .then(
          (r) => r.status,
          () => "cut",
        );
      await until(() => engine.started === 1);
      const t0 = performance.now();
      const stopping = srv.stop();
      expect(await pending).toBe("cut");
      expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
      // The job is still the worker's: the close waits for it.
      engine.release();
      await stopping;

      const again = await startTestServer({ dataDir });
      try {
        const hist = (await (await again.api(t.key, "GET", "/v1/generations")).json()) as {
          data: { generations: { status: string; cost: string; prompt: string }[] };
        };
        expect(hist.data.generations).toHaveLength(1);
        const [gen] = hist.data.generations;
        expect(gen).toMatchObject({ status: "completed", prompt: "a harbour at dawn" });
        const bal = (await (await again.api(t.key, "GET", "/v1/balance")).json()) as {
          data: { balance: string; total_generations: number };
        };
        expect(bal.data.total_generations).toBe(1);
        expect(Number(bal.data.balance)).toBeCloseTo(1 - Number(gen!.cost), 6);
        expect(Number(gen!.cost)).toBeGreaterThan(0);
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("shutdown with a download in progress", () => {
  it("sends the whole body to a reader that is slow when the close starts", async () => {
    const srv = await startTestServer({ drainMs: 20_000 });
    const owner = await srv.tenant();
    const s = srv.services;
    const bytes = randomBytes(12_000_000);
    const row = await s.images.put(owner.id, "job_slow_reader", bytes, "image/png", 1, 1);
    await s.db.kysely.insertInto("images").values(row).execute();
    const sock = net.connect({ host: "127.0.0.1", port: Number(new URL(srv.url).port) });
    const parts: Buffer[] = [];
    const closed = new Promise<void>((resolve) => sock.once("close", () => resolve()));
    sock.on("error", () => undefined);
    sock.on("data", (c: Buffer) => parts.push(c));
    const begun = new Promise<void>((resolve) => sock.once("data", () => resolve()));
    sock.write(
      `GET /v1/images/${row.token} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${owner.key}\r\n\r\n`,
    );
    await begun;
    // The reader stalls with most of the body still to come, and the close starts.
    sock.pause();
    const stopping = srv.stop();
    await new Promise((r) => setTimeout(r, 300));
    sock.resume();
    await stopping;
    await closed;
    const all = Buffer.concat(parts);
    const body = all.subarray(all.indexOf("\r\n\r\n") + 4);
    expect(body.length).toBe(bytes.length);
    expect(body.equals(bytes)).toBe(true);
  });
});
