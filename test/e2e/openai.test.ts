import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import OpenAI, {
  APIError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  RateLimitError,
  toFile,
} from "openai";
import {
  jobStatuses,
  serverFixture,
  samplePng,
  startTestServer,
  type TestServer,
} from "../helpers/server.js";
import { GatedEngine } from "../helpers/engines.js";
import { DIALECTS, tempDir } from "../helpers/db.js";
import { LocalEngine } from "../../src/engines/local/index.js";
import { EngineError, type Engine, type EngineRequest, type EngineResult } from "../../src/engines/types.js";
import { OPEN_STATUSES } from "../../src/db/schema.js";

interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

function client(srv: TestServer, apiKey: string): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${srv.url}/v1`, maxRetries: 0 });
}

async function pngOf(b64: string) {
  const meta = await sharp(Buffer.from(b64, "base64")).metadata();
  return [meta.format, meta.width, meta.height];
}

async function balanceOf(srv: TestServer, key: string) {
  const res = await srv.api(key, "GET", "/v1/balance");
  return ((await res.json()) as { data: { balance: string; total_spent: string; total_generations: number } })
    .data;
}

async function historyOf(srv: TestServer, key: string) {
  const res = await srv.api(key, "GET", "/v1/generations?limit=100");
  return (
    (await res.json()) as {
      data: { generations: { model: string; type: string; status: string; cost: string; size: string }[] };
    }
  ).data.generations;
}

/** What the SDK raised, for assertions on its class and fields. */
async function raised(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof APIError) return err;
    throw err;
  }
  throw new Error("expected the call to fail");
}

/** A multipart body sent with Transfer-Encoding: chunked (no Content-Length), in small pieces. */
function chunked(form: FormData): { body: ReadableStream<Uint8Array>; type: string } {
  const req = new Request("http://x/", { method: "POST", body: form });
  const type = req.headers.get("content-type")!;
  const reader = req.body!.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      const { done, value } = await reader.read();
      if (done) return ctl.close();
      for (let i = 0; i < value.length; i += 64 * 1024) ctl.enqueue(value.subarray(i, i + 64 * 1024));
    },
  });
  return { body, type };
}

describe("OpenAI-compatible routes, through the official SDK", () => {
  let srv: TestServer;
  let key: string;
  let openai: OpenAI;
  serverFixture("10.00", (f) => {
    ({ srv, key } = f);
    openai = client(srv, key);
  });

  it("generates with b64_json: a PNG of the requested size, and OpenAI's response shape", async () => {
    const prompt = "A lighthouse on a cliff at dawn";
    const res = await openai.images.generate({ prompt, model: "zekron-image-1", size: "512x512" });
    expect(res.data).toHaveLength(1);
    expect(await pngOf(res.data![0]!.b64_json!)).toEqual(["png", 512, 512]);
    expect(res.data![0]!.revised_prompt).toBe(prompt);
    expect(res.data![0]!.url).toBeUndefined();
    expect(res).toMatchObject({
      size: "512x512",
      output_format: "png",
      quality: "auto",
      background: "opaque",
    });
    expect(Math.abs(res.created - Date.now() / 1000)).toBeLessThan(60);
    const input = Math.ceil(prompt.length / 4);
    expect(res.usage).toEqual({
      input_tokens: input,
      input_tokens_details: { text_tokens: input, image_tokens: 0 },
      output_tokens: 256,
      total_tokens: input + 256,
    });
    const [last] = await historyOf(srv, key);
    expect(last).toMatchObject({
      model: "zekron-image-1",
      type: "create",
      status: "completed",
      size: "512x512",
    });
  });

  it("defaults: the default model, size auto = 1024x1024; quality and background echoed", async () => {
    const res = await openai.images.generate({
      prompt: "a red kite",
      size: "auto",
      quality: "high",
      background: "auto",
      output_format: "webp",
    });
    const meta = await sharp(Buffer.from(res.data![0]!.b64_json!, "base64")).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["webp", 1024, 1024]);
    expect(res).toMatchObject({
      size: "1024x1024",
      output_format: "webp",
      quality: "high",
      background: "auto",
    });
    expect((await historyOf(srv, key))[0]!.model).toBe("zekron-image-1");
  });

  it("answers a signed url with response_format url, which fetches without a key", async () => {
    const res = await openai.images.generate({
      prompt: "a blue door",
      size: "256x256",
      response_format: "url",
    });
    const url = res.data![0]!.url!;
    expect(res.data![0]!.b64_json).toBeUndefined();
    expect(url).toMatch(new RegExp(`^${srv.url}/v1/images/[^?]+\\?expires=\\d+&signature=`));
    const img = await fetch(url);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
    const meta = await sharp(Buffer.from(await img.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([256, 256]);
  });

  it("edits one image (image) and combines two (image[])", async () => {
    const one = await openai.images.edit({
      image: await toFile(await samplePng(96, 64), "photo.png", { type: "image/png" }),
      prompt: "Make it look like winter with snow",
      size: "512x512",
    });
    expect(await pngOf(one.data![0]!.b64_json!)).toEqual(["png", 512, 512]);
    expect(one.data![0]!.revised_prompt).toBe("Make it look like winter with snow");

    const two = await openai.images.edit({
      image: [
        await toFile(await samplePng(96, 64), "a.png", { type: "image/png" }),
        // The bytes decide the format, not the label.
        await toFile(await samplePng(120, 80, { r: 30, g: 120, b: 200 }), "b.jpg", { type: "image/jpeg" }),
      ],
      prompt: "Put the subject of the first image into the second",
      size: "256x256",
      output_format: "jpeg",
      n: 1,
    });
    const meta = await sharp(Buffer.from(two.data![0]!.b64_json!, "base64")).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["jpeg", 256, 256]);
    expect(two.output_format).toBe("jpeg");
    const [last, before] = await historyOf(srv, key);
    expect([last!.type, before!.type]).toEqual(["edit", "edit"]);
  });

  it("an invalid size is a BadRequestError with our message and param size", async () => {
    const err = await raised(openai.images.generate({ prompt: "x", size: "1792x1024" }));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.status).toBe(400);
    expect(err.message).toContain('Size "1792x1024" is not available for zekron-image-1');
    expect([err.param, err.code, err.type]).toEqual(["size", "invalid_size", "invalid_request_error"]);
  });

  it("an unknown or unmapped model is a BadRequestError with param model", async () => {
    for (const model of ["no-such-model", "dall-e-3"]) {
      const err = await raised(openai.images.generate({ prompt: "x", model }));
      expect(err).toBeInstanceOf(BadRequestError);
      expect([err.param, err.code]).toEqual(["model", "invalid_model"]);
      expect(err.message).toContain(JSON.stringify(model));
    }
    // An alias of the catalog is a model name like any other.
    const ok = await openai.images.generate({
      prompt: "x",
      model: "zekron-image-1:image-preview",
      size: "256x256",
    });
    expect(ok.data).toHaveLength(1);
  });

  it("a bad key is an AuthenticationError, in OpenAI's shape", async () => {
    const err = await raised(client(srv, "zk_live_" + "a".repeat(38)).images.generate({ prompt: "x" }));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect([err.status, err.type, err.code]).toEqual([401, "authentication_error", "invalid_api_key"]);
    const edit = await raised(
      client(srv, "nope").images.edit({ image: await toFile(await samplePng(), "a.png"), prompt: "x" }),
    );
    expect(edit).toBeInstanceOf(AuthenticationError);
  });

  it("an exhausted balance is an APIError with status 402 and our message; nothing is charged", async () => {
    const poor = await srv.tenant("0.01");
    const err = await raised(client(srv, poor.key).images.generate({ prompt: "x", size: "256x256" }));
    expect(err.status).toBe(402);
    expect(err.message).toMatch(
      /^402 Not enough balance: this image costs 0\.0\d{3} and the balance is 0\.0100$/,
    );
    expect([err.type, err.code, err.param]).toEqual(["insufficient_quota", "insufficient_balance", null]);
    expect((await balanceOf(srv, poor.key)).balance).toBe("0.0100");
  });

  it("keeps the key's rate limit: a RateLimitError with Retry-After", async () => {
    const t = await srv.tenant("1.00", { rate_limit_per_minute: 1 });
    const c = client(srv, t.key);
    await c.images.generate({ prompt: "x", size: "256x256" });
    const err = await raised(c.images.generate({ prompt: "x", size: "256x256" }));
    expect(err).toBeInstanceOf(RateLimitError);
    expect([err.type, err.code]).toEqual(["rate_limit_error", "rate_limit_exceeded"]);
    expect(Number(err.headers?.get("retry-after"))).toBeGreaterThan(0);
  });

  it("n=2 makes two images, held and charged twice, both in the history", async () => {
    const t = await srv.tenant("1.00");
    const res = await client(srv, t.key).images.generate({ prompt: "two cats", size: "256x256", n: 2 });
    expect(res.data).toHaveLength(2);
    for (const d of res.data!) expect(await pngOf(d.b64_json!)).toEqual(["png", 256, 256]);
    expect(res.usage!.output_tokens).toBe(2 * 64);
    const history = await historyOf(srv, t.key);
    expect(history.map((h) => h.status)).toEqual(["completed", "completed"]);
    const cost = Number(history[0]!.cost);
    expect(cost).toBeGreaterThan(0);
    const bal = await balanceOf(srv, t.key);
    expect(bal.total_generations).toBe(2);
    expect(Number(bal.total_spent)).toBeCloseTo(2 * cost, 4);
    expect(Number(bal.balance)).toBeCloseTo(1 - 2 * cost, 4);
  });

  it("n beyond the balance charges nothing and makes no job", async () => {
    const t = await srv.tenant("0.04");
    const err = await raised(client(srv, t.key).images.generate({ prompt: "x", size: "256x256", n: 2 }));
    expect(err.status).toBe(402);
    expect(err.message).toMatch(/these 2 images cost 0\.0\d{3} and the balance is 0\.0400/);
    expect((await balanceOf(srv, t.key)).balance).toBe("0.0400");
    expect(await historyOf(srv, t.key)).toEqual([]);
  });

  it("n out of range and unknown enum values are invalid_parameter with the field", async () => {
    let err = await raised(openai.images.generate({ prompt: "x", n: 11 }));
    expect([err.status, err.param, err.code]).toEqual([400, "n", "invalid_parameter"]);
    err = await raised(openai.images.generate({ prompt: "x", response_format: "png" as "url" }));
    expect([err.param, err.code]).toEqual(["response_format", "invalid_parameter"]);
    err = await raised(openai.images.generate({ prompt: " " }));
    expect([err.param, err.code]).toEqual(["prompt", "missing_prompt"]);
  });

  it("replays an Idempotency-Key like /v1/generate: the same images, one charge per image", async () => {
    const t = await srv.tenant("1.00");
    const c = client(srv, t.key);
    const body = { prompt: "a quiet harbour", size: "256x256" as const, n: 2 };
    const headers = { "Idempotency-Key": "order-42" };
    const first = await c.images.generate(body, { headers });
    const again = await c.images.generate(body, { headers });
    expect(again.data!.map((d) => d.b64_json)).toEqual(first.data!.map((d) => d.b64_json));
    expect(again.created).toBe(first.created);
    expect((await balanceOf(srv, t.key)).total_generations).toBe(2);
    const err = await raised(c.images.generate({ ...body, n: 1 }, { headers }));
    expect([err.status, err.code]).toEqual([422, "idempotency_mismatch"]);
  });

  it("honours X-Zekron-Store: 0 (inline only; url is refused)", async () => {
    const headers = { "X-Zekron-Store": "0" };
    const res = await openai.images.generate({ prompt: "a secret", size: "256x256" }, { headers });
    expect(await pngOf(res.data![0]!.b64_json!)).toEqual(["png", 256, 256]);
    // Inline only: the history shows the generation, but no image was kept for it.
    const [entry] = (
      (await (await srv.api(key, "GET", "/v1/generations?limit=1")).json()) as {
        data: { generations: { prompt: string; token: string | null }[] };
      }
    ).data.generations;
    expect(entry).toMatchObject({ prompt: "a secret", token: null });
    const err = await raised(
      openai.images.generate({ prompt: "a secret", size: "256x256", response_format: "url" }, { headers }),
    );
    expect([err.status, err.param]).toEqual([400, "response_format"]);
  });

  it("refuses a mask with a clear 400", async () => {
    const err = await raised(
      openai.images.edit({
        image: await toFile(await samplePng(), "a.png"),
        mask: await toFile(await samplePng(), "mask.png"),
        prompt: "x",
      }),
    );
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.param).toBe("mask");
    expect(err.message).toContain("mask is not supported");
  });

  it("refuses three images, and an edit without one", async () => {
    const f = async () => toFile(await samplePng(), "a.png");
    let err = await raised(openai.images.edit({ image: [await f(), await f(), await f()], prompt: "x" }));
    expect([err.status, err.code, err.param]).toEqual([400, "too_many_images", "image"]);
    const form = new FormData();
    form.append("prompt", "x");
    const res = await fetch(`${srv.url}/v1/images/edits`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: form,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as OpenAIErrorBody).error.param).toBe("image");
    err = await raised(openai.images.edit({ image: await f(), prompt: "" }));
    expect(err.code).toBe("missing_prompt");
  });

  it("a raw multipart request with a non-image file is 400 invalid_image in OpenAI's shape", async () => {
    const form = new FormData();
    form.append("image", new Blob(["just some text, not a picture"], { type: "image/png" }), "fake.png");
    form.append("prompt", "make it better");
    form.append("n", "1");
    const res = await fetch(`${srv.url}/v1/images/edits`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: form,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as OpenAIErrorBody & Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["error"]);
    expect(body.error).toEqual({
      message: expect.stringContaining("is not a PNG, JPEG or WebP image"),
      type: "invalid_request_error",
      param: "image",
      code: "invalid_image",
    });
  });

  it("reads a chunked multipart body (no Content-Length)", async () => {
    const form = new FormData();
    form.append("image[]", new Blob([new Uint8Array(await samplePng(64, 64))]), "a.png");
    form.append("prompt", "add a moon");
    form.append("size", "256x256");
    form.append("response_format", "url");
    const { body, type } = chunked(form);
    const res = await fetch(`${srv.url}/v1/images/edits`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": type },
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(200);
    const out = (await res.json()) as { data: { url: string }[] };
    expect((await fetch(out.data[0]!.url)).status).toBe(200);
  });

  it("keeps JSON everywhere else: a form sent to /v1/generate is a clear 400 in our shape", async () => {
    const form = new FormData();
    form.append("prompt", "x");
    const res = await fetch(`${srv.url}/v1/generate`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: form,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { success: boolean; error: { code: string } };
    expect([body.success, body.error.code]).toEqual([false, "invalid_json"]);
    // And JSON that is not JSON on the generations route answers in OpenAI's shape.
    const bad = await srv.api(key, "POST", "/v1/images/generations", "{nope");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as OpenAIErrorBody).error).toMatchObject({
      type: "invalid_request_error",
      code: "invalid_json",
    });
  });
});

describe("OpenAI model names mapped by the configuration file", () => {
  let srv: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    const file = path.join(dir, "zekron.yaml");
    writeFileSync(file, "openai_models:\n  gpt-image-1: zekron-image-1\n");
    srv = await startTestServer({ env: { ZEKRON_CONFIG: file, ZEKRON_BODY_LIMIT_MB: "1" } });
  });
  afterAll(() => srv.stop());

  it("accepts a mapped OpenAI name, and still refuses an unmapped one", async () => {
    const { key } = await srv.tenant("1.00");
    const openai = client(srv, key);
    const res = await openai.images.generate({ model: "gpt-image-1", prompt: "an orange", size: "256x256" });
    expect(await pngOf(res.data![0]!.b64_json!)).toEqual(["png", 256, 256]);
    const edit = await openai.images.edit({
      model: "gpt-image-1",
      image: await toFile(await samplePng(), "a.png"),
      prompt: "peel it",
      size: "256x256",
    });
    expect(edit.data).toHaveLength(1);
    expect((await historyOf(srv, key)).map((h) => h.model)).toEqual(["zekron-image-1", "zekron-image-1"]);
    const err = await raised(openai.images.generate({ model: "dall-e-3", prompt: "x" }));
    expect([err.status, err.param, err.code]).toEqual([400, "model", "invalid_model"]);
  });

  it("keeps the body limit for multipart, declared or chunked", async () => {
    const { key } = await srv.tenant("1.00");
    // Noise does not compress: about 1.9 MB of PNG, over the 1 MiB limit of this server.
    const noise = await sharp(randomBytes(800 * 800 * 3), { raw: { width: 800, height: 800, channels: 3 } })
      .png()
      .toBuffer();
    expect(noise.length).toBeGreaterThan(1024 * 1024);
    const err = await raised(
      client(srv, key).images.edit({ image: await toFile(noise, "big.png"), prompt: "x" }),
    );
    expect([err.status, err.type, err.code]).toEqual([413, "invalid_request_error", "payload_too_large"]);

    const form = new FormData();
    form.append("prompt", "x");
    form.append("image", new Blob([new Uint8Array(noise)]), "big.png");
    const { body, type } = chunked(form);
    const res = await fetch(`${srv.url}/v1/images/edits`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": type },
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as OpenAIErrorBody).error.code).toBe("payload_too_large");
    expect((await historyOf(srv, key)).length).toBe(0);
  });
});

/** The local engine, but failing every `failEvery`-th call, or held until `open` (after the first `free`). */
class ScriptedEngine implements Engine {
  readonly kind = "scripted";
  readonly supportsEdit = true;
  readonly maxSourceImages = 2;
  private readonly inner = new LocalEngine();
  failEvery = 0;
  calls = 0;
  free = 0;
  gate?: Promise<void>;

  async generate(req: EngineRequest): Promise<EngineResult> {
    const call = ++this.calls;
    if (this.gate && call > this.free) await this.gate;
    if (this.failEvery && call % this.failEvery === 0) throw new EngineError("backend exploded");
    return this.inner.generate(req);
  }
}

describe("n images when some cannot be made or paid for", () => {
  let srv: TestServer;
  const engine = new ScriptedEngine();
  beforeAll(async () => {
    srv = await startTestServer({ engine });
  });
  afterAll(() => srv.stop());

  it("returns the images that were made and refunds the failed one", async () => {
    const t = await srv.tenant("1.00");
    engine.failEvery = 2;
    engine.calls = 0;
    const res = await client(srv, t.key).images.generate({ prompt: "three pears", size: "256x256", n: 2 });
    expect(res.data).toHaveLength(1);
    expect(res.usage!.output_tokens).toBe(64);
    const history = await historyOf(srv, t.key);
    expect(history.map((h) => h.status).sort()).toEqual(["completed", "failed"]);
    const bal = await balanceOf(srv, t.key);
    expect(bal.total_generations).toBe(1);
    expect(Number(bal.balance)).toBeCloseTo(
      1 - Number(history.find((h) => h.status === "completed")!.cost),
      4,
    );
  });

  it("answers the engine's failure when every image failed, charging nothing", async () => {
    const t = await srv.tenant("1.00");
    engine.failEvery = 1;
    const err = await raised(client(srv, t.key).images.generate({ prompt: "x", size: "256x256", n: 2 }));
    expect(err).toBeInstanceOf(InternalServerError);
    expect([err.status, err.type, err.code]).toEqual([500, "server_error", "generation_failed"]);
    expect((await balanceOf(srv, t.key)).balance).toBe("1.0000");
  });

  it("cancels and refunds the images already held when a later one is refused", async () => {
    engine.failEvery = 0;
    let open!: () => void;
    engine.gate = new Promise((resolve) => (open = resolve));
    try {
      const t = await srv.tenant("1.00", { daily_image_allowance: 1 });
      const err = await raised(
        client(srv, t.key).images.generate(
          { prompt: "x", size: "256x256", n: 2 },
          { headers: { "Idempotency-Key": "k1" } },
        ),
      );
      expect([err.status, err.type, err.code]).toEqual([429, "rate_limit_error", "quota_exceeded"]);
      expect((await historyOf(srv, t.key)).map((h) => h.status)).toEqual(["canceled"]);
      expect((await balanceOf(srv, t.key)).balance).toBe("1.0000");

      // The Idempotency-Key was not used up: with the allowance raised, the same request goes through.
      open();
      await srv.admin("PATCH", `/admin/v1/tenants/${t.id}`, { daily_image_allowance: 5 });
      const ok = await client(srv, t.key).images.generate(
        { prompt: "x", size: "256x256", n: 2 },
        { headers: { "Idempotency-Key": "k1" } },
      );
      expect(ok.data).toHaveLength(2);
    } finally {
      engine.gate = undefined;
      open();
    }
  });

  it("a retry while the first request is still making its images is a 409, not a part of its answer", async () => {
    engine.failEvery = 0;
    engine.calls = 0;
    engine.free = 1;
    let open!: () => void;
    engine.gate = new Promise((resolve) => (open = resolve));
    try {
      const t = await srv.tenant("1.00");
      const c = client(srv, t.key);
      const body = { prompt: "two plums", size: "256x256" as const, n: 2 };
      const headers = { "Idempotency-Key": "k2" };
      const first = c.images.generate(body, { headers });
      const statuses = () => jobStatuses(srv, t.id);
      await expect.poll(statuses).toEqual(["completed", "running"]);
      const err = await raised(c.images.generate(body, { headers }));
      expect([err.status, err.code]).toEqual([409, "idempotency_conflict"]);
      open();
      expect((await first).data).toHaveLength(2);
      expect(await statuses()).toEqual(["completed", "completed"]);
    } finally {
      engine.gate = undefined;
      engine.free = 0;
      open();
    }
  });
});

describe.each(DIALECTS)("n images, each answered, kept or refunded, on %s", (dialect) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ dialect });
  });
  afterAll(() => srv.stop());

  /** Each submit of a job waits until the job submitted before it has ended. */
  function oneAfterAnother() {
    const jobs = srv.services.jobs;
    const submit = jobs.submit.bind(jobs);
    let previous: string | undefined;
    jobs.submit = async (...args) => {
      const id = previous;
      if (id) {
        await expect
          .poll(async () => OPEN_STATUSES.includes((await jobs.get(id))!.status), { timeout: 10_000 })
          .toBe(false);
      }
      const submitted = await submit(...args);
      previous = submitted.job.id;
      return submitted;
    };
    return () => void (jobs.submit = submit);
  }

  it("zero retention: an image that finished while the later ones were being submitted is answered", async () => {
    const t = await srv.tenant("1.00");
    const restore = oneAfterAnother();
    try {
      const res = await client(srv, t.key).images.generate(
        { prompt: "a secret", size: "256x256", n: 3 },
        { headers: { "X-Zekron-Store": "0" } },
      );
      expect(res.data).toHaveLength(3);
      for (const d of res.data!) expect(await pngOf(d.b64_json!)).toEqual(["png", 256, 256]);
    } finally {
      restore();
    }
    expect((await historyOf(srv, t.key)).map((h) => h.status)).toEqual([
      "completed",
      "completed",
      "completed",
    ]);
    expect((await balanceOf(srv, t.key)).total_generations).toBe(3);
  });

  it("a retry of an answer cut short by the allowance replays that answer: no new job, no new charge", async () => {
    const t = await srv.tenant("1.00", { daily_image_allowance: 3 });
    const c = client(srv, t.key);
    const body = { prompt: "five pears", size: "256x256" as const, n: 5 };
    const headers = { "Idempotency-Key": "order-7" };
    const restore = oneAfterAnother();
    let first;
    try {
      first = await c.images.generate(body, { headers });
    } finally {
      restore();
    }
    expect(first.data).toHaveLength(3);
    const paid = await balanceOf(srv, t.key);
    expect(paid.total_generations).toBe(3);

    await srv.admin("PATCH", `/admin/v1/tenants/${t.id}`, { daily_image_allowance: 100 });
    const again = await c.images.generate(body, { headers });
    expect(again.data!.map((d) => d.b64_json)).toEqual(first.data!.map((d) => d.b64_json));
    expect(await balanceOf(srv, t.key)).toEqual(paid);
    expect(await historyOf(srv, t.key)).toHaveLength(3);
  });
});

describe("a sync wait that runs out on the OpenAI routes", () => {
  let srv: TestServer;
  const engine = new GatedEngine();
  beforeAll(async () => {
    srv = await startTestServer({ engine, env: { ZEKRON_SYNC_TIMEOUT_SECONDS: "1" } });
  });
  afterAll(async () => {
    engine.release();
    await srv.stop();
  });

  const jobsOf = (tenantId: string) =>
    srv.services.db.kysely
      .selectFrom("jobs")
      .select(["status", "store"])
      .where("tenant_id", "=", tenantId)
      .orderBy("seq")
      .execute();

  it("answers 504 and the job goes on, charged when done and in the history; a zero-retention one is refunded", async () => {
    const t = await srv.tenant("1.00");
    const timedOut = async (headers: Record<string, string>) => {
      const res = await srv.api(
        t.key,
        "POST",
        "/v1/images/generations",
        { prompt: "a slow kite", size: "256x256" },
        headers,
      );
      const body = (await res.json()) as OpenAIErrorBody;
      expect([res.status, body.error.code]).toEqual([504, "generation_timeout"]);
      return body.error.message;
    };
    expect(await timedOut({})).toMatch(/still being generated .* will appear in GET \/v1\/generations/);
    expect(await timedOut({ "X-Zekron-Store": "0" })).toMatch(/canceled and refunded/);

    engine.release();
    await expect
      .poll(() => jobsOf(t.id))
      .toEqual([
        { status: "completed", store: 1 },
        { status: "canceled", store: 0 },
      ]);
    expect((await historyOf(srv, t.key)).map((h) => h.status)).toEqual(["canceled", "completed"]);
    const bal = await balanceOf(srv, t.key);
    expect(bal.total_generations).toBe(1);
    expect(Number(bal.balance)).toBeLessThan(1);
  });
});
