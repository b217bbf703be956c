import { EventEmitter } from "node:events";
import { randomInt } from "node:crypto";
import { sql, type Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database, ImageRow, Job, JobStatus, NewJob } from "../db/schema.js";
import { allColumns, fields, prepared, transaction } from "../db/prepared.js";
import { OPEN_STATUSES } from "../db/schema.js";
import type { Engine, OutputFormat, SourceImage } from "../engines/types.js";
import { EngineError, MIME_TYPES, publicReason } from "../engines/types.js";
import { untilAborted } from "../engines/shared/abort.js";
import type { JobQueue, JobRef } from "../queue/types.js";
import type { SealedStore } from "../storage/envelope.js";
import { ApiError } from "../errors.js";
import { iso, type Clock } from "../clock.js";
import { newId } from "./ids.js";
import { formatMoney } from "./money.js";
import { capture, hold, refund, release } from "./ledger.js";
import { sniffFormat } from "./uploads.js";
import type { ImageService } from "./images.js";

/** A failure the jobs themselves report, in words of their own that a tenant may read. */
const tenantSafe = (message: string) => new EngineError(message, false, "generation_failed", message);

export interface Idempotency {
  key: string;
  /** Hash of what the request asked for: the same key with another request is a 422. */
  hash: string;
}

/**
 * Called inside the transaction that ends a job (the webhook outbox), and after it commits, with what the
 * first returned: whether it queued work for after the commit.
 */
export interface TerminalHooks {
  inTransaction(tx: Kysely<Database>, job: Job): Promise<boolean>;
  afterCommit(job: Job, queued: boolean): void;
}

export interface SubmitInput {
  tenantId: string;
  keyId: string;
  model: string;
  prompt: string;
  negativePrompt?: string;
  width: number;
  height: number;
  seed?: number;
  format: OutputFormat;
  images: SourceImage[];
  cost: number;
  /** False for zero data retention: the image goes back inline only and is never written. */
  store: boolean;
  dailyAllowance?: number | null;
  monthlyAllowance?: number | null;
  webhookUrl?: string | null;
  idempotency?: Idempotency;
}

export interface WaitOptions {
  timeoutMs: number;
  /** Fires when the client goes away. */
  signal?: AbortSignal;
}

export interface Submitted {
  job: Job;
  /** True when an Idempotency-Key gave back the job of an earlier request. */
  replayed: boolean;
  /** The wait asked of submit(), for a job it made. */
  outcome?: Promise<Outcome | null>;
}

/** What a finished job hands to whoever waits for it in this process. */
export interface Outcome {
  job: Job;
  image?: ImageRow;
  /** The encoded bytes, when this process produced them (saves reading them back). */
  bytes?: Buffer;
  /** How long the engine took (ms, through the router), when this process ran it. */
  engineMs?: number;
  /** The tenant's available balance as the charge committed, when this process completed the job. */
  available?: number;
}

/** A job that crashed the process this many times is failed and refunded instead of run again. */
const MAX_ATTEMPTS = 3;
const SAVE_FAILED = "Image generation failed: the image could not be saved";
const NO_RECEIVER =
  "Canceled and refunded: a zero-retention image is returned only to the waiting request, which had ended";
const UNDELIVERED = "Canceled and refunded: the client left before the zero-retention image could be sent";
const PROGRESS_WRITE_MS = 500;
/** Idempotency keys are remembered this long. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

/** The job id of an Idempotency-Key whose request answered without making its job. */
const NOT_MADE = "-";

/**
 * Thrown by submit() for an Idempotency-Key that stands for no job: the first request with it answered
 * without making one (see markNotMade).
 */
export class NotMade extends Error {}

/** Thrown inside a zero-retention completion to roll it back: no request is left to take the image. */
class NoReceiver extends Error {}

