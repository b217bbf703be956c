import http from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import sharp from "sharp";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { chooseSize, OpenAIEngine, promptWithNegative } from "../../src/engines/openai/index.js";
import { fetchResultUrl } from "../../src/engines/openai/result-url.js";
import type { EngineDeps, EngineInstanceConfig } from "../../src/engines/instance.js";
import { withTimeout } from "../../src/engines/shared/upstream.js";
import { EngineError, type EngineRequest, type SourceImage } from "../../src/engines/types.js";
import { colourFor, startFakeOpenAI, type FakeOpenAI } from "../fakes/openai.js";

const KEY = "sk-test-0123456789abcdefSECRET";

let fake: FakeOpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY });
});
afterAll(async () => {
  await fake.close();
});
afterEach(async () => {
  fake.mode = "ok";
  fake.delayMs = 30;
  fake.calls.length = 0;
  fake.edits.length = 0;
  fake.fileAuth.length = 0;
  fake.abandoned = 0;
  fake.maxInFlight = 0;
  // A test that stopped the fake must not leave it down for the next one.
  await fake.restart();
});

function config(overrides: Partial<EngineInstanceConfig> = {}): EngineInstanceConfig {
  return {
    id: "fake",
    kind: "openai",
    url: fake.url,
    concurrency: 2,
    timeoutMs: 10_000,
    apiKey: KEY,
    headers: { "x-org-tag": "zekron-test" },
    ...overrides,
  };
}

function deps(overrides: Partial<EngineDeps> = {}): EngineDeps {
  return {
    maxPixels: 16_000_000,
    maxResponseBytes: 20 * 1024 * 1024,
    log: pino({ level: "silent" }),
    ...overrides,
  };
}

function engine(
  cfg: Partial<EngineInstanceConfig> = {},
  d: Partial<EngineDeps> = {},
  allowPrivateResultUrls = false,
) {
  return new OpenAIEngine(config(cfg), deps(d), { allowPrivateResultUrls });
}

function request(overrides: Partial<EngineRequest> = {}): EngineRequest {
  return {
    prompt: "a lighthouse at dusk",
    width: 300,
    height: 200,
    seed: 1,
    format: "png",
    images: [],
    model: "openai-image",
    signal: new AbortController().signal,
    ...overrides,
  };
}

async function failure(p: Promise<unknown>): Promise<EngineError> {
  const err = await p.then(
    () => {
      throw new Error("expected the engine to fail");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EngineError);
  return err as EngineError;
}

async function centrePixel(bytes: Buffer): Promise<number[]> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 2)) * 3;
  return [data[i] as number, data[i + 1] as number, data[i + 2] as number];
}

async function expectColour(bytes: Buffer, prompt: string, tolerance = 0) {
  const { r, g, b } = colourFor(prompt);
  const px = await centrePixel(bytes);
  for (const [got, want] of [
    [px[0], r],
    [px[1], g],
    [px[2], b],
  ] as [number, number][]) {
    expect(Math.abs(got - want)).toBeLessThanOrEqual(tolerance);
  }
}

async function source(width: number, height: number, format: "png" | "jpeg" = "png"): Promise<SourceImage> {
  const img = sharp({ create: { width, height, channels: 3, background: { r: 10, g: 200, b: 30 } } });
  const bytes = await (format === "png" ? img.png() : img.jpeg()).toBuffer();
  return { bytes, format, width, height };
}

const generations = () => fake.calls.filter((c) => c.path === "/v1/images/generations");

describe("chooseSize", () => {
  const sizes = ["1024x1024", "1536x1024", "1024x1536"];
  it("picks the upstream size closest in aspect ratio", () => {
    expect(chooseSize(sizes, 512, 512)).toBe("1024x1024");
    expect(chooseSize(sizes, 1920, 1080)).toBe("1536x1024");
    expect(chooseSize(sizes, 300, 200)).toBe("1536x1024");
    expect(chooseSize(sizes, 600, 1000)).toBe("1024x1536");
    expect(chooseSize(sizes, 1100, 1000)).toBe("1024x1024");
  });
  it("takes the larger size on a tie", () => {
    expect(chooseSize(["256x256", "1024x1024", "512x512"], 64, 64)).toBe("1024x1024");
    // 1:1 is as far from 2:1 as from 1:2; 1000x500 has more pixels.
    expect(chooseSize(["250x500", "1000x500"], 700, 700)).toBe("1000x500");
    expect(chooseSize(["1000x500", "250x500"], 700, 700)).toBe("1000x500");
  });
  it("folds a negative prompt into the prompt unless told not to", () => {
    expect(promptWithNegative("cat", "dogs", "append")).toBe("cat\nAvoid: dogs");
    expect(promptWithNegative("cat", "  ", "append")).toBe("cat");
    expect(promptWithNegative("cat", "dogs", "ignore")).toBe("cat");
  });
});

