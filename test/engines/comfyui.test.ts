import { pino } from "pino";
import sharp from "sharp";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ComfyUiEngine } from "../../src/engines/comfyui/index.js";
import { fillTemplate, placeholdersIn } from "../../src/engines/comfyui/template.js";
import { WORKFLOWS } from "../../src/engines/comfyui/workflows.js";
import type { EngineDeps, EngineInstanceConfig } from "../../src/engines/instance.js";
import { withTimeout } from "../../src/engines/shared/upstream.js";
import { EngineError, type EngineRequest, type SourceImage } from "../../src/engines/types.js";
import { startFakeComfyUI, type FakeComfyUI } from "../fakes/comfyui.js";

const deps: EngineDeps = {
  maxPixels: 50_000_000,
  maxResponseBytes: 20 * 1024 * 1024,
  log: pino({ level: "silent" }),
};

let fake: FakeComfyUI;
let engines: ComfyUiEngine[] = [];

function engine(overrides: Partial<EngineInstanceConfig> = {}): ComfyUiEngine {
  const cfg: EngineInstanceConfig = {
    id: "gpu-1",
    kind: "comfyui",
    url: fake.url,
    concurrency: 4,
    timeoutMs: 60_000,
    headers: {},
    ...overrides,
  };
  const e = new ComfyUiEngine(cfg, deps);
  engines.push(e);
  return e;
}

function request(overrides: Partial<EngineRequest> = {}): EngineRequest {
  return {
    prompt: "a lighthouse at dusk",
    width: 64,
    height: 48,
    seed: 0x2a10 + 7, // r = 0x17, g = 0x2a
    format: "png",
    images: [],
    model: "sd15",
    signal: new AbortController().signal,
    ...overrides,
  };
}

async function pixel(bytes: Buffer): Promise<number[]> {
  const { data } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return [data[0], data[1], data[2]] as number[];
}

async function source(width: number, height: number, format: "png" | "jpeg" = "png"): Promise<SourceImage> {
  const img = sharp({ create: { width, height, channels: 3, background: { r: 10, g: 200, b: 30 } } });
  const bytes = await (format === "png" ? img.png() : img.jpeg()).toBuffer();
  return { bytes, format, width, height };
}

async function failure(p: Promise<unknown>): Promise<EngineError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EngineError);
  return err as EngineError;
}

const posted = (path: string) => fake.calls.filter((c) => c.method === "POST" && c.path === path);
const prompts = () =>
  posted("/prompt").map((c) => c.body as { prompt: Record<string, any>; client_id: string });

beforeEach(async () => {
  fake = await startFakeComfyUI();
});

afterEach(async () => {
  for (const e of engines) e.close();
  engines = [];
  await fake.close();
});

describe("placeholders", () => {
  it("keeps numbers as numbers and interpolates inside strings", () => {
    const template = {
      "1": {
        class_type: "X",
        inputs: {
          seed: "{{seed}}",
          cfg: "{{ cfg }}",
          text: "{{prompt}}",
          prefix: "zekron_{{seed}}_{{width}}x{{height}}",
          list: ["{{steps}}", ["{{denoise}}"]],
          link: ["4", 0],
        },
      },
    };
    const out = fillTemplate(template, {
      seed: 42,
      cfg: 6.5,
      prompt: "say {{seed}} literally",
      width: 512,
      height: 768,
      steps: 20,
      denoise: 0.5,
    });
    expect(out["1"].inputs).toEqual({
      seed: 42,
      cfg: 6.5,
      text: "say {{seed}} literally",
      prefix: "zekron_42_512x768",
      list: [20, [0.5]],
      link: ["4", 0],
    });
    expect(template["1"].inputs.seed).toBe("{{seed}}");
  });

  it("fills the built-in text-to-image graph with typed values", () => {
    const g = fillTemplate(WORKFLOWS.txt2img, {
      prompt: "p",
      negative_prompt: "",
      seed: 3,
      width: 64,
      height: 32,
      checkpoint: "model.safetensors",
      steps: 20,
      cfg: 7,
      sampler: "euler",
      scheduler: "normal",
      denoise: 1,
    }) as Record<string, { inputs: Record<string, unknown> }>;
    expect(g["5"]?.inputs).toEqual({ width: 64, height: 32, batch_size: 1 });
    expect(g["3"]?.inputs.seed).toBe(3);
    expect(g["4"]?.inputs.ckpt_name).toBe("model.safetensors");
    expect(placeholdersIn(WORKFLOWS["img2img-2"])).toEqual(
      new Set(
        ["checkpoint", "image", "image2", "prompt", "negative_prompt"].concat(
          ["seed", "steps", "cfg"],
          ["sampler", "scheduler", "denoise"],
        ),
      ),
    );
  });

  it("refuses unknown placeholders and missing values", () => {
    expect(() => fillTemplate({ a: "{{nope}}" }, {})).toThrow(/unknown placeholder \{\{nope\}\}/);
    expect(() => fillTemplate({ a: "{{image}}" }, {})).toThrow(/needs a source image/);
  });
});

