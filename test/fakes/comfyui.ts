/**
 * A fake ComfyUI server following PROTOCOLS.md: POST /prompt with ComfyUI's validation error shapes, a queue
 * that runs one prompt at a time, /ws events sent only to the prompt's client_id, history that stays `{}`
 * until a prompt is done, /view, /upload/image, /interrupt, /queue and /system_stats, also under /api/.
 * Images are real PNGs of one colour from the seed: r = seed % 256, g = (seed >> 8) % 256, b = 99.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import sharp from "sharp";
import { WebSocketServer, type WebSocket } from "ws";

export type FakeComfyMode = "ok" | "hang" | "crash" | "error" | "http500" | "garbage" | "redirect";
export type FakeCall = { method: string; path: string; body?: unknown; headers: IncomingHttpHeaders };
type Graph = Record<string, { class_type: string; inputs: Record<string, unknown> }>;
type Job = { id: string; number: number; prompt: Graph; clientId?: string; interrupted: boolean };
type Json = Record<string, unknown>;

const KNOWN = new Set(
  [
    "CheckpointLoaderSimple",
    "EmptyLatentImage",
    "CLIPTextEncode",
    "KSampler",
    "VAEDecode",
    "VAEEncode",
  ].concat(["SaveImage", "PreviewImage", "LoadImage", "ImageBlend", "ImageScale"]),
);
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const solid = (width: number, height: number, seed: number | null) => {
  const background = seed === null ? "#000" : { r: seed % 256, g: Math.floor(seed / 256) % 256, b: 99 };
  return sharp({ create: { width, height, channels: 3, background } })
    .png()
    .toBuffer();
};

export async function startFakeComfyUI() {
  const checkpoints = ["model.safetensors", "sdxl.safetensors"];
  const uploads = new Map<string, Buffer>();
  const files = { output: new Map<string, Buffer>(), temp: new Map<string, Buffer>(), input: uploads };
  const history = new Map<string, unknown>();
  let pending: Job[] = [];
  let running: Job | undefined;
  let counter = 0;
  let closed = false;
  const clients = new Map<string, Set<WebSocket>>();
  const sockets = new Set<Socket>();
  const wss = new WebSocketServer({ noServer: true });

  const fake = {
    url: "",
    calls: [] as FakeCall[],
    mode: "ok" as FakeComfyMode,
    delayMs: 30,
    inFlight: 0,
    maxInFlight: 0,
    uploads,
    checkpoints,
    /** What an "error" mode prompt fails with (a CUDA OOM message tests retries). */
    error: { type: "RuntimeError", message: "Expected all tensors to be on the same device" },
    /** History stays `{}` this long after execution_success: the race PROTOCOLS.md warns about. */
    historyDelayMs: 0,
    /** Prompts whose sampler seed is listed fail like "error" mode, whatever the mode. */
    failSeeds: new Set<number>(),
    /** false: /ws upgrades are refused, so a client must fall back to polling. */
    websocket: true,
    /** How many times "crash" mode killed the server. */
    crashes: 0,
    /** Closes every WebSocket; HTTP keeps working. */
    dropSockets: () => wss.clients.forEach((ws) => ws.terminate()),
    stop,
    restart,
    close: async () => {
      closed = true;
      if (running) running.interrupted = true;
      await stop();
    },
  };

  const send = (clientId: string | undefined, type: string, data: Json) => {
    for (const ws of clients.get(clientId ?? "") ?? []) ws.send(JSON.stringify({ type, data }));
  };
  const queueItem = (j: Job) => [j.number, j.id, j.prompt, { client_id: j.clientId }, []];
  const json = (res: ServerResponse, status: number, body: unknown) =>
    void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

  function validate(prompt: unknown): Json | undefined {
    const top = (type: string, message: string, details = "", extra_info = {}) => ({
      error: { type, message, details, extra_info },
      node_errors: {} as Json,
    });
    if (!isRecord(prompt)) return top("no_prompt", "No prompt provided", "No prompt provided");
    const graph = prompt as Graph;
    const unknown = Object.entries(graph).find(([, n]) => !KNOWN.has(n.class_type));
    if (unknown) {
      const [node_id, { class_type }] = unknown;
      const message = `Node '${class_type}' not found. The custom node may not be installed.`;
      return top("missing_node_type", message, `Node ID '#${node_id}'`, { node_id, class_type });
    }
    const saves = Object.keys(graph).filter((id) => graph[id]?.class_type === "SaveImage");
    if (!saves.length) return top("prompt_no_outputs", "Prompt has no outputs");
    const invalid = top("prompt_outputs_failed_validation", "Prompt outputs failed validation");
    const fail = (id: string, type: string, message: string, details: string, input_name: string) => {
      const errors = [{ type, message, details, extra_info: { input_name } }];
      invalid.node_errors[id] = { errors, dependent_outputs: saves, class_type: graph[id]?.class_type };
    };
    for (const [id, { class_type: cls, inputs }] of Object.entries(graph)) {
      if (cls === "CheckpointLoaderSimple" && !checkpoints.includes(String(inputs.ckpt_name))) {
        const details = `ckpt_name: '${String(inputs.ckpt_name)}' not in ${JSON.stringify(checkpoints)}`;
        fail(id, "value_not_in_list", "Value not in list", details, "ckpt_name");
      }
      if (cls === "LoadImage" && !uploads.has(String(inputs.image))) {
        const details = `image - Invalid image file: ${String(inputs.image)}`;
        fail(id, "custom_validation_failed", "Custom validation failed for node", details, "image");
      }
      for (const k of ["seed", "steps", "width", "height"].filter((k) => k in inputs)) {
        if (typeof inputs[k] !== "number") {
          const message = "Failed to convert an input value to a INT value";
          fail(id, "invalid_input_type", message, `${k}, ${JSON.stringify(inputs[k])}`, k);
        }
      }
    }
    return Object.keys(invalid.node_errors).length ? invalid : undefined;
  }

  async function render(graph: Graph): Promise<Buffer> {
    const nodes = Object.values(graph);
    const seed = Number(nodes.find((n) => n.class_type === "KSampler")?.inputs.seed ?? 0);
    const sized = nodes.find((n) => n.class_type === "EmptyLatentImage" || n.class_type === "ImageScale");
    const load = nodes.find((n) => n.class_type === "LoadImage");
    let { width = 512, height = 512 } = (sized?.inputs ?? {}) as { width?: number; height?: number };
    if (!sized && load)
      ({ width = 512, height = 512 } = await sharp(uploads.get(String(load.inputs.image))).metadata());
    return fake.mode === "garbage" ? randomBytes(2048) : solid(width, height, seed);
  }

  async function execute(job: Job): Promise<void> {
    const { id: prompt_id, clientId } = job;
    const messages: unknown[] = [];
    const event = (type: string, data: Json) => {
      if (type.startsWith("execution_")) messages.push([type, data]);
      send(clientId, type, data);
    };
    const finish = (status_str: string, outputs: Json = {}) => {
      const status = { status_str, completed: status_str === "success", messages };
      history.set(prompt_id, { prompt: queueItem(job), outputs, status, meta: {} });
      send(clientId, "executing", { node: null, prompt_id });
    };
    const status = { status: { exec_info: { queue_remaining: pending.length + 1 } } };
    for (const ws of wss.clients) ws.send(JSON.stringify({ type: "status", data: status }));
    event("execution_start", { prompt_id, timestamp: Date.now() });
    event("execution_cached", { nodes: [], prompt_id, timestamp: Date.now() });
    const outputs: Json = {};
    for (const [node, { class_type, inputs }] of Object.entries(job.prompt)) {
      send(clientId, "executing", { node, display_node: node, prompt_id });
      for (let step = 1; class_type === "KSampler" && step <= 4; step++) {
        await wait(fake.delayMs / 4);
        const where = { prompt_id, node_id: node, node_type: class_type, executed: [] };
        if (job.interrupted) {
          event("execution_interrupted", where);
          return finish("error");
        }
        if (fake.mode === "crash" && step === 2) {
          // The process dies: connections drop, and the queue and history are gone with it.
          pending = [];
          await stop();
          return void fake.crashes++;
        }
        if (fake.mode === "error" || fake.failSeeds.has(Number(inputs.seed))) {
          const { type: exception_type, message: exception_message } = fake.error;
          event("execution_error", { ...where, exception_message, exception_type, traceback: [] });
          return finish("error");
        }
        send(clientId, "progress", { value: step, max: 4, prompt_id, node });
        while (fake.mode === "hang" && !job.interrupted) await wait(5);
      }
      if (class_type === "SaveImage" || class_type === "PreviewImage") {
        const type = class_type === "SaveImage" ? "output" : "temp";
        const prefix = type === "output" ? String(inputs.filename_prefix ?? "ComfyUI") : "ComfyUI_temp";
        const filename = `${prefix}_${String(++counter).padStart(5, "0")}_.png`;
        files[type].set(filename, type === "output" ? await render(job.prompt) : await solid(8, 8, null));
        outputs[node] = { images: [{ filename, subfolder: "", type }] };
        send(clientId, "executed", { node, display_node: node, output: outputs[node], prompt_id });
      }
    }
    event("execution_success", { prompt_id, timestamp: Date.now() });
    await wait(fake.historyDelayMs);
    finish("success", outputs);
  }

  async function pump(): Promise<void> {
    if (running || closed || !pending.length) return;
    const job = (running = pending.shift() as Job);
    fake.maxInFlight = Math.max(fake.maxInFlight, ++fake.inFlight);
    await execute(job).finally(() => {
      fake.inFlight--;
      running = undefined;
    });
    void pump();
  }

  async function upload(res: ServerResponse, form: FormData) {
    const image = form.get("image");
    if (!(image instanceof File) || /\.\.|\//.test(image.name)) return json(res, 400, { error: "bad image" });
    const bytes = Buffer.from(await image.arrayBuffer());
    const subfolder = String(form.get("subfolder") ?? "");
    const key = (n: string) => (subfolder ? `${subfolder}/${n}` : n);
    const dot = image.name.includes(".") ? image.name.lastIndexOf(".") : image.name.length;
    let name = image.name;
    // Like ComfyUI: without overwrite, a clash with different bytes gets "x (1).png"; equal bytes reuse.
    for (let i = 1; !["true", "1"].includes(String(form.get("overwrite"))) && uploads.has(key(name)); i++) {
      if (uploads.get(key(name))?.equals(bytes)) break;
      name = `${image.name.slice(0, dot)} (${i})${image.name.slice(dot)}`;
    }
    uploads.set(key(name), bytes);
    json(res, 200, { name, subfolder, type: String(form.get("type") ?? "input") });
  }

  async function route(res: ServerResponse, method: string, path: string, url: URL, body: unknown) {
    const b = isRecord(body) ? body : {};
    if (fake.mode === "http500") return json(res, 500, { error: "internal server error" });
    if (method === "GET" && path === "/system_stats") {
      const device = { name: "cuda:0 Fake GPU", type: "cuda", vram_total: 2 ** 34, vram_free: 2 ** 33 };
      return json(res, 200, { system: { os: "posix", comfyui_version: "0.3.0" }, devices: [device] });
    }
    if (method === "POST" && path === "/prompt") {
      if (fake.mode === "redirect") return void res.writeHead(302, { location: "http://127.0.0.1:1/" }).end();
      const invalid = validate(b.prompt);
      if (invalid) return json(res, 400, invalid);
      const id = typeof b.prompt_id === "string" ? b.prompt_id : randomUUID();
      const clientId = typeof b.client_id === "string" ? b.client_id : undefined;
      pending.push({ id, number: counter++, prompt: b.prompt as Graph, clientId, interrupted: false });
      json(res, 200, { prompt_id: id, number: counter - 1, node_errors: {} });
      return void pump();
    }
    if (method === "GET" && path.startsWith("/history/")) {
      const id = decodeURIComponent(path.slice("/history/".length));
      return json(res, 200, history.has(id) ? { [id]: history.get(id) } : {});
    }
    if (method === "GET" && path === "/view") {
      const [name, sub] = ["filename", "subfolder"].map((k) => url.searchParams.get(k) ?? "") as [
        string,
        string,
      ];
      if ([name, sub].some((s) => s.includes("..") || s.startsWith("/"))) return json(res, 400, {});
      const store = files[(url.searchParams.get("type") ?? "output") as keyof typeof files];
      const bytes = store?.get(sub ? `${sub}/${name}` : name);
      if (!bytes) return void res.writeHead(404).end();
      return void res.writeHead(200, { "content-type": "image/png" }).end(bytes);
    }
    if (method === "POST" && path === "/upload/image")
      return body instanceof FormData ? upload(res, body) : json(res, 400, { error: "not multipart" });
    if (method === "POST" && path === "/interrupt") {
      if (running && (!b.prompt_id || b.prompt_id === running.id)) running.interrupted = true;
      return void res.writeHead(200).end();
    }
    if (method === "GET" && path === "/queue") {
      const queue_running = running ? [queueItem(running)] : [];
      return json(res, 200, { queue_running, queue_pending: pending.map(queueItem) });
    }
    if (method === "POST" && path === "/queue") {
      if (b.clear === true) pending = [];
      if (Array.isArray(b.delete)) pending = pending.filter((j) => !(b.delete as unknown[]).includes(j.id));
      return void res.writeHead(200).end();
    }
    json(res, 404, { error: "not found" });
  }

  async function parse(raw: Buffer, type: string): Promise<unknown> {
    if (type.startsWith("multipart/form-data"))
      return new Response(new Uint8Array(raw), { headers: { "content-type": type } }).formData();
    try {
      return raw.length ? JSON.parse(raw.toString("utf8")) : undefined;
    } catch {
      return raw.toString("utf8");
    }
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const path = url.pathname.replace(/^\/api(?=\/)/, "");
      parse(Buffer.concat(chunks), req.headers["content-type"] ?? "")
        .then((body) => {
          const logged = !(body instanceof FormData)
            ? body
            : Object.fromEntries(
                [...body].map(([k, v]) => [
                  k,
                  typeof v === "string" ? v : { filename: v.name, size: v.size },
                ]),
              );
          fake.calls.push({ method: req.method ?? "GET", path, body: logged, headers: req.headers });
          return route(res, req.method ?? "GET", path, url, body);
        })
        .catch(() => res.headersSent || json(res, 400, { error: "bad request" }));
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const path = url.pathname.replace(/^\/api(?=\/)/, "");
    fake.calls.push({ method: "GET", path, headers: req.headers });
    if (path !== "/ws" || !fake.websocket || fake.mode === "http500")
      return void socket.end(
        `HTTP/1.1 ${fake.mode === "http500" ? "500 Server Error" : "404 Not Found"}\r\n\r\n`,
      );
    wss.handleUpgrade(req, socket, head, (ws) => {
      const sid = url.searchParams.get("clientId") || randomUUID().replace(/-/g, "");
      const set = clients.get(sid) ?? new Set();
      clients.set(sid, set.add(ws));
      ws.on("close", () => set.delete(ws));
      const status = { exec_info: { queue_remaining: pending.length + (running ? 1 : 0) } };
      ws.send(JSON.stringify({ type: "status", data: { status, sid } }));
    });
  });

  let port = 0;
  async function restart(): Promise<void> {
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    fake.url = `http://127.0.0.1:${port}`;
  }
  async function stop(): Promise<void> {
    wss.clients.forEach((ws) => ws.terminate());
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  }
  await restart();
  return fake;
}

export type FakeComfyUI = Awaited<ReturnType<typeof startFakeComfyUI>>;