describe("OpenAIEngine text-to-image", () => {
  it("generates, resizes to the requested size and keeps the upstream's pixels", async () => {
    const progress: number[] = [];
    const r = await engine().generate(request({ onProgress: (p) => progress.push(p) }));
    expect(r).toMatchObject({ format: "png", width: 300, height: 200 });
    const meta = await sharp(r.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 300, 200]);
    await expectColour(r.bytes, "a lighthouse at dusk");

    const [call] = generations();
    expect(call?.body).toEqual({
      model: "gpt-image-1",
      prompt: "a lighthouse at dusk",
      n: 1,
      size: "1536x1024",
    });
    expect(call?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(call?.headers["x-org-tag"]).toBe("zekron-test");
    expect(call?.headers["content-type"]).toBe("application/json");

    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toBe(0.05);
    for (const p of progress) expect(p).toBeGreaterThanOrEqual(0);
    for (const p of progress) expect(p).toBeLessThanOrEqual(1);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  });

  it("sends the configured model, sizes and quality, and re-encodes to the requested format", async () => {
    const r = await engine().generate(
      request({
        width: 128,
        height: 128,
        format: "jpeg",
        params: { model: "dall-e-2", sizes: ["256x256", "512x512"], quality: "standard" },
      }),
    );
    expect(r).toMatchObject({ format: "jpeg", width: 128, height: 128 });
    expect((await sharp(r.bytes).metadata()).format).toBe("jpeg");
    await expectColour(r.bytes, "a lighthouse at dusk", 6);
    expect(generations()[0]?.body).toEqual({
      model: "dall-e-2",
      prompt: "a lighthouse at dusk",
      n: 1,
      size: "512x512",
      quality: "standard",
    });
  });

  it("appends the negative prompt, or leaves it out when told to ignore it", async () => {
    const r = await engine().generate(request({ negativePrompt: "boats" }));
    expect((generations()[0]?.body as { prompt: string }).prompt).toBe("a lighthouse at dusk\nAvoid: boats");
    await expectColour(r.bytes, "a lighthouse at dusk\nAvoid: boats");

    await engine().generate(request({ negativePrompt: "boats", params: { negative_prompt_mode: "ignore" } }));
    expect((generations()[1]?.body as { prompt: string }).prompt).toBe("a lighthouse at dusk");
  });

  it("runs generations side by side", async () => {
    fake.delayMs = 150;
    const e = engine();
    await Promise.all([e.generate(request()), e.generate(request({ prompt: "second" }))]);
    expect(fake.maxInFlight).toBe(2);
  });

  it("refuses bad route parameters before calling the upstream", async () => {
    const bad = [{ sizes: [] }, { sizes: ["big"] }, { response_format: "png" }, { model: 3 }];
    for (const params of bad) {
      const err = await failure(engine().generate(request({ params })));
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/^openai fake: the parameter /);
    }
    expect(fake.calls).toHaveLength(0);
  });
});