describe("ComfyUiEngine against the fake", () => {
  it("generates: right size, format and seed colour, over one WebSocket with a stable client id", async () => {
    const e = engine();
    const progress: number[] = [];
    const r = await e.generate(request({ format: "webp", onProgress: (p) => progress.push(p) }));
    expect(r.format).toBe("webp");
    const meta = await sharp(r.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["webp", 64, 48]);
    const [red, green, blue] = await pixel(r.bytes);
    expect(Math.abs(red! - 0x17)).toBeLessThan(4);
    expect(Math.abs(green! - 0x2a)).toBeLessThan(4);
    expect(Math.abs(blue! - 99)).toBeLessThan(4);

    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.at(-1)).toBe(1);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);

    const [body] = prompts();
    expect(body?.prompt["3"].inputs).toMatchObject({
      seed: 0x2a17,
      steps: 20,
      cfg: 7,
      sampler_name: "euler",
    });
    expect(body?.prompt["5"].inputs).toMatchObject({ width: 64, height: 48 });
    const ws = fake.calls.filter((c) => c.path === "/ws");
    expect(ws).toHaveLength(1);

    await e.generate(request({ seed: 1 }));
    expect(fake.calls.filter((c) => c.path === "/ws")).toHaveLength(1);
    const ids = prompts().map((p) => p.client_id);
    expect(ids[0]).toBeTruthy();
    expect(ids[1]).toBe(ids[0]);
  });

  it("runs concurrent jobs through one socket and gives each its own result and events", async () => {
    const e = engine();
    // The first prompt fails while the others wait in the queue: its error event must reach only its job.
    fake.failSeeds.add(13);
    const seeds = [13, 5, 77, 200, 31];
    const results = await Promise.allSettled(seeds.map((seed) => e.generate(request({ seed }))));
    expect(results[0]?.status).toBe("rejected");
    for (const [i, r] of results.entries()) {
      if (i === 0) continue;
      expect(r.status).toBe("fulfilled");
      if (r.status === "fulfilled") expect((await pixel(r.value.bytes))[0]).toBe(seeds[i]);
    }
    expect(fake.maxInFlight).toBe(1);
    expect(fake.calls.filter((c) => c.path === "/ws")).toHaveLength(1);
  });

  it("passes route params and sends the instance headers on every request, WebSocket included", async () => {
    const e = engine({ headers: { "x-route-token": "abc" } });
    await e.generate(
      request({
        params: {
          checkpoint: "sdxl.safetensors",
          steps: 8,
          cfg: 4.5,
          sampler: "dpmpp_2m",
          scheduler: "karras",
        },
      }),
    );
    expect(prompts()[0]?.prompt["4"].inputs.ckpt_name).toBe("sdxl.safetensors");
    expect(prompts()[0]?.prompt["3"].inputs).toMatchObject({ steps: 8, cfg: 4.5, scheduler: "karras" });
    expect(fake.calls.length).toBeGreaterThan(3);
    for (const c of fake.calls) expect(c.headers["x-route-token"], c.path).toBe("abc");
  });

  it("edits one image: uploads it and loads it by the returned name", async () => {
    const e = engine();
    const img = await source(40, 30, "jpeg");
    const r = await e.generate(request({ images: [img], width: 40, height: 30 }));
    expect((await pixel(r.bytes))[0]).toBe(0x17);
    const [upload] = posted("/upload/image");
    const body = upload?.body as { image: { filename: string }; type: string; overwrite: string };
    expect(body.type).toBe("input");
    expect(body.overwrite).toBe("true");
    expect(body.image.filename).toMatch(/^zekron_[0-9a-f]+\.jpg$/);
    expect(fake.uploads.get(body.image.filename)?.equals(img.bytes)).toBe(true);
    const graph = prompts()[0]!.prompt;
    expect(graph["10"].inputs.image).toBe(body.image.filename);
    expect(graph["3"].inputs.denoise).toBe(0.75);
    expect(graph["3"].inputs.latent_image).toEqual(["11", 0]);
  });

  it("edits two images with ImageBlend, each uploaded under its own name", async () => {
    const e = engine();
    const r = await e.generate(
      request({ images: [await source(32, 32), await source(16, 16)], params: { denoise: 0.4 } }),
    );
    expect(r.width).toBe(64);
    const names = posted("/upload/image").map(
      (c) => (c.body as { image: { filename: string } }).image.filename,
    );
    expect(names).toHaveLength(2);
    expect(new Set(names).size).toBe(2);
    for (const n of names) expect(fake.uploads.has(n)).toBe(true);
    const graph = prompts()[0]!.prompt;
    expect([graph["10"].inputs.image, graph["12"].inputs.image]).toEqual(names);
    expect(graph["13"]).toEqual({
      class_type: "ImageBlend",
      inputs: { image1: ["10", 0], image2: ["12", 0], blend_factor: 0.5, blend_mode: "normal" },
    });
    expect(graph["3"].inputs.denoise).toBe(0.4);
  });

  it("accepts a custom API-format workflow and ignores temp previews", async () => {
    const workflow = structuredClone(WORKFLOWS.txt2img) as Record<string, any>;
    workflow["1"] = { class_type: "PreviewImage", inputs: { images: ["8", 0] } };
    workflow["9"].inputs.filename_prefix = "job_{{seed}}";
    const r = await engine().generate(request({ seed: 180, params: { workflow } }));
    expect((await pixel(r.bytes))[0]).toBe(180);
    expect(prompts()[0]?.prompt["9"].inputs.filename_prefix).toBe("job_180");
    expect(fake.calls.some((c) => c.path === "/view" && c.method === "GET")).toBe(true);
  });

  it("refuses bad params and templates before queueing anything (non-retryable)", async () => {
    const e = engine();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ steps: "twenty" }, /steps must be an integer/],
      [{ cfg: -1 }, /cfg must be a number/],
      [{ denoise: 2 }, /denoise must be a number/],
      [{ checkpoint: 5 }, /checkpoint must be a non-empty string/],
      [{ workflow: "nope" }, /not a built-in workflow/],
      [
        { workflow: { "1": { class_type: "X", inputs: { a: "{{colour}}" } } } },
        /unknown placeholder \{\{colour\}\}/,
      ],
      [{ workflow: WORKFLOWS.img2img }, /needs a source image for \{\{image\}\}/],
      [{ workflow: { nodes: [], links: [] } }, /UI-format/],
      [{ edit_workflow: 3 }, /edit_workflow must be/],
    ];
    for (const [params, message] of cases) {
      const err = await failure(e.generate(request({ params })));
      expect(err.message).toMatch(message);
      expect(err.retryable).toBe(false);
    }
    const twoForOne = await failure(
      e.generate(
        request({ images: [await source(8, 8)], params: { edit_workflow: WORKFLOWS["img2img-2"] } }),
      ),
    );
    expect(twoForOne.message).toMatch(/\{\{image2\}\}.*only one/);
    expect(posted("/prompt")).toHaveLength(0);
    expect(posted("/upload/image")).toHaveLength(0);
  });

  it("reports the backend's validation errors clearly (node id, class, details), non-retryable", async () => {
    const e = engine();
    const err = await failure(e.generate(request({ params: { checkpoint: "missing.safetensors" } })));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("comfyui gpu-1");
    expect(err.message).toContain("node 4 (CheckpointLoaderSimple)");
    expect(err.message).toContain("ckpt_name: 'missing.safetensors' not in");

    const noSave = structuredClone(WORKFLOWS.txt2img) as Record<string, any>;
    delete noSave["9"];
    const err2 = await failure(e.generate(request({ params: { workflow: noSave } })));
    expect(err2.message).toContain("Prompt has no outputs");
    expect(err2.retryable).toBe(false);
  });

  it("maps execution errors: non-retryable, but out-of-memory is retryable", async () => {
    const e = engine();
    fake.mode = "error";
    const err = await failure(e.generate(request()));
    expect(err.message).toContain("node 3 (KSampler)");
    expect(err.message).toContain("Expected all tensors to be on the same device");
    expect(err.retryable).toBe(false);

    fake.error = {
      type: "torch.OutOfMemoryError",
      message: "CUDA out of memory. Tried to allocate 2.00 GiB",
    };
    const oom = await failure(e.generate(request()));
    expect(oom.message).toContain("CUDA out of memory");
    expect(oom.retryable).toBe(true);
  });

  it("fails retryably, without hanging, when the backend crashes mid-job", async () => {
    const e = engine();
    fake.mode = "crash";
    const err = await failure(e.generate(request()));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/lost the backend/);
  });

  it("notices that a backend which restarted mid-job lost the prompt (retryable)", async () => {
    const e = engine();
    fake.mode = "crash";
    const job = failure(e.generate(request()));
    await vi.waitFor(() => expect(fake.crashes).toBe(1));
    fake.mode = "ok";
    await fake.restart();
    const err = await job;
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/lost prompt/);
    // The engine works again against the restarted server.
    const r = await e.generate(request({ seed: 3 }));
    expect((await pixel(r.bytes))[0]).toBe(3);
  });

  it("on timeout, interrupts the running prompt and rejects with the timeout error", async () => {
    const e = engine();
    fake.mode = "hang";
    const progress: number[] = [];
    const t = withTimeout(new AbortController().signal, 500, "comfyui gpu-1");
    const err = await failure(e.generate(request({ signal: t.signal, onProgress: (p) => progress.push(p) })));
    t.clear();
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/no answer within/);
    expect(progress.length).toBeGreaterThan(0);
    const id = (posted("/prompt")[0]?.body as { prompt_id: string }).prompt_id;
    expect(id).toBeTruthy();
    expect(posted("/interrupt").map((c) => c.body)).toEqual([{ prompt_id: id }]);
  });

  it("on cancel, interrupts a running prompt and deletes a pending one", async () => {
    const e = engine();
    fake.mode = "hang";
    const a = new AbortController();
    const b = new AbortController();
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const first = failure(e.generate(request({ signal: a.signal, onProgress: () => started() })));
    await running;
    const second = failure(e.generate(request({ seed: 9, signal: b.signal })));
    await vi.waitFor(() => expect(posted("/prompt")).toHaveLength(2));
    const [idA, idB] = posted("/prompt").map((c) => (c.body as { prompt_id: string }).prompt_id);

    b.abort(new EngineError("job canceled by the client"));
    expect((await second).message).toBe("job canceled by the client");
    expect(posted("/queue").map((c) => c.body)).toEqual([{ delete: [idB] }]);
    expect(posted("/interrupt")).toHaveLength(0);

    a.abort();
    const errA = await first;
    expect(errA.message).toMatch(/canceled/);
    expect(errA.retryable).toBe(false);
    expect(posted("/interrupt").map((c) => c.body)).toEqual([{ prompt_id: idA }]);
    // The deleted prompt never ran.
    await vi.waitFor(() => expect(fake.inFlight).toBe(0));
    expect(fake.maxInFlight).toBe(1);
  });

  it("refuses garbage output and redirects (non-retryable)", async () => {
    const e = engine();
    fake.mode = "garbage";
    const garbage = await failure(e.generate(request()));
    expect(garbage.retryable).toBe(false);
    expect(garbage.message).toMatch(/not a PNG, JPEG or WebP/);

    fake.mode = "redirect";
    const redirect = await failure(e.generate(request()));
    expect(redirect.retryable).toBe(false);
    expect(redirect.message).toMatch(/redirect/);
  });

  it("answers 5xx as retryable", async () => {
    fake.mode = "http500";
    const err = await failure(engine().generate(request()));
    expect(err.retryable).toBe(true);
  });

  it("waits out the race between the success event and the history entry", async () => {
    fake.historyDelayMs = 400;
    const r = await engine().generate(request({ seed: 66 }));
    expect((await pixel(r.bytes))[0]).toBe(66);
    const polls = fake.calls.filter((c) => c.path.startsWith("/history/"));
    expect(polls.length).toBeGreaterThan(1);
  });

  it("falls back to history polling when the WebSocket is refused", async () => {
    fake.websocket = false;
    const r = await engine().generate(request({ seed: 12 }));
    expect((await pixel(r.bytes))[0]).toBe(12);
  });

  it("reconnects the WebSocket after it drops, with the same client id", async () => {
    const e = engine();
    await e.generate(request());
    fake.dropSockets();
    // Long enough for the engine to notice the drop and reconnect while the prompt still runs.
    fake.delayMs = 2_000;
    const progress: number[] = [];
    await e.generate(request({ onProgress: (p) => progress.push(p) }));
    const ws = fake.calls.filter((c) => c.path === "/ws");
    expect(ws).toHaveLength(2);
    expect(new Set(prompts().map((p) => p.client_id)).size).toBe(1);
    expect(progress.some((p) => p > 0 && p < 1)).toBe(true);
  });

  it("probes /system_stats and fails when the backend is down or broken", async () => {
    const e = engine();
    await e.probe(new AbortController().signal);
    expect(fake.calls.at(-1)?.path).toBe("/system_stats");
    fake.mode = "http500";
    expect((await failure(e.probe(new AbortController().signal))).retryable).toBe(true);
    fake.mode = "ok";
    await fake.stop();
    const err = await failure(e.probe(new AbortController().signal));
    expect(err.retryable).toBe(true);
    await fake.restart();
    await e.probe(new AbortController().signal);
  });
});

describe("the fake's upload route", () => {
  it("renames a clash with different content, as ComfyUI does", async () => {
    const up = async (bytes: Buffer) => {
      const form = new FormData();
      form.append("image", new Blob([new Uint8Array(bytes)]), "x.png");
      const res = await fetch(`${fake.url}/api/upload/image`, { method: "POST", body: form });
      return ((await res.json()) as { name: string }).name;
    };
    expect(await up(Buffer.from("one"))).toBe("x.png");
    expect(await up(Buffer.from("one"))).toBe("x.png");
    expect(await up(Buffer.from("two"))).toBe("x (1).png");
  });
});
