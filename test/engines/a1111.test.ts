import { pino } from "pino";
import sharp from "sharp";
import { afterEach, describe, expect, it, vi } from "vitest";
import { A1111Engine } from "../../src/engines/a1111/index.js";
import type { EngineInstanceConfig } from "../../src/engines/instance.js";
import { withTimeout } from "../../src/engines/shared/upstream.js";
import { EngineError, type EngineRequest, type SourceImage } from "../../src/engines/types.js";
import { startFakeA1111, type FakeA1111 } from "../fakes/a1111.js";

const deps = { maxPixels: 16_000_000, maxResponseBytes: 50 * 1024 * 1024, log: pino({ level: "silent" }) };
const fakes: FakeA1111[] = [];

afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function fake(opts?: Parameters<typeof startFakeA1111>[0]): Promise<FakeA1111> {
  const f = await startFakeA1111(opts);
  fakes.push(f);
  return f;
}

function engine(f: FakeA1111, over: Partial<EngineInstanceConfig> = {}): A1111Engine {
  const cfg: EngineInstanceConfig = {
    id: "gpu-1",
    kind: "a1111",
    url: f.url,
    concurrency: 1,
    timeoutMs: 60_000,
    headers: { "x-gateway": "zekron" },
    ...over,
  };
  return new A1111Engine(cfg, deps);
}

function request(over: Partial<EngineRequest> = {}): EngineRequest {
  return {
    prompt: "a lighthouse at dusk",
    negativePrompt: "blurry",
    width: 64,
    height: 48,
    seed: 300, // colour (44, 1, 99) in the fake
    format: "png",
    images: [],
    model: "sd15",
    signal: new AbortController().signal,
    ...over,
  };
}

async function firstPixel(bytes: Buffer): Promise<number[]> {
  const { data } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return [data[0] as number, data[1] as number, data[2] as number];
}

async function source(width: number, height: number): Promise<SourceImage> {
  const bytes = await sharp({ create: { width, height, channels: 3, background: { r: 200, g: 10, b: 10 } } })
    .png()
    .toBuffer();
  return { bytes, format: "png", width, height };
}

async function failure(p: Promise<unknown>): Promise<EngineError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EngineError);
  return err as EngineError;
}

const generations = (f: FakeA1111) => f.calls.filter((c) => c.method === "POST" && /2img$/.test(c.path));
const interrupts = (f: FakeA1111) => f.calls.filter((c) => c.path === "/sdapi/v1/interrupt");