describe("OpenAIEngine edits", () => {
  it("uploads one source image as `image`, with the fields as strings", async () => {
    const src = await source(320, 240);
    const r = await engine().generate(
      request({ prompt: "make it winter", images: [src], width: 400, height: 400 }),
    );
    expect(r).toMatchObject({ width: 400, height: 400, format: "png" });
    await expectColour(r.bytes, "make it winter");
    expect(fake.edits).toHaveLength(1);
    const edit = fake.edits[0]!;
    expect(edit.fields).toEqual({
      prompt: "make it winter",
      model: "gpt-image-1",
      n: "1",
      size: "1024x1024",
    });
    expect(edit.images).toHaveLength(1);
    expect(edit.images[0]).toMatchObject({ field: "image", type: "image/png", width: 320, height: 240 });
    expect(edit.images[0]?.size).toBe(src.bytes.length);
    const call = fake.calls.find((c) => c.path === "/v1/images/edits");
    expect(call?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(call?.headers["x-org-tag"]).toBe("zekron-test");
    expect(call?.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
  });

  it("uploads two source images as repeated `image[]`", async () => {
    const images = [await source(64, 48), await source(32, 32, "jpeg")];
    const r = await engine().generate(request({ prompt: "blend", images, width: 200, height: 300 }));
    expect(r).toMatchObject({ width: 200, height: 300 });
    const edit = fake.edits[0]!;
    expect(edit.images.map((i) => [i.field, i.type, i.width, i.height])).toEqual([
      ["image[]", "image/png", 64, 48],
      ["image[]", "image/jpeg", 32, 32],
    ]);
    expect(edit.fields.size).toBe("1024x1536");
  });

  it("refuses more than two source images", async () => {
    const s = await source(8, 8);
    const err = await failure(engine().generate(request({ images: [s, s, s] })));
    expect(err.retryable).toBe(false);
    expect(fake.calls).toHaveLength(0);
  });
});

describe("OpenAIEngine upstream errors", () => {
  it("passes on a validation error clearly and not retryable", async () => {
    const err = await failure(engine().generate(request({ params: { sizes: ["300x300"] } })));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/^openai fake: Invalid value: '300x300'\. Supported values are: /);
    expect(err.message).toContain("(param: size)");
  });

  it("says the key was refused without echoing it", async () => {
    const err = await failure(engine({ apiKey: "sk-wrong-key-98765" }).generate(request()));
    expect(err.retryable).toBe(false);
    expect(err.message).toBe("openai fake: the upstream refused the API key");
    const noKey = await failure(engine({ apiKey: undefined }).probe(new AbortController().signal));
    expect(noKey.message).toBe("openai fake: the upstream refused the API key");
  });

  it("treats a 429 as retryable", async () => {
    fake.mode = "ratelimit";
    const err = await failure(engine().generate(request()));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("openai fake: rate limited: Rate limit reached");
  });

  it("treats the upstream's server_error and plain 500s as retryable", async () => {
    fake.mode = "error";
    const e1 = await failure(engine().generate(request()));
    expect(e1.retryable).toBe(true);
    expect(e1.message).toBe(
      "openai fake: The server had an error while processing your request. Sorry about that!",
    );
    fake.mode = "http500";
    const e2 = await failure(engine().generate(request()));
    expect(e2.retryable).toBe(true);
    expect(e2.message).toBe("openai fake: the upstream answered 500: Internal Server Error");
  });

  it("fails retryably when the upstream dies mid-request", async () => {
    fake.mode = "crash";
    const err = await failure(engine().generate(request()));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/^openai fake: cannot reach the backend/);
  });

  it("refuses garbage image bytes, not retryable", async () => {
    fake.mode = "garbage";
    const err = await failure(engine().generate(request()));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("not a PNG, JPEG or WebP image");
  });

  it("does not follow a redirect", async () => {
    fake.mode = "redirect";
    const err = await failure(engine().generate(request()));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("redirect (302)");
  });

  it("refuses an answer over maxResponseBytes", async () => {
    const err = await failure(engine({}, { maxResponseBytes: 1000 }).generate(request()));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/over the 1000( byte)? limit/);
  });
});

describe("OpenAIEngine cancel and timeout", () => {
  it("aborts the request on timeout and rejects with the timeout", async () => {
    fake.mode = "hang";
    const t = withTimeout(new AbortController().signal, 300, "openai fake");
    try {
      const err = await failure(engine().generate(request({ signal: t.signal })));
      expect(err.retryable).toBe(true);
      expect(err.message).toContain("no answer within");
    } finally {
      t.clear();
    }
    // OpenAI has no interrupt route: hanging up is how the upstream is told to stop.
    await vi.waitFor(() => expect(fake.abandoned).toBe(1));
    expect(fake.inFlight).toBe(0);
  });

  it("aborts the request on cancel and rejects with the cancel reason", async () => {
    fake.mode = "hang";
    const ac = new AbortController();
    const pending = engine().generate(request({ signal: ac.signal }));
    await vi.waitFor(() => expect(fake.inFlight).toBe(1));
    const reason = new EngineError("job canceled by the client");
    ac.abort(reason);
    expect(await failure(pending)).toBe(reason);
    await vi.waitFor(() => expect(fake.abandoned).toBe(1));
    expect(fake.inFlight).toBe(0);
  });

  it("rejects at once when already canceled", async () => {
    const ac = new AbortController();
    ac.abort(new Error("plain"));
    const err = await failure(engine().generate(request({ signal: ac.signal })));
    expect(err.message).toBe("openai fake: canceled");
    expect(fake.calls).toHaveLength(0);
  });
});

