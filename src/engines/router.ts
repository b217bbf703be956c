/**
 * Sends each job to one of the engine instances its model is routed to: by priority, then by weight among
 * equals; never more jobs on an instance than its concurrency; on a retryable failure (connection refused,
 * 5xx, 429, timeout) the next route is tried within the same job, so the client's single hold covers every
 * attempt and nothing is charged twice. A circuit breaker per instance stops sending work to a backend that
 * keeps failing, and a health probe closes it again when the backend is back.
 */
import type { Logger } from "pino";
import type { Catalog, ModelInfo, ModelRoute } from "../domain/catalog.js";
import type { EngineInstanceConfig } from "./instance.js";
import { EngineError, type Engine, type EngineRequest, type EngineResult } from "./types.js";
import { withTimeout } from "./shared/upstream.js";
import { untilAborted } from "./shared/abort.js";
import { apiTime } from "../clock.js";

export interface RouterOptions {
  /** Consecutive retryable failures that open an instance's circuit. */
  failureThreshold?: number;
  /** How long an open circuit refuses work before one trial job is let through. */
  cooldownMs?: number;
  /** 0 turns the periodic probe off (probes then run only on demand). */
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  now?: () => number;
  /** Picks among weighted candidates; a number in [0, 1). */
  random?: () => number;
}

type Circuit = "closed" | "open" | "half_open";

interface RecentError {
  at: number;
  message: string;
}

class Instance {
  inFlight = 0;
  served = 0;
  failed = 0;
  consecutiveFailures = 0;
  circuit: Circuit = "closed";
  openedAt = 0;
  trialInFlight = false;
  lastProbe?: { at: number; ok: boolean; error?: string };
  readonly recentErrors: RecentError[] = [];

  constructor(
    readonly cfg: EngineInstanceConfig,
    readonly engine: Engine,
  ) {}

  noteError(at: number, message: string) {
    this.recentErrors.unshift({ at, message });
    this.recentErrors.length = Math.min(this.recentErrors.length, 10);
  }
}

export interface InstanceStatus {
  id: string;
  kind: string;
  url: string | null;
  circuit: Circuit;
  healthy: boolean;
  in_flight: number;
  concurrency: number;
  served: number;
  failed: number;
  consecutive_failures: number;
  last_probe: { at: string; ok: boolean; error: string | null } | null;
  recent_errors: { at: string; message: string }[];
  models: string[];
}

export class EngineRouter implements Engine {
  readonly kind = "router";
  readonly supportsEdit: boolean;
  readonly maxSourceImages: number;
  private readonly instances = new Map<string, Instance>();
  private readonly slotWaiters = new Set<() => void>();
  private readonly failureThreshold: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private probeTimer?: NodeJS.Timeout;