describe("a1111 engine: text to image", () => {
  it("posts txt2img with the defaults and returns the normalized image", async () => {
    const f = await fake();
    const e = engine(f);
    expect(e.kind).toBe("a1111");
    const out = await e.generate(request());

    expect(out).toMatchObject({ format: "png", width: 64, height: 48 });
    const meta = await sharp(out.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 64, 48]);
    expect(await firstPixel(out.bytes)).toEqual([44, 1, 99]);

    const [call] = generations(f);
    expect(call?.path).toBe("/sdapi/v1/txt2img");
    expect(call?.body).toEqual({
      prompt: "a lighthouse at dusk",
      negative_prompt: "blurry",
      seed: 300,
      width: 64,
      height: 48,
      steps: 20,
      cfg_scale: 7,
      sampler_name: "Euler a",
      batch_size: 1,
      n_iter: 1,
      send_images: true,
      save_images: false,
    });
    expect(call?.headers["x-gateway"]).toBe("zekron");
    expect(call?.headers.authorization).toBeUndefined();
  });

  it("sends the route's parameters and re-encodes to the requested format", async () => {
    const f = await fake();
    const params = {
      checkpoint: "sdxl.safetensors",
      steps: 8,
      cfg_scale: 2.5,
      sampler: "DPM++ 2M",
      scheduler: "Karras",
    };
    const out = await engine(f).generate(request({ params, format: "jpeg", seed: 0x0203 }));
    expect((await sharp(out.bytes).metadata()).format).toBe("jpeg");
    const [r, g, b] = await firstPixel(out.bytes);
    expect(
      Math.abs((r as number) - 3) + Math.abs((g as number) - 2) + Math.abs((b as number) - 99),
    ).toBeLessThan(12);
    expect(generations(f)[0]?.body).toMatchObject({
      steps: 8,
      cfg_scale: 2.5,
      sampler_name: "DPM++ 2M",
      scheduler: "Karras",
      override_settings: { sd_model_checkpoint: "sdxl.safetensors" },
    });
  });

  it("tolerates images answered as data: URLs", async () => {
    const f = await fake();
    f.dataUrl = true;
    const out = await engine(f).generate(request());
    expect(await firstPixel(out.bytes)).toEqual([44, 1, 99]);
  });

  it("refuses badly typed parameters before calling the backend", async () => {
    const f = await fake();
    const e = engine(f);
    const bad: Record<string, unknown>[] = [
      { steps: "20" },
      { steps: 0 },
      { steps: 2.5 },
      { cfg_scale: Number.NaN },
      { sampler: 5 },
      { scheduler: "" },
      { checkpoint: ["a"] },
      { denoising_strength: 1.5 },
    ];
    for (const params of bad) {
      const err = await failure(e.generate(request({ params })));
      expect(err.retryable).toBe(false);
      expect(err.message).toContain(`parameter ${Object.keys(params)[0]} must be`);
    }
    expect(f.calls).toHaveLength(0);
  });

  it("reports the backend's progress while the job runs, ending with 1", async () => {
    const f = await fake();
    f.delayMs = 2_000;
    const seen: number[] = [];
    await engine(f).generate(request({ onProgress: (p) => seen.push(p) }));
    expect(f.calls.some((c) => c.path === "/sdapi/v1/progress")).toBe(true);
    expect(seen.some((p) => p > 0 && p < 1)).toBe(true);
    expect(seen.at(-1)).toBe(1);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    const polls = f.calls.filter((c) => c.path === "/sdapi/v1/progress").length;
    await new Promise((r) => setTimeout(r, 700));
    expect(f.calls.filter((c) => c.path === "/sdapi/v1/progress").length).toBe(polls);
  });
});

describe("a1111 engine: edits", () => {
  it("posts img2img with the source as a base64 init image", async () => {
    const f = await fake();
    const out = await engine(f).generate(request({ images: [await source(80, 60)], width: 64, height: 64 }));
    expect([out.width, out.height]).toEqual([64, 64]);
    expect(await firstPixel(out.bytes)).toEqual([44, 1, 99]);
    expect(f.initImages).toEqual([{ count: 1, width: 80, height: 60 }]);
    const [call] = generations(f);
    expect(call?.path).toBe("/sdapi/v1/img2img");
    expect(call?.body).toMatchObject({ denoising_strength: 0.75, batch_size: 1, width: 64, height: 64 });
  });

  it("sends the configured denoising strength", async () => {
    const f = await fake();
    await engine(f).generate(
      request({ images: [await source(40, 30)], params: { denoising_strength: 0.4 } }),
    );
    expect(f.initImages).toEqual([{ count: 1, width: 40, height: 30 }]);
    expect(generations(f)[0]?.body).toMatchObject({ denoising_strength: 0.4, batch_size: 1 });
  });

  it("refuses two source images: img2img cannot combine them (the router sends those elsewhere)", async () => {
    const f = await fake();
    const images = [await source(40, 30), await source(30, 40)];
    const err = await failure(engine(f).generate(request({ images })));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("img2img takes only 1 source image");
    expect(generations(f)).toHaveLength(0);
  });
});

