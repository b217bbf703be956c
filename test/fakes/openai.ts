/**
 * A fake OpenAI images API (`/v1/images/generations`, `/v1/images/edits`, `/v1/models`, and the files its
 * `url` answers point at), following PROTOCOLS.md: OpenAI's error shape, Bearer keys, multipart edits
 * parsed for real. OpenAI has no seed, so the solid colour of an image comes from a hash of its prompt.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import sharp from "sharp";

export const FAKE_SIZES = ["1024x1024", "1536x1024", "1024x1536", "256x256", "512x512"];

export type FakeOpenAIMode =
  "ok" | "hang" | "crash" | "error" | "http500" | "garbage" | "redirect" | "ratelimit";

export interface FakeCall {
  method: string;
  path: string;
  body?: unknown;
  headers: http.IncomingHttpHeaders;
}

export interface FakeUpload {
  field: string;
  filename: string;
  type: string;
  size: number;
  width?: number;
  height?: number;
}

/** One edit as it arrived: the text fields, and the files with the field names they came under. */
export interface FakeEdit {
  fields: Record<string, string>;
  images: FakeUpload[];
}

/** The seed a prompt stands for (FNV-1a), and so the colour of every image made from it. */
export function promptSeed(prompt: string): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(prompt, "utf8")) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}

export function colourFor(prompt: string): { r: number; g: number; b: number } {
  const seed = promptSeed(prompt);
  return { r: seed % 256, g: (seed >>> 8) % 256, b: 99 };
}

function png(width: number, height: number, prompt: string): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colourFor(prompt) } })
    .png()
    .toBuffer();
}

/** OpenAI's error shape, thrown by the handlers and answered by the server. */
class OpenAIError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  get body() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

const invalid = (message: string, param: string | null, code: string | null = "invalid_value") =>
  new OpenAIError(400, message, "invalid_request_error", param, code);

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Validation shared by both routes, on the fields as they arrived (JSON values or multipart strings). */
function validate(f: { prompt?: unknown; size?: unknown; model?: unknown; response_format?: unknown }) {
  if (typeof f.prompt !== "string" || !f.prompt)
    throw invalid("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter");
  const size = f.size ?? "1024x1024";
  if (typeof size !== "string" || !FAKE_SIZES.includes(size)) {
    const list = FAKE_SIZES.map((s) => `'${s}'`).join(", ");
    throw invalid(`Invalid value: '${String(size)}'. Supported values are: ${list}.`, "size");
  }
  const rf = f.response_format;
  // As the real API does: GPT image models always answer b64_json and refuse the field.
  if (rf !== undefined && typeof f.model === "string" && f.model.startsWith("gpt-image"))
    throw invalid("Unknown parameter: 'response_format'.", "response_format", "unknown_parameter");
  if (rf !== undefined && rf !== "url" && rf !== "b64_json")
    throw invalid(
      `Invalid value: '${String(rf)}'. Supported values are: 'url' and 'b64_json'.`,
      "response_format",
    );
  return { prompt: f.prompt, size, responseFormat: rf };
}