// The statements every generation runs, built once (see prepared).
const JOB_COLUMNS = allColumns<Omit<NewJob, "seq">>()([
  "id",
  "tenant_id",
  "key_id",
  "status",
  "type",
  "model",
  "prompt",
  "negative_prompt",
  "width",
  "height",
  "seed",
  "output_format",
  "source_images",
  "cost",
  "store",
  "progress",
  "attempts",
  "error_code",
  "error_message",
  "image_token",
  "created_at",
  "started_at",
  "finished_at",
  "webhook_url",
]);
const insertJob = prepared((db, p: Required<Omit<NewJob, "seq">>) =>
  db.insertInto("jobs").values(fields(p, JOB_COLUMNS)).returningAll(),
);
const markRunning = prepared((db, p: { id: string; at: string }) =>
  db
    .updateTable("jobs")
    .set({ status: "running", started_at: p.at, attempts: sql`attempts + 1` })
    .where("id", "=", p.id)
    .where("status", "=", "queued")
    .returningAll(),
);
const markCompleted = prepared((db, p: { id: string; at: string; token: string | null }) =>
  db
    .updateTable("jobs")
    .set({ status: "completed", progress: 1, finished_at: p.at, image_token: p.token })
    .where("id", "=", p.id)
    .where("status", "=", "running")
    .returningAll(),
);
const IMAGE_COLUMNS = allColumns<ImageRow>()([
  "token",
  "tenant_id",
  "job_id",
  "blob_key",
  "mime_type",
  "bytes",
  "etag",
  "width",
  "height",
  "created_at",
  "expires_at",
  "deleted_at",
]);
const insertImage = prepared((db, p: ImageRow) => db.insertInto("images").values(fields(p, IMAGE_COLUMNS)));

/**
 * The one path every generation takes: hold and job row in one transaction, then the queue, then the
 * engine, then capture (or release) and the terminal status in one transaction. Terminal transitions are
 * compare-and-set on the status, so whichever of completion, failure or cancel comes first wins and the
 * money moves once.
 */