describe("a1111 engine: backend errors", () => {
  it("turns A1111's error shape into a clear non-retryable message", async () => {
    const f = await fake();
    const err = await failure(engine(f).generate(request({ params: { sampler: "Bogus" } })));
    expect(err.retryable).toBe(false);
    expect(err.message).toBe("a1111 gpu-1: the backend answered 404: Sampler not found");
  });

  it("turns FastAPI validation details into a clear non-retryable message", async () => {
    const f = await fake();
    const e = engine(f);
    f.nextError = {
      status: 422,
      body: {
        detail: [{ loc: ["body", "width"], msg: "value is not a valid integer", type: "type_error.integer" }],
      },
    };
    let err = await failure(e.generate(request()));
    expect(err.retryable).toBe(false);
    expect(err.message).toBe("a1111 gpu-1: the backend answered 422: width: value is not a valid integer");

    f.nextError = { status: 400, body: { detail: "Model not loaded" } };
    err = await failure(e.generate(request()));
    expect(err.retryable).toBe(false);
    expect(err.message).toBe("a1111 gpu-1: the backend answered 400: Model not loaded");
  });

  it("makes an execution error on the backend retryable and names it", async () => {
    const f = await fake();
    f.mode = "error";
    const err = await failure(engine(f).generate(request()));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("500: OutOfMemoryError: CUDA out of memory");
  });

  it("makes a crash mid-job and a 500 retryable", async () => {
    const f = await fake();
    const e = engine(f);
    f.mode = "crash";
    f.delayMs = 200;
    let err = await failure(e.generate(request()));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("cannot reach the backend");

    f.mode = "http500";
    err = await failure(e.generate(request()));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("500");
  });

  it("refuses garbage, a missing image and a redirect without retrying", async () => {
    const f = await fake();
    const e = engine(f);
    const cases = [
      ["garbage", "not a PNG, JPEG or WebP image"],
      ["empty", "without an image"],
      ["redirect", "redirect (302)"],
    ] as const;
    for (const [mode, text] of cases) {
      f.mode = mode;
      const err = await failure(e.generate(request()));
      expect(err.retryable).toBe(false);
      expect(err.message).toContain(text);
    }
  });

  it("says so when the server has no sdapi routes", async () => {
    const f = await fake();
    const err = await failure(engine(f, { url: `${f.url}/ui` }).generate(request()));
    expect(err.message).toContain("start it with --api");
  });
});

describe("a1111 engine: cancel and timeout", () => {
  it("interrupts the backend and rejects with the timeout", async () => {
    const f = await fake();
    const e = engine(f);
    f.mode = "hang";
    const t = withTimeout(new AbortController().signal, 300, "a1111 gpu-1");
    const err = await failure(e.generate(request({ signal: t.signal })));
    t.clear();
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("no answer within 0.3 s");
    expect(interrupts(f)).toHaveLength(1);

    f.mode = "ok";
    const out = await e.generate(request());
    expect(out.width).toBe(64);
  });

  it("with several jobs at once on an instance, a cancel does not interrupt (it could hit another job)", async () => {
    const f = await fake();
    const e = engine(f, { concurrency: 2 });
    f.mode = "hang";
    const ctl = new AbortController();
    const job = failure(e.generate(request({ signal: ctl.signal })));
    while (f.inFlight < 1) await new Promise((r) => setTimeout(r, 5));
    ctl.abort(new EngineError("canceled by the client"));
    const err = await job;
    expect(err.message).toBe("canceled by the client");
    expect(interrupts(f)).toHaveLength(0);
  });

  it("interrupts the backend on cancel and rejects even though the backend answers an image", async () => {
    const f = await fake();
    const e = engine(f);
    f.mode = "hang";
    const ctl = new AbortController();
    const job = failure(e.generate(request({ signal: ctl.signal })));
    await vi.waitFor(() => expect(f.running).toBe(true));
    ctl.abort();
    const err = await job;
    expect(err.message).toBe("a1111 gpu-1: canceled");
    expect(err.retryable).toBe(false);
    expect(interrupts(f)).toHaveLength(1);

    const reason = new EngineError("job canceled by the client");
    const ctl2 = new AbortController();
    const job2 = failure(e.generate(request({ signal: ctl2.signal })));
    await vi.waitFor(() => expect(f.running).toBe(true));
    ctl2.abort(reason);
    expect(await job2).toBe(reason);
    expect(interrupts(f)).toHaveLength(2);
  });

  it("does not call the backend for an already aborted request", async () => {
    const f = await fake();
    const ctl = new AbortController();
    ctl.abort();
    const err = await failure(engine(f).generate(request({ signal: ctl.signal })));
    expect(err.message).toBe("a1111 gpu-1: canceled");
    expect(f.calls).toHaveLength(0);
  });
});

