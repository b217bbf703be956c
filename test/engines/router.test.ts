import { describe, expect, it } from "vitest";
import pino from "pino";
import { Catalog, type ModelInfo } from "../../src/domain/catalog.js";
import { EngineRouter } from "../../src/engines/router.js";
import type { EngineInstanceConfig } from "../../src/engines/instance.js";
import { EngineError, type Engine, type EngineRequest, type EngineResult } from "../../src/engines/types.js";

const log = pino({ level: "silent" });

/** An engine double that records what the router sends it and answers as told. */
class ScriptedEngine implements Engine {
  readonly kind = "scripted";
  readonly supportsEdit = true;
  readonly maxSourceImages: number = 2;
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  lastParams: Record<string, unknown> | undefined;
  /** What the next calls do: "ok", "retryable", "fatal", "hang". */
  mode: "ok" | "retryable" | "fatal" | "hang" = "ok";
  delayMs = 5;
  probeOk = true;
  probes = 0;

  constructor(readonly name: string) {}

  async generate(req: EngineRequest): Promise<EngineResult> {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.lastParams = req.params;
    try {
      if (this.mode === "hang") {
        await new Promise((_r, reject) =>
          req.signal.addEventListener("abort", () => reject(req.signal.reason as Error), { once: true }),
        );
      }
      await new Promise((r) => setTimeout(r, this.delayMs));
      if (this.mode === "retryable") throw new EngineError(`${this.name}: connection refused`, true);
      if (this.mode === "fatal") throw new EngineError(`${this.name}: bad workflow`, false);
      return { bytes: Buffer.from(this.name), format: "png", width: req.width, height: req.height };
    } finally {
      this.inFlight--;
    }
  }

  async probe(): Promise<void> {
    this.probes++;
    if (!this.probeOk) throw new EngineError(`${this.name}: down`, true);
  }
}

function instance(id: string, concurrency = 1, timeoutMs = 10_000): EngineInstanceConfig {
  return { id, kind: "scripted", url: `http://${id}:1`, concurrency, timeoutMs, headers: {} };
}

function model(routes: ModelInfo["routes"]): ModelInfo {
  return {
    id: "m",
    aliases: [],
    name: "M",
    status: "ga",
    maxSize: 1024,
    supportsEdit: true,
    priceMin: 1,
    priceMax: 2,
    created: 0,
    routes,
  };
}

const req = (signal = new AbortController().signal, images = 0): EngineRequest => ({
  prompt: "p",
  width: 256,
  height: 256,
  seed: 1,
  format: "png",
  images: Array.from({ length: images }, () => ({
    bytes: Buffer.alloc(1),
    format: "png" as const,
    width: 1,
    height: 1,
  })),
  model: "m",
  signal,
});

function setup(
  engines: [ScriptedEngine, EngineInstanceConfig][],
  routes: ModelInfo["routes"],
  opts: ConstructorParameters<typeof EngineRouter>[3] = {},
) {
  const catalog = new Catalog([model(routes)]);
  return new EngineRouter(
    engines.map(([engine, cfg]) => ({ engine, cfg })),
    catalog,
    log,
    opts,
  );
}