export async function startFakeOpenAI(opts: { apiKey?: string } = {}) {
  const sockets = new Set<Socket>();
  const files = new Map<string, Buffer>();
  let nextFile = 1;
  const fake = {
    /** The API base with its version path, as an engine's `url` is configured. */
    url: "",
    origin: "",
    port: 0,
    calls: [] as FakeCall[],
    edits: [] as FakeEdit[],
    mode: "ok" as FakeOpenAIMode,
    delayMs: 30,
    inFlight: 0,
    maxInFlight: 0,
    /** Generations whose client hung up before the answer: what a cancel looks like to OpenAI. */
    abandoned: 0,
    /** Authorization headers seen on file downloads. */
    fileAuth: [] as (string | undefined)[],
    /** When set, `url` answers point here instead of at the fake's own files. */
    resultUrl: undefined as string | undefined,
    stop,
    restart,
    close,
  };

  /** Waits out the generation time in steps; false when the client hung up (or the job crashed). */
  async function work(req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> {
    fake.inFlight++;
    fake.maxInFlight = Math.max(fake.maxInFlight, fake.inFlight);
    let gone = false;
    const onClose = () => {
      if (!res.writableFinished) gone = true;
    };
    res.on("close", onClose);
    try {
      if (fake.mode === "hang") await new Promise<void>((resolve) => res.once("close", () => resolve()));
      for (let i = 0; i < 4 && !gone; i++) await new Promise((r) => setTimeout(r, fake.delayMs / 4));
      if (!gone && fake.mode === "crash") {
        req.socket.destroy();
        return false;
      }
      if (gone) fake.abandoned++;
      return !gone;
    } finally {
      fake.inFlight--;
      res.off("close", onClose);
    }
  }

  async function answer(req: http.IncomingMessage, res: http.ServerResponse, f: ReturnType<typeof validate>) {
    if (!(await work(req, res))) return;
    if (fake.mode === "error") {
      const msg = "The server had an error while processing your request. Sorry about that!";
      throw new OpenAIError(500, msg, "server_error");
    }
    const [w, h] = f.size.split("x").map(Number) as [number, number];
    const bytes =
      fake.mode === "garbage" ? Buffer.from("this is not an image, just text") : await png(w, h, f.prompt);
    const item: Record<string, string> = { revised_prompt: f.prompt };
    if (f.responseFormat === "url") {
      const id = `file-${nextFile++}`;
      files.set(id, bytes);
      item.url = fake.resultUrl ?? `${fake.origin}/v1/files/${id}.png`;
    } else item.b64_json = bytes.toString("base64");
    send(res, 200, {
      created: Math.floor(Date.now() / 1000),
      data: [item],
      output_format: "png",
      size: f.size,
    });
  }

  async function edits(req: http.IncomingMessage, raw: Buffer, call: FakeCall): Promise<FakeEdit> {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    const form = await new Request(`${fake.origin}${req.url}`, {
      method: "POST",
      headers,
      body: new Uint8Array(raw),
    })
      .formData()
      .catch(() => {
        throw invalid("Could not parse multipart form.", null, null);
      });
    const edit: FakeEdit = { fields: {}, images: [] };
    for (const [field, value] of form.entries()) {
      if (typeof value === "string") {
        edit.fields[field] = value;
        continue;
      }
      const bytes = Buffer.from(await value.arrayBuffer());
      const meta = await sharp(bytes)
        .metadata()
        .catch(() => undefined);
      const { name: filename, type } = value;
      edit.images.push({
        field,
        filename,
        type,
        size: bytes.length,
        width: meta?.width,
        height: meta?.height,
      });
    }
    fake.edits.push(edit);
    call.body = edit;
    if (!edit.images.some((i) => i.field === "image" || i.field === "image[]"))
      throw invalid("Missing required parameter: 'image'.", "image", "missing_required_parameter");
    if (edit.images.some((i) => i.width === undefined))
      throw invalid("Invalid image file or mode for image 1.", "image", "invalid_image_format");
    if (edit.fields.n !== undefined && !/^\d+$/.test(edit.fields.n))
      throw invalid("Invalid type for 'n': expected an integer.", "n", "invalid_type");
    return edit;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const call: FakeCall = { method: req.method ?? "GET", path, headers: req.headers };
    fake.calls.push(call);
    if (fake.mode === "http500") {
      res.writeHead(500, { "content-type": "text/plain" });
      return res.end("Internal Server Error");
    }
    const file = /^\/v1\/files\/([\w-]+)\.png$/.exec(path);
    if (req.method === "GET" && file) {
      fake.fileAuth.push(req.headers.authorization);
      const bytes = files.get(file[1] as string);
      if (!bytes) throw new OpenAIError(404, "No such file.");
      res.writeHead(200, { "content-type": "image/png", "content-length": bytes.length });
      return res.end(bytes);
    }
    if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      // Like OpenAI, the message quotes part of the key it got: the engine must not pass that on.
      const k = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      const msg = `Incorrect API key provided: ${k.slice(0, 3)}***${k.slice(-4)}.`;
      throw new OpenAIError(401, msg, "invalid_request_error", null, "invalid_api_key");
    }
    if (req.method === "GET" && path === "/v1/models") {
      const ids = ["gpt-image-1", "dall-e-3", "dall-e-2"];
      const data = ids.map((id) => ({ id, object: "model", created: 1698785189, owned_by: "system" }));
      return send(res, 200, { object: "list", data });
    }
    if (req.method !== "POST" || (path !== "/v1/images/generations" && path !== "/v1/images/edits"))
      throw new OpenAIError(404, `Invalid URL (${req.method} ${path})`);
    if (fake.mode === "redirect") {
      res.writeHead(302, { location: "http://127.0.0.1:1/" });
      return res.end();
    }
    if (fake.mode === "ratelimit") {
      const msg = "Rate limit reached for images per minute. Please try again in 1s.";
      const headers = { "retry-after": "1", "retry-after-ms": "1000" };
      throw new OpenAIError(429, msg, "requests", null, "rate_limit_exceeded", headers);
    }
    if (path === "/v1/images/edits") return answer(req, res, validate((await edits(req, raw, call)).fields));
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
    } catch {
      throw invalid("We could not parse the JSON body of your request.", null, null);
    }
    call.body = body;
    if (body.n !== undefined && (typeof body.n !== "number" || body.n < 1 || body.n > 10))
      throw invalid("Invalid value for 'n': must be between 1 and 10.", "n");
    await answer(req, res, validate(body));
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return void res.destroy();
      const e = err instanceof OpenAIError ? err : new OpenAIError(500, String(err), "server_error");
      send(res, e.status, e.body, e.headers);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  function listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  }
  async function stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  }
  async function restart(): Promise<void> {
    if (!server.listening) await listen(fake.port);
  }
  async function close(): Promise<void> {
    if (server.listening) await stop();
  }

  await listen(0);
  fake.port = (server.address() as AddressInfo).port;
  fake.origin = `http://127.0.0.1:${fake.port}`;
  fake.url = `${fake.origin}/v1`;
  return fake;
}

export type FakeOpenAI = Awaited<ReturnType<typeof startFakeOpenAI>>;
