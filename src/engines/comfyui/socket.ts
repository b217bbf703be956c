/**
 * The one WebSocket an engine instance keeps to its ComfyUI server. ComfyUI sends a prompt's events only to
 * the `client_id` that queued it, so every job of the instance queues with this socket's id and the events
 * are handed to the job by `prompt_id`. The socket opens on first use and reconnects while jobs wait; events
 * that arrive before their job subscribed (a fast prompt on a server that chose its own prompt id) are kept
 * briefly and replayed.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import WebSocket from "ws";

export interface ComfyEvent {
  type: string;
  data: Record<string, unknown>;
}

type Listener = (ev: ComfyEvent) => void;

const UNCLAIMED_MAX = 200;
const UNCLAIMED_MS = 30_000;

export class ComfySocket {
  readonly clientId = randomUUID();
  /** Counts successful connections; a change means events may have been missed in between. */
  generation = 0;
  private ws: WebSocket | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly stateListeners = new Set<() => void>();
  private unclaimed: { at: number; id: string; ev: ComfyEvent }[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string>,
    private readonly maxPayload: number,
    private readonly log: Logger,
  ) {}

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Opens the socket unless it is open or opening. */
  connect(): void {
    if (this.closed) return;
    if (this.ws && (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING))
      return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const ws = new WebSocket(`${this.url}?clientId=${encodeURIComponent(this.clientId)}`, {
      headers: this.headers,
      maxPayload: this.maxPayload,
      followRedirects: false,
      handshakeTimeout: 10_000,
    });
    this.ws = ws;
    ws.on("open", () => {
      this.failures = 0;
      this.generation++;
      this.changed();
    });
    ws.on("message", (data, isBinary) => {
      // Binary frames are previews; the job only needs the final image.
      if (!isBinary) this.dispatch(data.toString());
    });
    ws.on("error", (err) => this.log.debug({ err: err.message }, "comfyui websocket error"));
    ws.on("close", () => {
      if (this.ws === ws) this.ws = undefined;
      this.failures++;
      this.changed();
      this.scheduleReconnect();
    });
  }

  /** Resolves true once the socket is open, false when it fails or `ms` pass first. */
  ready(ms: number, signal: AbortSignal): Promise<boolean> {
    this.connect();
    if (this.open) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.stateListeners.delete(onChange);
        signal.removeEventListener("abort", onAbort);
        resolve(ok);
      };
      const onChange = () => finish(this.open);
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(this.open), ms);
      this.stateListeners.add(onChange);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Hands this prompt's events to `listener` (first the recent ones that arrived unclaimed). */
  subscribe(promptId: string, listener: Listener): () => void {
    let set = this.listeners.get(promptId);
    if (!set) this.listeners.set(promptId, (set = new Set()));
    set.add(listener);
    if (!this.ws) this.scheduleReconnect();
    const replay = this.unclaimed.filter((u) => u.id === promptId);
    if (replay.length) {
      this.unclaimed = this.unclaimed.filter((u) => u.id !== promptId);
      for (const u of replay) listener(u.ev);
    }
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(promptId) === set) this.listeners.delete(promptId);
    };
  }

  /** Calls `listener` whenever the socket opens or closes. */
  onChange(listener: () => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.ws?.terminate();
    this.ws = undefined;
  }

  private dispatch(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof msg !== "object" || msg === null) return;
    const { type, data } = msg as { type?: unknown; data?: unknown };
    if (typeof type !== "string" || typeof data !== "object" || data === null) return;
    const id = (data as { prompt_id?: unknown }).prompt_id;
    if (typeof id !== "string") return;
    const ev: ComfyEvent = { type, data: data as Record<string, unknown> };
    const set = this.listeners.get(id);
    if (set) {
      for (const l of [...set]) l(ev);
      return;
    }
    const now = Date.now();
    this.unclaimed = this.unclaimed.filter((u) => now - u.at < UNCLAIMED_MS).slice(-(UNCLAIMED_MAX - 1));
    this.unclaimed.push({ at: now, id, ev });
  }

  private changed(): void {
    for (const l of [...this.stateListeners]) l();
  }

  /** Reconnects with backoff, but only while jobs are waiting for events; otherwise the next job reopens. */
  private scheduleReconnect(): void {
    if (this.closed || this.listeners.size === 0 || this.reconnectTimer) return;
    const delay = Math.min(250 * 2 ** Math.min(this.failures - 1, 5), 5_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.listeners.size > 0) this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }
}