describe("engine router", () => {
  it("fails over from a dead instance to a live one, within one call", async () => {
    const dead = new ScriptedEngine("dead");
    dead.mode = "retryable";
    const live = new ScriptedEngine("live");
    const router = setup(
      [
        [dead, instance("dead")],
        [live, instance("live")],
      ],
      [
        { engine: "dead", priority: 1, weight: 1, params: {} },
        { engine: "live", priority: 2, weight: 1, params: { steps: 9 } },
      ],
    );
    const out = await router.generate(req());
    expect(out.bytes.toString()).toBe("live");
    expect([dead.calls, live.calls]).toEqual([1, 1]);
    expect(live.lastParams).toEqual({ steps: 9 });
    const st = router.status().find((s) => s.id === "dead")!;
    expect(st.failed).toBe(1);
    expect(st.recent_errors[0]!.message).toContain("connection refused");
  });

  it("does not fail over a non-retryable failure (it would fail the same way anywhere)", async () => {
    const bad = new ScriptedEngine("bad");
    bad.mode = "fatal";
    const other = new ScriptedEngine("other");
    const router = setup(
      [
        [bad, instance("bad")],
        [other, instance("other")],
      ],
      [
        { engine: "bad", priority: 1, weight: 1, params: {} },
        { engine: "other", priority: 2, weight: 1, params: {} },
      ],
    );
    await expect(router.generate(req())).rejects.toThrow("bad workflow");
    expect(other.calls).toBe(0);
    // A bad request says nothing about the backend's health.
    expect(router.status()[0]!.consecutive_failures).toBe(0);
  });

  it("reports every backend failing as a retryable generation failure naming the last error", async () => {
    const a = new ScriptedEngine("a");
    const b = new ScriptedEngine("b");
    a.mode = b.mode = "retryable";
    const router = setup(
      [
        [a, instance("a")],
        [b, instance("b")],
      ],
      [
        { engine: "a", priority: 1, weight: 1, params: {} },
        { engine: "b", priority: 1, weight: 1, params: {} },
      ],
    );
    const err = (await router.generate(req()).catch((e: unknown) => e)) as EngineError;
    expect(err).toBeInstanceOf(EngineError);
    expect(err.message).toMatch(/all 2 backends failed; last: (a|b): connection refused/);
    expect(err.code).toBe("generation_failed");
  });

  it("spreads load by weight among routes of equal priority", async () => {
    const heavy = new ScriptedEngine("heavy");
    const light = new ScriptedEngine("light");
    let i = 0;
    // An even spread of draws over [0, 1): a 3:1 weight must give 3:1 calls.
    const router = setup(
      [
        [heavy, instance("heavy", 100)],
        [light, instance("light", 100)],
      ],
      [
        { engine: "heavy", priority: 1, weight: 3, params: {} },
        { engine: "light", priority: 1, weight: 1, params: {} },
      ],
      { random: () => (i++ % 100) / 100 },
    );
    for (let n = 0; n < 100; n++) await router.generate(req());
    expect([heavy.calls, light.calls]).toEqual([75, 25]);
  });

  it("uses a lower priority only as a fallback, not because the better route is busy", async () => {
    const primary = new ScriptedEngine("primary");
    const backup = new ScriptedEngine("backup");
    primary.delayMs = 20;
    const router = setup(
      [
        [primary, instance("primary", 1)],
        [backup, instance("backup", 5)],
      ],
      [
        { engine: "primary", priority: 1, weight: 1, params: {} },
        { engine: "backup", priority: 2, weight: 1, params: {} },
      ],
    );
    await Promise.all(Array.from({ length: 5 }, () => router.generate(req())));
    expect([primary.calls, backup.calls]).toEqual([5, 0]);
    expect(primary.maxInFlight).toBe(1);
  });

  it("never runs more jobs on an instance than its concurrency, under 50 concurrent jobs", async () => {
    const a = new ScriptedEngine("a");
    const b = new ScriptedEngine("b");
    a.delayMs = b.delayMs = 3;
    const router = setup(
      [
        [a, instance("a", 2)],
        [b, instance("b", 3)],
      ],
      [
        { engine: "a", priority: 1, weight: 1, params: {} },
        { engine: "b", priority: 1, weight: 1, params: {} },
      ],
    );
    const results = await Promise.all(Array.from({ length: 50 }, () => router.generate(req())));
    expect(results).toHaveLength(50);
    expect(a.calls + b.calls).toBe(50);
    expect(a.maxInFlight).toBeLessThanOrEqual(2);
    expect(b.maxInFlight).toBeLessThanOrEqual(3);
    // Both were used to the full: the limit is a limit, not a reason to idle.
    expect(a.maxInFlight).toBe(2);
    expect(b.maxInFlight).toBe(3);
    expect(router.status().every((s) => s.in_flight === 0)).toBe(true);
  });

  it("opens the circuit after repeated failures, lets one trial through after the cooldown, and closes on success", async () => {
    let now = 1_000_000;
    const flaky = new ScriptedEngine("flaky");
    const steady = new ScriptedEngine("steady");
    flaky.mode = "retryable";
    const router = setup(
      [
        [flaky, instance("flaky")],
        [steady, instance("steady")],
      ],
      [
        { engine: "flaky", priority: 1, weight: 1, params: {} },
        { engine: "steady", priority: 2, weight: 1, params: {} },
      ],
      { failureThreshold: 3, cooldownMs: 30_000, now: () => now },
    );
    for (let n = 0; n < 3; n++) await router.generate(req());
    expect(flaky.calls).toBe(3);
    expect(router.status()[0]!.circuit).toBe("open");
    // Open: the failing backend is not even tried.
    await router.generate(req());
    expect(flaky.calls).toBe(3);
    expect(steady.calls).toBe(4);

    now += 30_000;
    expect(router.status()[0]!.circuit).toBe("half_open");
    flaky.mode = "ok";
    const out = await router.generate(req());
    expect(out.bytes.toString()).toBe("flaky");
    expect(router.status()[0]!.circuit).toBe("closed");
  });

  it("a failed trial opens the circuit again at once", async () => {
    let now = 0;
    const flaky = new ScriptedEngine("flaky");
    const steady = new ScriptedEngine("steady");
    flaky.mode = "retryable";
    const router = setup(
      [
        [flaky, instance("flaky")],
        [steady, instance("steady")],
      ],
      [
        { engine: "flaky", priority: 1, weight: 1, params: {} },
        { engine: "steady", priority: 2, weight: 1, params: {} },
      ],
      { failureThreshold: 2, cooldownMs: 1000, now: () => now },
    );
    await router.generate(req());
    await router.generate(req());
    now += 1000;
    await router.generate(req()); // the trial, which fails over to steady
    expect(flaky.calls).toBe(3);
    expect(router.status()[0]!.circuit).toBe("open");
  });

  it("a failing health probe opens the circuit and a passing one closes it", async () => {
    const a = new ScriptedEngine("a");
    const b = new ScriptedEngine("b");
    const router = setup(
      [
        [a, instance("a")],
        [b, instance("b")],
      ],
      [
        { engine: "a", priority: 1, weight: 1, params: {} },
        { engine: "b", priority: 2, weight: 1, params: {} },
      ],
    );
    a.probeOk = false;
    await router.probeAll();
    expect(router.status()[0]).toMatchObject({ circuit: "open", healthy: false, last_probe: { ok: false } });
    await router.generate(req());
    expect([a.calls, b.calls]).toEqual([0, 1]);
    a.probeOk = true;
    await router.probeAll();
    expect(router.status()[0]).toMatchObject({ circuit: "closed", healthy: true });
    await router.generate(req());
    expect(a.calls).toBe(1);
  });

  it("answers service_unavailable when every route's circuit is open", async () => {
    const a = new ScriptedEngine("a");
    a.probeOk = false;
    const router = setup([[a, instance("a")]], [{ engine: "a", priority: 1, weight: 1, params: {} }]);
    await router.probeAll();
    const m = new Catalog([model([{ engine: "a", priority: 1, weight: 1, params: {} }])]).find("m")!;
    expect(router.canServe(m, 0)).toBe(false);
    const err = (await router.generate(req()).catch((e: unknown) => e)) as EngineError;
    expect(err.code).toBe("service_unavailable");
    expect(a.calls).toBe(0);
  });

  it("times out an attempt by the route's timeout and fails over", async () => {
    const slow = new ScriptedEngine("slow");
    slow.mode = "hang";
    const fast = new ScriptedEngine("fast");
    const router = setup(
      [
        [slow, instance("slow")],
        [fast, instance("fast")],
      ],
      [
        { engine: "slow", priority: 1, weight: 1, timeoutMs: 50, params: {} },
        { engine: "fast", priority: 2, weight: 1, params: {} },
      ],
    );
    const out = await router.generate(req());
    expect(out.bytes.toString()).toBe("fast");
    expect(router.status()[0]!.recent_errors[0]!.message).toMatch(
      /no answer within 0\.1 s|no answer within 0\.05 s/,
    );
  });

  it("a canceled job stops at once, also while waiting for a slot, and releases its slot", async () => {
    const a = new ScriptedEngine("a");
    a.mode = "hang";
    const router = setup([[a, instance("a", 1)]], [{ engine: "a", priority: 1, weight: 1, params: {} }]);
    const first = new AbortController();
    const second = new AbortController();
    const p1 = router.generate(req(first.signal));
    const p2 = router.generate(req(second.signal));
    await new Promise((r) => setTimeout(r, 20));
    expect(a.calls).toBe(1); // the second waits for the only slot
    second.abort(new EngineError("canceled by the client"));
    await expect(p2).rejects.toThrow("canceled by the client");
    first.abort(new EngineError("canceled by the client"));
    await expect(p1).rejects.toThrow("canceled by the client");
    expect(router.status()[0]).toMatchObject({ in_flight: 0, circuit: "closed", consecutive_failures: 0 });
  });

  it("routes edits only to instances that take that many source images", async () => {
    const noEdit = new (class extends ScriptedEngine {
      override readonly maxSourceImages: number = 1;
    })("one");
    const two = new ScriptedEngine("two");
    const router = setup(
      [
        [noEdit, instance("one")],
        [two, instance("two")],
      ],
      [
        { engine: "one", priority: 1, weight: 1, params: {} },
        { engine: "two", priority: 2, weight: 1, params: {} },
      ],
    );
    expect((await router.generate(req(undefined, 2))).bytes.toString()).toBe("two");
    expect((await router.generate(req(undefined, 1))).bytes.toString()).toBe("one");
  });
});