  constructor(
    engines: { cfg: EngineInstanceConfig; engine: Engine }[],
    private readonly catalog: Catalog,
    private readonly log: Logger,
    private readonly opts: RouterOptions = {},
  ) {
    for (const { cfg, engine } of engines) this.instances.set(cfg.id, new Instance(cfg, engine));
    this.supportsEdit = engines.some((e) => e.engine.supportsEdit);
    this.maxSourceImages = Math.max(0, ...engines.map((e) => e.engine.maxSourceImages));
    this.failureThreshold = opts.failureThreshold ?? 3;
    this.cooldownMs = opts.cooldownMs ?? 30_000;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  /** Starts the health probes (every instance whose engine has one). */
  start(): void {
    const every = this.opts.probeIntervalMs ?? 15_000;
    if (every <= 0) return; // probes only on demand (the admin view's ?probe=1)
    const run = () => void this.probeAll();
    run();
    this.probeTimer = setInterval(run, every);
    this.probeTimer.unref();
  }

  stop(): void {
    clearInterval(this.probeTimer);
  }

  /** After the last job: lets each engine release its connections. */
  close(): void {
    for (const i of this.instances.values()) i.engine.close?.();
  }

  /** Whether some route of the model could take a job now (checked before any charge). */
  canServe(model: ModelInfo, sourceImages: number): boolean {
    return this.routesFor(model, sourceImages).some((r) => this.admissible(this.instances.get(r.engine)!));
  }

  async generate(req: EngineRequest): Promise<EngineResult> {
    const model = this.catalog.find(req.model);
    if (!model) throw new EngineError(`no model ${req.model} in the catalog`);
    const routes = this.routesFor(model, req.images.length);
    if (routes.length === 0) {
      throw new EngineError(`no engine of ${model.id} can take ${req.images.length} source images`);
    }
    const tried = new Set<ModelRoute>();
    let last: EngineError | undefined;
    for (;;) {
      const picked = await this.acquire(routes, tried, req.signal);
      if (!picked) {
        if (last) {
          const n = tried.size;
          throw new EngineError(
            `${n === 1 ? "the backend" : `all ${n} backends`} failed; last: ${last.message}`,
            true,
          );
        }
        throw new EngineError(
          `no engine is available for ${model.id} right now`,
          true,
          "service_unavailable",
        );
      }
      const { route, inst, trial } = picked;
      tried.add(route);
      const what = `${inst.cfg.kind} ${inst.cfg.id}`;
      const timer = withTimeout(req.signal, route.timeoutMs ?? inst.cfg.timeoutMs, what);
      try {
        const result = await untilAborted(
          inst.engine.generate({ ...req, params: { ...route.params, ...req.params }, signal: timer.signal }),
          timer.signal,
        );
        this.succeeded(inst);
        return result;
      } catch (err) {
        const e =
          err instanceof EngineError
            ? err
            : new EngineError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
        if (req.signal.aborted) {
          // Canceled or out of time as a whole: not the backend's fault, and nothing more to try.
          if (trial) inst.trialInFlight = false;
          throw e;
        }
        this.failedOn(inst, e, trial);
        if (!e.retryable) throw e;
        last = e;
        this.log.warn(
          { engine: inst.cfg.id, model: model.id, err: e.message },
          "engine attempt failed, trying the next route",
        );
      } finally {
        timer.clear();
        inst.inFlight--;
        this.wakeWaiters();
      }
    }
  }

  status(): InstanceStatus[] {
    return [...this.instances.values()].map((i) => {
      const circuit = this.circuitNow(i);
      return {
        id: i.cfg.id,
        kind: i.cfg.kind,
        url: i.cfg.url ?? null,
        circuit,
        healthy: circuit !== "open" && (i.lastProbe?.ok ?? true),
        in_flight: i.inFlight,
        concurrency: i.cfg.concurrency,
        served: i.served,
        failed: i.failed,
        consecutive_failures: i.consecutiveFailures,
        last_probe: i.lastProbe
          ? { at: apiTime(i.lastProbe.at), ok: i.lastProbe.ok, error: i.lastProbe.error ?? null }
          : null,
        recent_errors: i.recentErrors.map((e) => ({ at: apiTime(e.at), message: e.message })),
        models: this.catalog.models
          .filter((m) => m.routes.some((r) => r.engine === i.cfg.id))
          .map((m) => m.id),
      };
    });
  }

  /** Probes every instance once; exported for tests and the admin view. */
  async probeAll(): Promise<void> {
    await Promise.all(
      [...this.instances.values()].map(async (inst) => {
        if (!inst.engine.probe) return;
        const signal = AbortSignal.timeout(this.opts.probeTimeoutMs ?? 5000);
        try {
          await inst.engine.probe(signal);
          inst.lastProbe = { at: this.now(), ok: true };
          if (inst.circuit !== "closed") {
            this.log.info({ engine: inst.cfg.id }, "engine healthy again; circuit closed");
            inst.circuit = "closed";
            inst.consecutiveFailures = 0;
            this.wakeWaiters();
          }
        } catch (err) {
          const message = signal.aborted
            ? "health probe timed out"
            : err instanceof Error
              ? err.message
              : String(err);
          inst.lastProbe = { at: this.now(), ok: false, error: message };
          inst.noteError(this.now(), `probe: ${message}`);
          if (inst.circuit === "closed")
            this.log.warn({ engine: inst.cfg.id, err: message }, "engine probe failed; circuit opened");
          this.open(inst);
        }
      }),
    );
  }

  private routesFor(model: ModelInfo, sourceImages: number): ModelRoute[] {
    return model.routes.filter((r) => {
      const inst = this.instances.get(r.engine);
      if (!inst) return false;
      return sourceImages === 0 || (inst.engine.supportsEdit && sourceImages <= inst.engine.maxSourceImages);
    });
  }

  private circuitNow(i: Instance): Circuit {
    if (i.circuit === "open" && this.now() - i.openedAt >= this.cooldownMs) return "half_open";
    return i.circuit;
  }

  /** Whether the breaker lets a job through (capacity aside). */
  private admissible(i: Instance): boolean {
    const c = this.circuitNow(i);
    return c === "closed" || (c === "half_open" && !i.trialInFlight);
  }

  /**
   * Takes a slot on the best route not yet tried: the lowest priority number that has an admissible
   * instance; among those, a weighted draw over the ones with a free slot. When they are all busy, waits
   * for a slot. Undefined when no untried route is admissible at all.
   */
  private async acquire(
    routes: ModelRoute[],
    tried: Set<ModelRoute>,
    signal: AbortSignal,
  ): Promise<{ route: ModelRoute; inst: Instance; trial: boolean } | undefined> {
    for (;;) {
      if (signal.aborted)
        throw signal.reason instanceof EngineError ? signal.reason : new EngineError("canceled");
      const open = routes.filter((r) => !tried.has(r) && this.admissible(this.instances.get(r.engine)!));
      if (open.length === 0) return undefined;
      // A lower priority is a fallback: used when every better route is tried or its circuit is open,
      // not merely busy (a busy primary is waited for, so a costly backup is not used just for speed).
      const best = Math.min(...open.map((r) => r.priority));
      const group = open.filter((r) => {
        const i = this.instances.get(r.engine)!;
        return r.priority === best && i.inFlight < i.cfg.concurrency;
      });
      if (group.length > 0) {
        const route = this.draw(group);
        const inst = this.instances.get(route.engine)!;
        const trial = this.circuitNow(inst) === "half_open";
        if (trial) inst.trialInFlight = true;
        inst.inFlight++;
        return { route, inst, trial };
      }
      await this.waitForSlot(signal);
    }
  }

  private draw(group: ModelRoute[]): ModelRoute {
    const total = group.reduce((n, r) => n + r.weight, 0);
    let x = this.random() * total;
    for (const r of group) {
      x -= r.weight;
      if (x < 0) return r;
    }
    return group[group.length - 1]!;
  }

  private waitForSlot(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.slotWaiters.delete(done);
        signal.removeEventListener("abort", done);
        clearTimeout(timer);
        resolve();
      };
      this.slotWaiters.add(done);
      signal.addEventListener("abort", done, { once: true });
      // A circuit's cooldown ends without any event: look again now and then.
      const timer = setTimeout(done, 1000);
    });
  }

  private wakeWaiters() {
    for (const w of [...this.slotWaiters]) w();
  }

  private succeeded(inst: Instance) {
    inst.served++;
    inst.consecutiveFailures = 0;
    if (inst.circuit !== "closed")
      this.log.info({ engine: inst.cfg.id }, "engine trial succeeded; circuit closed");
    inst.circuit = "closed";
    inst.trialInFlight = false;
  }

  private failedOn(inst: Instance, err: EngineError, trial: boolean) {
    inst.failed++;
    inst.noteError(this.now(), err.message);
    if (trial) inst.trialInFlight = false;
    // Only failures that say something about the backend's health count toward opening the circuit.
    if (!err.retryable) return;
    inst.consecutiveFailures++;
    if (trial || inst.consecutiveFailures >= this.failureThreshold) {
      if (inst.circuit === "closed")
        this.log.warn({ engine: inst.cfg.id, err: err.message }, "engine circuit opened");
      this.open(inst);
    }
  }

  private open(inst: Instance) {
    inst.circuit = "open";
    inst.openedAt = this.now();
  }
}
