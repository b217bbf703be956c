import type { JobQueue, JobRef } from "./types.js";

/**
 * In-process queue, round-robin across tenants: each tenant has its own FIFO and the workers take from
 * the tenants in turn, so one tenant's burst does not push another tenant's job to the back.
 */
export class MemoryQueue implements JobQueue {
  private readonly perTenant = new Map<string, JobRef[]>();
  /** Tenants with queued work, in turn order. */
  private turn: string[] = [];
  private active = 0;
  private queued = 0;
  private handler?: (ref: JobRef) => Promise<void>;
  private stopping = false;
  private idle?: () => void;

  constructor(private readonly concurrency: number) {}

  async enqueue(ref: JobRef): Promise<void> {
    let q = this.perTenant.get(ref.tenantId);
    if (!q) {
      q = [];
      this.perTenant.set(ref.tenantId, q);
      this.turn.push(ref.tenantId);
    }
    q.push(ref);
    this.queued++;
    this.pump();
  }

  start(handler: (ref: JobRef) => Promise<void>): void {
    this.handler = handler;
    this.pump();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.active === 0) return;
    await new Promise<void>((resolve) => (this.idle = resolve));
  }

  depth(): number {
    return this.queued;
  }

  running(): number {
    return this.active;
  }

  private next(): JobRef | undefined {
    const tenant = this.turn.shift();
    if (tenant === undefined) return undefined;
    const q = this.perTenant.get(tenant)!;
    const ref = q.shift()!;
    if (q.length > 0) this.turn.push(tenant);
    else this.perTenant.delete(tenant);
    this.queued--;
    return ref;
  }

  private pump(): void {
    const handler = this.handler;
    if (!handler) return;
    while (!this.stopping && this.active < this.concurrency) {
      const ref = this.next();
      if (!ref) return;
      this.active++;
      handler(ref)
        .catch(() => {
          // The handler records its own failures on the job row; nothing to add here.
        })
        .finally(() => {
          this.active--;
          if (this.stopping && this.active === 0) this.idle?.();
          this.pump();
        });
    }
  }
}