describe("a1111 engine: concurrency", () => {
  it("never overlaps generations on one instance when concurrency is 1", async () => {
    const f = await fake();
    f.delayMs = 100;
    const e = engine(f);
    const outs = await Promise.all([1, 2, 3].map((seed) => e.generate(request({ seed }))));
    expect(outs).toHaveLength(3);
    expect(generations(f)).toHaveLength(3);
    expect(f.maxInFlight).toBe(1);
  });

  it("lets calls overlap up to a higher configured concurrency", async () => {
    const f = await fake();
    f.delayMs = 300;
    const e = engine(f, { concurrency: 3 });
    await Promise.all([1, 2, 3].map((seed) => e.generate(request({ seed }))));
    expect(f.maxInFlight).toBe(3);
  });

  it("keeps the slot after a cancel until the backend has stopped the job", async () => {
    const f = await fake();
    f.mode = "hang";
    f.interruptDelayMs = 600;
    const e = engine(f);
    const ctl = new AbortController();
    const canceled = failure(e.generate(request({ signal: ctl.signal })));
    await vi.waitFor(() => expect(f.running).toBe(true));
    ctl.abort();
    expect((await canceled).message).toBe("a1111 gpu-1: canceled");

    f.mode = "ok";
    await e.generate(request());
    expect(generations(f)).toHaveLength(2);
    expect(f.maxInFlight).toBe(1);
  });

  it("lets a waiting caller leave the queue when its signal aborts", async () => {
    const f = await fake();
    f.mode = "hang";
    const e = engine(f);
    const first = new AbortController();
    const running = failure(e.generate(request({ signal: first.signal })));
    await vi.waitFor(() => expect(f.running).toBe(true));

    const waiting = new AbortController();
    const queued = failure(e.generate(request({ signal: waiting.signal })));
    waiting.abort();
    expect((await queued).message).toBe("a1111 gpu-1: canceled");
    expect(generations(f)).toHaveLength(1);
    expect(interrupts(f)).toHaveLength(0);

    first.abort();
    await running;
    f.mode = "ok";
    await e.generate(request());
    expect(generations(f)).toHaveLength(2);
  });
});

describe("a1111 engine: auth and probe", () => {
  const auth = { user: "gateway", password: "s3cret-pass" };

  it("sends Basic auth on every request when configured", async () => {
    const f = await fake({ auth });
    f.delayMs = 800;
    const e = engine(f, { username: auth.user, password: auth.password });
    await e.generate(request({ onProgress: () => undefined }));
    await e.probe(AbortSignal.timeout(5_000));
    expect(f.calls.some((c) => c.path === "/sdapi/v1/progress")).toBe(true);
    const expected = `Basic ${Buffer.from("gateway:s3cret-pass").toString("base64")}`;
    expect(f.calls.every((c) => c.headers.authorization === expected)).toBe(true);
  });

  it("reports refused or missing credentials without echoing them", async () => {
    const f = await fake({ auth });
    let err = await failure(engine(f, { username: auth.user, password: "wrong-pass" }).generate(request()));
    expect(err.retryable).toBe(false);
    expect(err.message).toBe("a1111 gpu-1: the backend refused the configured credentials (401)");
    expect(err.message).not.toContain("wrong-pass");

    err = await failure(engine(f).generate(request()));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("requires HTTP Basic auth");

    err = await failure(engine(f).probe(AbortSignal.timeout(5_000)));
    expect(err.message).toContain("401");
  });

  it("probes sd-models, and fails when the backend is down or broken", async () => {
    const f = await fake();
    const e = engine(f);
    await e.probe(AbortSignal.timeout(5_000));
    expect(f.calls.at(-1)?.path).toBe("/sdapi/v1/sd-models");

    f.mode = "http500";
    expect((await failure(e.probe(AbortSignal.timeout(5_000)))).retryable).toBe(true);
    f.mode = "ok";

    await f.stop();
    const err = await failure(e.probe(AbortSignal.timeout(5_000)));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("cannot reach the backend");

    await f.restart();
    await e.probe(AbortSignal.timeout(5_000));
  });
});
