import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { startTestServer, ADMIN_TOKEN, type TestServer } from "../helpers/server.js";
import { tempDir } from "../helpers/db.js";
import { startFakeComfyUI, type FakeComfyUI } from "../fakes/comfyui.js";
import { startFakeA1111, seedColour, type FakeA1111 } from "../fakes/a1111.js";
import { startFakeOpenAI, colourFor, type FakeOpenAI } from "../fakes/openai.js";
import { ledgerSums } from "../../src/domain/ledger.js";

async function pixel(b64OrBytes: string | Buffer): Promise<number[]> {
  const bytes = typeof b64OrBytes === "string" ? Buffer.from(b64OrBytes, "base64") : b64OrBytes;
  const { data } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return [data[0]!, data[1]!, data[2]!];
}

const price = { min: "0.0100", max: "0.0200" };

interface GenBody {
  data: {
    image: { b64_json: string; mime_type: string };
    cost: string;
    remaining_balance: string;
    size: string;
  };
}

describe("generation through real backend protocols (fakes of ComfyUI, A1111, OpenAI)", () => {
  let comfy: FakeComfyUI;
  let a1111: FakeA1111;
  let openai: FakeOpenAI;
  let dead: FakeComfyUI;
  let srv: TestServer;

  beforeAll(async () => {
    [comfy, a1111, openai, dead] = await Promise.all([
      startFakeComfyUI(),
      startFakeA1111(),
      startFakeOpenAI({ apiKey: "sk-upstream" }),
      startFakeComfyUI(),
    ]);
    // A backend that is down: its port refuses connections.
    await dead.stop();
    const dir = tempDir("zekron-engines-");
    const file = path.join(dir, "engines.yaml");
    writeFileSync(
      file,
      `
engines:
  comfy: { kind: comfyui, url: "${comfy.url}", concurrency: 1 }
  forge: { kind: a1111, url: "${a1111.url}" }
  up: { kind: openai, url: "${openai.url}", api_key: "\${UPSTREAM_KEY}" }
  up-private: { kind: openai, url: "${openai.url}", api_key: "\${UPSTREAM_KEY}", allow_private_result_urls: true }
  dead: { kind: comfyui, url: "${dead.url}", timeout_seconds: 5 }
models:
  - { id: comfy-model, max_size: 1024, price: ${JSON.stringify(price)}, routes: [{ engine: comfy, params: { steps: 4 } }] }
  - id: failover-model
    max_size: 1024
    price: ${JSON.stringify(price)}
    routes:
      - { engine: dead, priority: 1 }
      - { engine: forge, priority: 2 }
  - { id: openai-model, max_size: 1024, price: ${JSON.stringify(price)}, routes: [{ engine: up, params: { model: gpt-image-1 } }] }
  - id: openai-url-model
    max_size: 1024
    price: ${JSON.stringify(price)}
    routes: [{ engine: up-private, params: { model: dall-e-2, response_format: url, sizes: [512x512] } }]
  - { id: down-model, max_size: 1024, price: ${JSON.stringify(price)}, routes: [{ engine: dead }] }
`,
    );
    // Periodic probes off: the dead backend must be found dead by a job, as failover has to handle.
    srv = await startTestServer({
      env: { ZEKRON_CONFIG: file, UPSTREAM_KEY: "sk-upstream" },
      router: { probeIntervalMs: 0 },
    });
  });
  afterAll(async () => {
    await srv.stop();
    await Promise.all([comfy.close(), a1111.close(), openai.close(), dead.close()]);
  });

  it("POST /v1/generate on a model routed to ComfyUI returns the backend's image", async () => {
    const t = await srv.tenant("1.00");
    const res = await srv.api(t.key, "POST", "/v1/generate", {
      prompt: "a red fox in the snow",
      model: "comfy-model",
      size: "512x512",
      seed: 1234,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as GenBody;
    const meta = await sharp(Buffer.from(body.data.image.b64_json, "base64")).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 512, 512]);
    // The fake paints the sampler's seed: 1234 -> (210, 4, 99).
    expect(await pixel(body.data.image.b64_json)).toEqual([210, 4, 99]);
    const queued = comfy.calls.find((c) => c.path === "/prompt" && c.method === "POST");
    expect(JSON.stringify(queued?.body)).toContain("a red fox in the snow");
    expect(Number(body.data.remaining_balance)).toBeCloseTo(1 - Number(body.data.cost), 4);
  });

  it("an edit uploads the source image to ComfyUI", async () => {
    const t = await srv.tenant("1.00");
    const src = await sharp({ create: { width: 96, height: 64, channels: 3, background: "#3366aa" } })
      .png()
      .toBuffer();
    const before = comfy.uploads.size;
    const res = await srv.api(t.key, "POST", "/v1/generate", {
      prompt: "make it winter",
      model: "comfy-model",
      size: "256x256",
      images: [{ data: src.toString("base64"), mime_type: "image/png" }],
    });
    expect(res.status).toBe(200);
    expect(comfy.uploads.size).toBe(before + 1);
    const body = (await res.json()) as GenBody;
    expect(body.data.size).toBe("256x256");
  });

  it("fails over from a dead backend to a live one, charging once", async () => {
    const t = await srv.tenant("1.00");
    const res = await srv.api(t.key, "POST", "/v1/generate", {
      prompt: "a lighthouse",
      model: "failover-model",
      size: "256x256",
      seed: 777,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as GenBody;
    const c = seedColour(777);
    expect(await pixel(body.data.image.b64_json)).toEqual([c.r, c.g, c.b]);
    const ledger = await srv.services.db.kysely
      .selectFrom("ledger")
      .select("kind")
      .where("tenant_id", "=", t.id)
      .where("kind", "!=", "credit")
      .execute();
    expect(ledger.map((r) => r.kind).sort()).toEqual(["capture", "hold"]);
    expect(await ledgerSums(srv.services.db.kysely, t.id)).toMatchObject({ held: 0 });
    const tenant = (await srv.services.tenants.get(t.id))!;
    expect(tenant.available).toBe(1_000_000 - tenant.total_spent);
    expect(tenant.total_generations).toBe(1);

    const engines = (await (
      await fetch(`${srv.url}/admin/v1/engines`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).json()) as {
      data: { id: string; failed: number; served: number; recent_errors: { message: string }[] }[];
    };
    const deadView = engines.data.find((e) => e.id === "dead")!;
    expect(deadView.failed).toBeGreaterThanOrEqual(1);
    expect(deadView.recent_errors[0]!.message).toMatch(/cannot reach|ECONNREFUSED/);
    expect(engines.data.find((e) => e.id === "forge")!.served).toBeGreaterThanOrEqual(1);
  });

  it("50 concurrent jobs never put more on an A1111 instance than its concurrency of 1", async () => {
    const t = await srv.tenant("5.00", { max_concurrent: 100 });
    a1111.delayMs = 5;
    a1111.maxInFlight = 0;
    try {
      const submits = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          srv.api(t.key, "POST", "/v1/images/generate", {
            prompt: `job ${i}`,
            model: "failover-model",
            width: 256,
            height: 256,
          }),
        ),
      );
      expect(submits.every((r) => r.status === 202)).toBe(true);
      const ids = await Promise.all(
        submits.map(async (r) => ((await r.json()) as { job_id: string }).job_id),
      );
      const done = await Promise.all(ids.map((id) => srv.services.jobs.waitFor(id, 25_000)));
      expect(done.map((o) => o?.job.status)).toEqual(ids.map(() => "completed"));
      expect(a1111.maxInFlight).toBe(1);
    } finally {
      a1111.delayMs = 30;
    }
  });

  it("an OpenAI-compatible upstream serves a model, resized to the requested size", async () => {
    const t = await srv.tenant("1.00");
    const prompt = "a bowl of ramen, studio light";
    const res = await srv.api(t.key, "POST", "/v1/generate", {
      prompt,
      model: "openai-model",
      size: "512x512",
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as GenBody;
    const meta = await sharp(Buffer.from(body.data.image.b64_json, "base64")).metadata();
    expect([meta.width, meta.height]).toEqual([512, 512]);
    const c = colourFor(prompt);
    expect(await pixel(body.data.image.b64_json)).toEqual([c.r, c.g, c.b]);
  });

  it("an upstream on the operator's network may answer url results when the engine allows it", async () => {
    const t = await srv.tenant("1.00");
    const prompt = "a teapot on a table";
    const res = await srv.api(t.key, "POST", "/v1/generate", {
      prompt,
      model: "openai-url-model",
      size: "512x512",
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as GenBody;
    const c = colourFor(prompt);
    expect(await pixel(body.data.image.b64_json)).toEqual([c.r, c.g, c.b]);
    expect(openai.calls.some((call) => call.path.startsWith("/v1/files/"))).toBe(true);
  });

  it("garbage from the backend fails the generation and refunds it", async () => {
    const t = await srv.tenant("1.00");
    comfy.mode = "garbage";
    try {
      const res = await srv.api(t.key, "POST", "/v1/generate", {
        prompt: "anything",
        model: "comfy-model",
        size: "256x256",
      });
      expect(res.status).toBe(500);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("generation_failed");
      expect(body.error.message).toBe("Image generation failed: the backend could not make this image");
    } finally {
      comfy.mode = "ok";
    }
    expect((await srv.services.tenants.get(t.id))!).toMatchObject({ available: 1_000_000, held: 0 });
  });

  it("tells a tenant why a generation failed without the backend's own words", async () => {
    const t = await srv.tenant("1.00");
    const before = comfy.error;
    // What a real backend puts in its errors: the operator's paths, hosts and accounts.
    comfy.error = {
      type: "FileNotFoundError",
      message: "/srv/gpu-7.internal.corp/models/acme-private.safetensors not found (org-ACME123)",
    };
    comfy.mode = "error";
    try {
      const res = await srv.api(t.key, "POST", "/v1/images/generate", {
        prompt: "anything",
        model: "comfy-model",
        width: 256,
        height: 256,
      });
      const { job_id } = (await res.json()) as { job_id: string };
      const job = await srv.services.jobs.waitFor(job_id, 10_000);
      expect(job?.job.status).toBe("failed");
      const view = await (await srv.api(t.key, "GET", `/v1/jobs/${job_id}`)).text();
      expect(view).toContain("Image generation failed: the backend could not make this image");
      expect(view).not.toMatch(/internal\.corp|acme-private|org-ACME|comfyui|FileNotFound/);
    } finally {
      comfy.mode = "ok";
      comfy.error = before;
    }
  });

  it("answers 503 service_unavailable before any charge when no backend of the model is up", async () => {
    const t = await srv.tenant("1.00");
    await fetch(`${srv.url}/admin/v1/engines?probe=1`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const res = await srv.api(t.key, "POST", "/v1/generate", {
      prompt: "x",
      model: "down-model",
      size: "256x256",
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("service_unavailable");
    expect((await srv.services.tenants.get(t.id))!).toMatchObject({ available: 1_000_000, held: 0 });
    const jobs = await srv.services.db.kysely
      .selectFrom("jobs")
      .select("id")
      .where("tenant_id", "=", t.id)
      .execute();
    expect(jobs).toHaveLength(0);
  });

  it("streams the backend's progress over SSE, and a cancel interrupts the backend and refunds", async () => {
    const t = await srv.tenant("1.00");
    comfy.delayMs = 1500;
    try {
      const submit = await srv.api(t.key, "POST", "/v1/images/generate", {
        prompt: "slow painting",
        model: "comfy-model",
        width: 256,
        height: 256,
      });
      expect(submit.status).toBe(202);
      const { job_id: id } = (await submit.json()) as { job_id: string };
      const stream = await srv.api(t.key, "GET", `/v1/jobs/${id}/events`);
      const reader = stream.body!.getReader();
      const progress: number[] = [];
      let text = "";
      while (!text.includes('"status":"completed"')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
        for (const m of text.matchAll(/"status":"running","kind":"image","progress":([0-9.]+)/g))
          progress.push(Number(m[1]));
      }
      expect(progress.some((p) => p > 0 && p < 1)).toBe(true);

      comfy.mode = "hang";
      const second = await srv.api(t.key, "POST", "/v1/images/generate", {
        prompt: "never ends",
        model: "comfy-model",
        width: 256,
        height: 256,
      });
      const { job_id: id2 } = (await second.json()) as { job_id: string };
      for (let i = 0; i < 100 && (await srv.services.jobs.get(id2))!.status !== "running"; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const interruptsBefore = comfy.calls.filter((c) => c.path === "/interrupt").length;
      expect((await srv.api(t.key, "DELETE", `/v1/jobs/${id2}`)).status).toBe(204);
      for (
        let i = 0;
        i < 100 && comfy.calls.filter((c) => c.path === "/interrupt").length === interruptsBefore;
        i++
      ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(comfy.calls.filter((c) => c.path === "/interrupt").length).toBeGreaterThan(interruptsBefore);
      expect((await srv.services.jobs.get(id2))!.status).toBe("canceled");
      const tenant = (await srv.services.tenants.get(t.id))!;
      expect(tenant.held).toBe(0);
      expect(tenant.total_generations).toBe(1);
    } finally {
      comfy.mode = "ok";
      comfy.delayMs = 30;
    }
  });
});