export class JobService {
  private readonly events = new EventEmitter();
  /** Source images of jobs submitted by this process, so a worker here need not read them back. */
  private readonly inputs = new Map<string, SourceImage[]>();
  private readonly controllers = new Map<string, AbortController>();
  /** Requests in this process waiting for a job's bytes: a zero-retention image can go only to them. */
  private readonly receivers = new Map<string, number>();
  /**
   * Zero-retention jobs whose completion has counted on their waiters taking the bytes, with the leaving
   * of those waiters that asked to go meanwhile: they go only once the outcome is known.
   */
  private readonly handing = new Map<string, Set<() => void>>();
  private hooks?: TerminalHooks;

  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      engine: Engine;
      images: ImageService;
      store: SealedStore;
      queue: JobQueue;
      clock: Clock;
      engineTimeoutMs: number;
      log: Logger;
    },
  ) {
    this.events.setMaxListeners(0);
  }

  start(): void {
    this.deps.queue.start((ref) => this.run(ref));
  }

  setTerminalHooks(hooks: TerminalHooks): void {
    this.hooks = hooks;
  }

  /** Every change of a job (running, progress, terminal) as it happens in this process. */
  subscribe(jobId: string, fn: (o: Outcome) => void): () => void {
    this.events.on(jobId, fn);
    return () => this.events.off(jobId, fn);
  }

  /**
   * The job an Idempotency-Key already stands for, or undefined. Throws idempotency_mismatch when the key
   * was used for a different request, and NotMade when it stands for no job. Keys older than 24 h are
   * forgotten.
   */
  async findIdempotent(tenantId: string, idem: Idempotency): Promise<Job | undefined> {
    const { db, clock } = this.deps;
    const row = await db
      .selectFrom("idempotency_keys")
      .selectAll()
      .where("tenant_id", "=", tenantId)
      .where("key", "=", idem.key)
      .executeTakeFirst();
    if (!row) return undefined;
    if (Date.parse(row.created_at) + IDEMPOTENCY_TTL_MS <= clock.now()) {
      await db
        .deleteFrom("idempotency_keys")
        .where("tenant_id", "=", tenantId)
        .where("key", "=", idem.key)
        .where("created_at", "=", row.created_at)
        .execute();
      return undefined;
    }
    if (row.request_hash !== idem.hash) {
      throw new ApiError(
        "idempotency_mismatch",
        "This Idempotency-Key was already used with a different request",
      );
    }
    if (row.job_id === NOT_MADE) throw new NotMade(`Idempotency-Key ${idem.key} stands for no job`);
    return this.get(row.job_id);
  }

  /**
   * Claims Idempotency-Keys for jobs that a request answered without, so that a retry with them replays
   * that answer instead of making, and charging, the jobs now. A key already claimed stays as it is.
   */
  async markNotMade(tenantId: string, keys: Idempotency[]): Promise<void> {
    if (keys.length === 0) return;
    const now = iso(this.deps.clock.now());
    await this.deps.db
      .insertInto("idempotency_keys")
      .values(
        keys.map((k) => ({
          tenant_id: tenantId,
          key: k.key,
          request_hash: k.hash,
          job_id: NOT_MADE,
          created_at: now,
        })),
      )
      .onConflict((oc) => oc.columns(["tenant_id", "key"]).doNothing())
      .execute();
  }

  /**
   * Holds the price and creates the job in one transaction, then queues it. With an Idempotency-Key,
   * the key is claimed in the same transaction, so of many parallel requests exactly one creates a job
   * and the others get that job back (`replayed`). With `wait`, a job made here is waited for (waitFor)
   * from before it is queued, so `outcome` cannot miss its end, nor a zero-retention job its receiver.
   */
  async submit(input: SubmitInput, wait?: WaitOptions): Promise<Submitted> {
    if (input.idempotency) {
      const existing = await this.findIdempotent(input.tenantId, input.idempotency);
      if (existing) return { job: existing, replayed: true };
      try {
        return { ...(await this.create(input, wait)), replayed: false };
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        const winner = await this.findIdempotent(input.tenantId, input.idempotency);
        if (!winner) throw err;
        return { job: winner, replayed: true };
      }
    }
    return { ...(await this.create(input, wait)), replayed: false };
  }

  private async create(
    input: SubmitInput,
    wait?: WaitOptions,
  ): Promise<{ job: Job; outcome?: Promise<Outcome | null> }> {
    const { clock } = this.deps;
    const id = newId("job");
    const now = iso(clock.now());
    if (input.images.length > 0) {
      // Written before the hold (sealed, kept until the job ends so that a job interrupted by a restart
      // can run again): a failed write then costs nothing, and a committed job always has its inputs.
      await Promise.all(input.images.map((img, i) => this.deps.store.put(inputKey(id, i), encodeInput(img))));
    }
    let job: Job;
    try {
      job = await this.holdAndInsert(id, now, input);
    } catch (err) {
      await this.dropInputs({ id, source_images: input.images.length }).catch(() => undefined);
      throw err;
    }
    if (input.images.length > 0) this.inputs.set(id, input.images);
    const outcome = wait && this.waitFor(id, wait.timeoutMs, wait.signal, true);
    await this.deps.queue.enqueue({ jobId: id, tenantId: input.tenantId });
    return { job, outcome };
  }

  private holdAndInsert(id: string, now: string, input: SubmitInput): Promise<Job> {
    return transaction(this.deps.db, async (tx) => {
      if (input.idempotency) {
        await tx
          .insertInto("idempotency_keys")
          .values({
            tenant_id: input.tenantId,
            key: input.idempotency.key,
            request_hash: input.idempotency.hash,
            job_id: id,
            created_at: now,
          })
          .execute();
      }
      const left = await hold(tx, input.tenantId, id, input.cost, now);
      if (left === null) {
        const t = await tx
          .selectFrom("tenants")
          .select("available")
          .where("id", "=", input.tenantId)
          .executeTakeFirst();
        throw new ApiError(
          "insufficient_balance",
          `Not enough balance: this image costs ${formatMoney(input.cost)} and the balance is ${formatMoney(t?.available ?? 0)}`,
        );
      }
      // Counted after the hold: its UPDATE locks the tenant's row until this transaction ends, so on
      // PostgreSQL (read committed) the count sees every job of the tenant's earlier submissions. Counted
      // before it, parallel submissions all counted the same jobs and all passed.
      await this.checkAllowance(tx, input);
      const [row] = (
        await insertJob(tx, {
          id,
          tenant_id: input.tenantId,
          key_id: input.keyId,
          status: "queued",
          type: input.images.length > 0 ? "edit" : "create",
          model: input.model,
          prompt: input.prompt,
          negative_prompt: input.negativePrompt ?? null,
          width: input.width,
          height: input.height,
          seed: input.seed ?? randomInt(2 ** 31),
          output_format: input.format,
          source_images: input.images.length,
          cost: input.cost,
          store: input.store ? 1 : 0,
          progress: 0,
          attempts: 0,
          error_code: null,
          error_message: null,
          image_token: null,
          created_at: now,
          started_at: null,
          finished_at: null,
          webhook_url: input.webhookUrl ?? null,
        })
      ).rows;
      if (!row) throw new Error("the job's INSERT returned no row");
      return row;
    });
  }

  private async checkAllowance(tx: Kysely<Database>, input: SubmitInput) {
    const now = new Date(this.deps.clock.now());
    const [y, m, d] = [now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()];
    // The monthly allowance first: when both are used up, retrying at midnight would not help.
    const checks: [number | null | undefined, number, string, number][] = [
      [input.monthlyAllowance, Date.UTC(y, m, 1), "monthly", Date.UTC(y, m + 1, 1)],
      [input.dailyAllowance, Date.UTC(y, m, d), "daily", Date.UTC(y, m, d + 1)],
    ];
    for (const [allowance, since, label, resetsAt] of checks) {
      if (allowance === null || allowance === undefined) continue;
      const row = await tx
        .selectFrom("jobs")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("tenant_id", "=", input.tenantId)
        .where("created_at", ">=", iso(since))
        .where("status", "in", ["queued", "running", "completed"])
        .executeTakeFirstOrThrow();
      if (Number(row.n) >= allowance) {
        const wait = String(Math.max(1, Math.ceil((resetsAt - now.getTime()) / 1000)));
        throw new ApiError("quota_exceeded", `The ${label} allowance of ${allowance} images is used up`, {
          headers: { "Retry-After": wait },
        });
      }
    }
  }

  /**
   * Resolves when the job reaches a terminal status, or with null after `timeoutMs`, when `signal` fires
   * (the client went away) or when the job cannot be read. Listens before it looks, so a job that ends in
   * between is not missed. `unqueued` is for a job that submit() has made but not yet queued: nothing can
   * have ended it, and whatever does will tell the listener, so there is nothing to look at.
   */
  waitFor(jobId: string, timeoutMs: number, signal?: AbortSignal, unqueued = false): Promise<Outcome | null> {
    return new Promise((resolve) => {
      let done = false;
      this.receivers.set(jobId, (this.receivers.get(jobId) ?? 0) + 1);
      const finish = (o: Outcome | null) => {
        if (done || (o && OPEN_STATUSES.includes(o.job.status))) return;
        done = true;
        clearTimeout(timer);
        this.events.off(jobId, finish);
        signal?.removeEventListener("abort", gone);
        const left = (this.receivers.get(jobId) ?? 1) - 1;
        if (left > 0) this.receivers.set(jobId, left);
        else this.receivers.delete(jobId);
        resolve(o);
      };
      const gone = () => {
        // Leaving now would charge a zero-retention image that nobody takes: stay for the outcome, which
        // the completion already in progress is about to give.
        const leaving = this.handing.get(jobId);
        if (leaving) leaving.add(() => finish(null));
        else finish(null);
      };
      const timer = setTimeout(gone, timeoutMs);
      this.events.on(jobId, finish);
      if (signal?.aborted) return gone();
      signal?.addEventListener("abort", gone, { once: true });
      if (unqueued) return;
      this.get(jobId)
        .then(async (job) => {
          if (job && !OPEN_STATUSES.includes(job.status)) finish({ job, image: await this.imageOf(job) });
        })
        .catch((err: unknown) => {
          // Had the job already ended, no event would come: waiting on could only end in the timeout.
          this.deps.log.warn({ err, jobId }, "could not read a job to wait for it");
          gone();
        });
    });
  }

  get(jobId: string): Promise<Job | undefined> {
    return this.deps.db.selectFrom("jobs").selectAll().where("id", "=", jobId).executeTakeFirst();
  }

  private async imageOf(job: Job): Promise<ImageRow | undefined> {
    if (!job.image_token) return undefined;
    return this.deps.db
      .selectFrom("images")
      .selectAll()
      .where("token", "=", job.image_token)
      .executeTakeFirst();
  }

  /** The worker's handler: runs one job from queued to a terminal status. */
  async run(ref: JobRef): Promise<void> {
    const { db, clock, engine, log } = this.deps;
    const [job] = (await markRunning(db, { id: ref.jobId, at: iso(clock.now()) })).rows;
    if (!job) return; // canceled, or taken by another worker
    this.events.emit(job.id, { job } satisfies Outcome);
    const controller = new AbortController();
    this.controllers.set(job.id, controller);
    const timeout = setTimeout(
      () =>
        controller.abort(
          tenantSafe(`the engine did not finish within ${this.deps.engineTimeoutMs / 1000} s`),
        ),
      this.deps.engineTimeoutMs,
    );
    // The row's progress is for readers elsewhere (polls, other processes): a job that ends within
    // PROGRESS_WRITE_MS never writes it, and a longer one writes its latest progress at most that often,
    // on a timer, so a step that came early is written even when no later step comes (real elapsed time:
    // a write rate, not a business time).
    let lastProgressWrite = performance.now();
    let lastProgress = 0;
    let progressTimer: NodeJS.Timeout | undefined;
    const writeProgress = () => {
      progressTimer = undefined;
      lastProgressWrite = performance.now();
      db.updateTable("jobs")
        .set({ progress: lastProgress })
        .where("id", "=", job.id)
        .where("status", "=", "running")
        .execute()
        .catch((err: unknown) => log.warn({ err, jobId: job.id }, "could not write a job's progress"));
    };
    try {
      const images = await this.loadInputs(job);
      const engineStart = performance.now();
      const result = await untilAborted(
        engine.generate({
          prompt: job.prompt,
          negativePrompt: job.negative_prompt ?? undefined,
          width: job.width,
          height: job.height,
          seed: job.seed,
          format: job.output_format,
          images,
          model: job.model,
          signal: controller.signal,
          onProgress: (p) => {
            // 1 is for the completed job; a backend's own "done" must not look like completion.
            const progress = Math.min(0.99, Math.max(0, p));
            if (!(progress > lastProgress)) return;
            lastProgress = progress;
            // Listeners in this process (event streams) hear every step at once.
            this.events.emit(job.id, { job: { ...job, progress } } satisfies Outcome);
            progressTimer ??= setTimeout(
              writeProgress,
              Math.max(0, lastProgressWrite + PROGRESS_WRITE_MS - performance.now()),
            );
          },
        }),
        controller.signal,
      );
      if (
        sniffFormat(result.bytes) !== job.output_format ||
        result.width !== job.width ||
        result.height !== job.height
      ) {
        throw tenantSafe("the engine returned an image of the wrong format or size");
      }
      await this.complete(job, result.bytes, performance.now() - engineStart);
    } catch (err) {
      // The engine's own words go to the operator's log only; the job, its answer and its webhook carry
      // the public reason.
      if (err instanceof EngineError) log.warn({ jobId: job.id, reason: err.message }, "generation failed");
      else log.error({ err, jobId: job.id }, "engine error");
      const reason = err instanceof EngineError ? publicReason(err) : "the engine failed unexpectedly";
      const code = err instanceof EngineError ? err.code : "generation_failed";
      await this.fail(job, code, `Image generation failed: ${reason}`);
    } finally {
      clearTimeout(timeout);
      clearTimeout(progressTimer);
      this.controllers.delete(job.id);
    }
  }

  private async complete(job: Job, bytes: Buffer, engineMs: number): Promise<void> {
    const { db, clock, images, log } = this.deps;
    let image: ImageRow | undefined;
    try {
      image = job.store
        ? await images.put(job.tenant_id, job.id, bytes, MIME_TYPES[job.output_format], job.width, job.height)
        : undefined;
    } catch (err) {
      // Not the engine's failure: the image was made and could not be kept (a full or broken disk).
      log.error({ err, jobId: job.id }, "could not store a finished image");
      await this.fail(job, "generation_failed", SAVE_FAILED);
      return;
    }
    const now = iso(clock.now());
    let done: { job: Job; available?: number; queued: boolean } | undefined;
    try {
      done = await transaction(db, async (tx) => {
        const [row] = (await markCompleted(tx, { id: job.id, at: now, token: image?.token ?? null })).rows;
        if (!row) return undefined;
        const available = await capture(tx, job.tenant_id, job.id, job.cost, now);
        if (image) await insertImage(tx, image);
        const queued = (await this.hooks?.inTransaction(tx, row)) ?? false;
        // Zero retention: the bytes exist only here, so the charge stands only if a request in this
        // process takes them. Decided last before the commit, and in one step with that request, which
        // from here waits for the outcome whatever happens to its client.
        if (!job.store && !this.handOff(job.id)) throw new NoReceiver();
        return { job: row, available, queued };
      });
      if (done) {
        // Tell the waiters first: what follows is cleanup, and its failure must not cost them the image.
        this.hooks?.afterCommit(done.job, done.queued);
        this.events.emit(job.id, {
          job: done.job,
          image,
          bytes,
          engineMs,
          available: done.available,
        } satisfies Outcome);
      }
    } catch (err) {
      if (err instanceof NoReceiver) {
        // Charging for an image nobody can ever receive would break "no charge without an image".
        await this.fail(job, "canceled", NO_RECEIVER, "canceled");
        return;
      }
      // Failed first, then the bytes: once the job is failed its completion can no longer commit, and a
      // completion that did commit (only its answer lost) keeps the image it was charged for.
      const failed = await this.fail(job, "generation_failed", SAVE_FAILED).catch(() => undefined);
      const row = failed ?? (await this.get(job.id).catch(() => undefined));
      if (image && row && row.image_token !== image.token) {
        // No row refers to these bytes, so no sweeper would ever delete them.
        await images
          .discard(image)
          .catch((e: unknown) => log.error({ err: e, jobId: job.id }, "could not delete an unsaved image"));
      }
      throw err;
    } finally {
      this.endHandOff(job.id);
    }
    if (!done && image) {
      // Canceled or failed while the engine worked: that path already released the hold.
      await images.discard(image);
    }
    await this.dropInputs(job).catch((err: unknown) =>
      log.warn({ err, jobId: job.id }, "could not delete a finished job's source images"),
    );
  }

  /** Counts on this process's waiters of a zero-retention job to take its bytes; false when it has none. */
  private handOff(jobId: string): boolean {
    if (!this.receivers.has(jobId)) return false;
    this.handing.set(jobId, new Set());
    return true;
  }

  /** The outcome is out (or the completion failed): waiters that asked to leave meanwhile may now go. */
  private endHandOff(jobId: string): void {
    const leaving = this.handing.get(jobId);
    this.handing.delete(jobId);
    for (const leave of leaving ?? []) leave();
  }

  /** Moves an open job to a terminal failure status and releases its hold, at most once. */
  async fail(
    job: Pick<Job, "id" | "tenant_id" | "cost">,
    code: string,
    message: string,
    status: JobStatus = "failed",
  ) {
    const { db, clock } = this.deps;
    const now = iso(clock.now());
    const ended = await transaction(db, async (tx) => {
      const r = await tx
        .updateTable("jobs")
        .set({ status, error_code: code, error_message: message, finished_at: now })
        .where("id", "=", job.id)
        .where("status", "in", [...OPEN_STATUSES])
        .returningAll()
        .executeTakeFirst();
      if (!r) return undefined;
      await release(tx, job.tenant_id, job.id, job.cost, now, `${status}: ${code}`);
      return { row: r, queued: (await this.hooks?.inTransaction(tx, r)) ?? false };
    });
    if (!ended) return undefined;
    const { row } = ended;
    this.controllers.get(job.id)?.abort(tenantSafe(message));
    // Tell the waiters first, as complete() does: the cleanup's failure must not cost them the outcome.
    this.hooks?.afterCommit(row, ended.queued);
    this.events.emit(job.id, { job: row } satisfies Outcome);
    await this.dropInputs(row).catch((err: unknown) =>
      this.deps.log.warn({ err, jobId: job.id }, "could not delete an ended job's source images"),
    );
    return row;
  }

  /**
   * A completed zero-retention job whose image its request took but could not send, its client gone before
   * the answer (a request for several images waits for all of them): canceled and refunded, since its bytes
   * were never kept and nobody will receive them. At most once; undefined when the job is not a completed
   * zero-retention one (a stored image stays in the history and can still be fetched).
   */
  async refundUndelivered(job: Pick<Job, "id" | "tenant_id" | "cost">): Promise<Job | undefined> {
    const { db, clock } = this.deps;
    const now = iso(clock.now());
    const row = await transaction(db, async (tx) => {
      const r = await tx
        .updateTable("jobs")
        .set({ status: "canceled", error_code: "canceled", error_message: UNDELIVERED })
        .where("id", "=", job.id)
        .where("status", "=", "completed")
        .where("store", "=", 0)
        .returningAll()
        .executeTakeFirst();
      if (r) await refund(tx, job.tenant_id, job.id, job.cost, now, "canceled: undelivered");
      return r;
    });
    if (row) this.events.emit(job.id, { job: row } satisfies Outcome);
    return row;
  }

  /**
   * DELETE /v1/jobs/{id}: an open job is canceled and refunded (the engine is told to stop); a finished
   * job's image bytes are purged. Undefined when the job is not the tenant's.
   */
  async cancel(tenantId: string, jobId: string): Promise<"canceled" | "purged" | "finished" | undefined> {
    const job = await this.get(jobId);
    if (!job || job.tenant_id !== tenantId) return undefined;
    if (OPEN_STATUSES.includes(job.status)) {
      const row = await this.fail(job, "canceled", "Canceled by the client", "canceled");
      // Lost the race to the engine: the job completed (and was charged) as the cancel came in. The client
      // asked to stop work, not to delete a paid image, so the image stays; a second DELETE purges it.
      return row ? "canceled" : "finished";
    }
    if (job.image_token) await this.deps.images.purge(job.image_token);
    return "purged";
  }

  /**
   * At start, before the workers: jobs left `running` by a crash run again (their hold is still open),
   * unless they already took MAX_ATTEMPTS tries, in which case they fail and are refunded. Every queued
   * job goes back in the queue.
   */
  async recover(): Promise<{ requeued: number; failed: number }> {
    const { db, log } = this.deps;
    const interrupted = await db.selectFrom("jobs").selectAll().where("status", "=", "running").execute();
    let failed = 0;
    for (const job of interrupted) {
      if (job.attempts >= MAX_ATTEMPTS) {
        await this.fail(
          job,
          "generation_failed",
          "Image generation failed: interrupted by a restart too many times",
        );
        failed++;
      } else {
        await db
          .updateTable("jobs")
          .set({ status: "queued" })
          .where("id", "=", job.id)
          .where("status", "=", "running")
          .execute();
      }
    }
    const queued = await db
      .selectFrom("jobs")
      .select(["id", "tenant_id"])
      .where("status", "=", "queued")
      .orderBy("seq")
      .execute();
    for (const j of queued) await this.deps.queue.enqueue({ jobId: j.id, tenantId: j.tenant_id });
    if (interrupted.length || queued.length)
      log.info({ interrupted: interrupted.length, requeued: queued.length, failed }, "recovered jobs");
    return { requeued: queued.length, failed };
  }

  private async loadInputs(job: Job): Promise<SourceImage[]> {
    const cached = this.inputs.get(job.id);
    if (cached) return cached;
    const out: SourceImage[] = [];
    for (let i = 0; i < job.source_images; i++) {
      const sealed = await this.deps.store.get(inputKey(job.id, i));
      if (!sealed) throw tenantSafe("a source image of this job is no longer available");
      out.push(decodeInput(sealed));
    }
    return out;
  }

  private async dropInputs(job: Pick<Job, "id" | "source_images">): Promise<void> {
    this.inputs.delete(job.id);
    await Promise.all(
      Array.from({ length: job.source_images }, (_, i) => this.deps.store.delete(inputKey(job.id, i))),
    );
  }
}

function inputKey(jobId: string, i: number): string {
  return `inputs/${jobId}/${i}`;
}

// A stored source image: 1 byte format, 4+4 bytes dimensions, then the bytes.
const FORMATS: OutputFormat[] = ["png", "jpeg", "webp"];
function encodeInput(img: SourceImage): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt8(FORMATS.indexOf(img.format), 0);
  head.writeUInt32BE(img.width, 1);
  head.writeUInt32BE(img.height, 5);
  return Buffer.concat([head, img.bytes]);
}
function decodeInput(b: Buffer): SourceImage {
  return {
    format: FORMATS[b.readUInt8(0)]!,
    width: b.readUInt32BE(1),
    height: b.readUInt32BE(5),
    bytes: b.subarray(9),
  };
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === "23505" || (typeof code === "string" && code.startsWith("SQLITE_CONSTRAINT"));
}