describe("OpenAIEngine url results", () => {
  const urlParams = { model: "dall-e-3", response_format: "url" };

  it("downloads a url result when private addresses are allowed", async () => {
    const r = await engine({}, {}, true).generate(request({ params: urlParams, width: 256, height: 256 }));
    expect(r).toMatchObject({ width: 256, height: 256, format: "png" });
    await expectColour(r.bytes, "a lighthouse at dusk");
    expect(generations()[0]?.body).toMatchObject({
      model: "dall-e-3",
      response_format: "url",
      size: "1024x1024",
    });
    const download = fake.calls.find((c) => c.path.startsWith("/v1/files/"));
    expect(download?.method).toBe("GET");
    // Same origin as the configured API: the key goes along, as the upstream may need it.
    expect(fake.fileAuth).toEqual([`Bearer ${KEY}`]);
  });

  it("refuses a url result on 127.0.0.1 by default", async () => {
    // The factory's two-argument form: no options at all.
    const err = await failure(new OpenAIEngine(config(), deps()).generate(request({ params: urlParams })));
    expect(err.retryable).toBe(false);
    expect(err.message).toBe("openai fake: refused: 127.0.0.1 is not a public address");
    expect(fake.calls.some((c) => c.path.startsWith("/v1/files/"))).toBe(false);
  });

  it("decodes a data: URL result without fetching anything", async () => {
    const png = await sharp({
      create: { width: 8, height: 8, channels: 3, background: { r: 4, g: 5, b: 6 } },
    })
      .png()
      .toBuffer();
    fake.resultUrl = `data:image/png;base64,${png.toString("base64")}`;
    try {
      const r = await engine().generate(request({ params: urlParams, width: 16, height: 16 }));
      expect(await centrePixel(r.bytes)).toEqual([4, 5, 6]);
    } finally {
      fake.resultUrl = undefined;
    }
  });

  it("refuses a url result over maxResponseBytes", async () => {
    const err = await failure(
      engine({}, { maxResponseBytes: 1000 }, true).generate(request({ params: urlParams })),
    );
    // The JSON answer fits; the image it points at does not.
    expect(generations()).toHaveLength(1);
    expect(fake.calls.some((c) => c.path.startsWith("/v1/files/"))).toBe(true);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/^openai fake: the result image .*over the 1000/);
  });

  it("passes on the upstream's refusal of response_format for GPT image models", async () => {
    const err = await failure(engine().generate(request({ params: { response_format: "url" } })));
    expect(err.retryable).toBe(false);
    expect(err.message).toBe("openai fake: Unknown parameter: 'response_format'.");
  });
});

describe("fetchResultUrl", () => {
  let other: http.Server;
  let otherUrl: string;
  const seen: http.IncomingHttpHeaders[] = [];
  beforeAll(async () => {
    other = http.createServer((req, res) => {
      seen.push(req.headers);
      if (req.url === "/redirect") {
        res.writeHead(302, { location: "http://127.0.0.1:1/x.png" });
        return res.end();
      }
      if (req.url === "/gone") {
        res.writeHead(404);
        return res.end();
      }
      if (req.url === "/real.png") {
        void sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 1, g: 2, b: 3 } } })
          .png()
          .toBuffer()
          .then((png) => res.end(png));
        return;
      }
      if (req.url === "/busy") {
        res.writeHead(503);
        return res.end();
      }
      // No content-length: the cap must hold while the body streams.
      res.writeHead(200, { "content-type": "image/png" });
      res.write(Buffer.alloc(800));
      res.end(Buffer.alloc(800));
    });
    await new Promise<void>((r) => other.listen(0, "127.0.0.1", r));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => other.close(() => r())));

  const opts = (o: Partial<Parameters<typeof fetchResultUrl>[1]> = {}) => ({
    what: "openai t",
    signal: new AbortController().signal,
    maxBytes: 10_000,
    allowPrivate: true,
    ...o,
  });

  it("caps a streamed body without content-length", async () => {
    expect((await fetchResultUrl(`${otherUrl}/img`, opts())).length).toBe(1600);
    const err = await failure(fetchResultUrl(`${otherUrl}/img`, opts({ maxBytes: 1000 })));
    expect(err.message).toBe("openai t: the result image is over the 1000 byte limit");
  });

  it("does not follow redirects and passes on failing statuses", async () => {
    const r = await failure(fetchResultUrl(`${otherUrl}/redirect`, opts()));
    expect([r.retryable, r.message]).toEqual([
      false,
      "openai t: the result URL answered a redirect (302), which is not followed",
    ]);
    expect((await failure(fetchResultUrl(`${otherUrl}/gone`, opts()))).retryable).toBe(false);
    expect((await failure(fetchResultUrl(`${otherUrl}/busy`, opts()))).retryable).toBe(true);
  });

  it("refuses names that resolve to private addresses, and odd URLs", async () => {
    const lookup = ((_h: string, _o: unknown, cb: (e: null, a: string, f: number) => void) =>
      cb(null, "10.1.2.3", 4)) as unknown as NonNullable<Parameters<typeof fetchResultUrl>[1]["lookup"]>;
    const byName = await failure(
      fetchResultUrl("http://images.example.com/x.png", opts({ allowPrivate: false, lookup })),
    );
    expect(byName.message).toBe("openai t: refused: 10.1.2.3 is not a public address");
    const v6 = await failure(fetchResultUrl("http://[::1]:9/x.png", opts({ allowPrivate: false })));
    expect(v6.message).toBe("openai t: refused: ::1 is not a public address");
    const decimal = await failure(fetchResultUrl("http://2130706433/x.png", opts({ allowPrivate: false })));
    expect(decimal.message).toBe("openai t: refused: 127.0.0.1 is not a public address");
    const file = await failure(fetchResultUrl("file:///etc/passwd", opts()));
    expect(file.message).toContain("refused");
    const creds = await failure(fetchResultUrl(`http://u:p@127.0.0.1:9/x.png`, opts()));
    expect(creds.message).toContain("credentials");
    for (const e of [byName, v6, decimal, file, creds]) expect(e.retryable).toBe(false);
  });

  it("sends no key or instance headers to a result host other than the upstream's", async () => {
    seen.length = 0;
    fake.resultUrl = `${otherUrl}/real.png`;
    try {
      const r = await engine({}, {}, true).generate(
        request({ params: { model: "dall-e-3", response_format: "url" }, width: 64, height: 64 }),
      );
      expect(r).toMatchObject({ width: 64, height: 64 });
      expect(await centrePixel(r.bytes)).toEqual([1, 2, 3]);
    } finally {
      fake.resultUrl = undefined;
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]?.authorization).toBeUndefined();
    expect(seen[0]?.["x-org-tag"]).toBeUndefined();
  });
});

describe("OpenAIEngine probe", () => {
  it("answers when the upstream lists its models", async () => {
    await engine().probe(new AbortController().signal);
    const call = fake.calls.find((c) => c.path === "/v1/models");
    expect(call?.method).toBe("GET");
    expect(call?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(call?.headers["x-org-tag"]).toBe("zekron-test");
  });

  it("fails retryably when the upstream is down, and recovers when it is back", async () => {
    await fake.stop();
    const err = await failure(engine().probe(new AbortController().signal));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/^openai fake: cannot reach the backend/);
    await fake.restart();
    await engine().probe(new AbortController().signal);
  });

  it("fails on a 500 and on an answer that is not a model list", async () => {
    fake.mode = "http500";
    expect((await failure(engine().probe(new AbortController().signal))).retryable).toBe(true);
    fake.mode = "ok";
    const wrong = await failure(
      engine({ url: `${fake.origin}/v1/images` }).probe(new AbortController().signal),
    );
    expect(wrong.retryable).toBe(false);
    expect(wrong.message).toBe("openai fake: Invalid URL (GET /v1/images/models)");
  });
});
