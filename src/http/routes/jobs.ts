import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Services } from "../../services.js";
import type { Job, JobStatus } from "../../db/schema.js";
import { OPEN_STATUSES } from "../../db/schema.js";
import { apiTime } from "../../clock.js";
import { formatMoney } from "../../domain/money.js";
import { ApiError } from "../../errors.js";
import { checkWebhookUrl } from "../../webhooks/urls.js";
import type { Outcome } from "../../domain/jobs.js";
import { asObject, baseUrl, idempotencyOf, signedImageUrl, validateGeneration } from "../generation.js";
import { routeSchemas } from "../schemas/fastify.js";
import { jobOps } from "../schemas/jobs.js";

const STATUSES = new Set<JobStatus>(["queued", "running", "completed", "failed", "blocked", "canceled"]);
const MAX_PREFER_WAIT_S = 60;
const SSE_POLL_MS = 2000;
const SSE_HEARTBEAT_MS = 15_000;
const RANK: Record<JobStatus, number> = {
  queued: 0,
  running: 1,
  completed: 2,
  failed: 2,
  blocked: 2,
  canceled: 2,
};

/** A job as the API shows it (seeds 002 and 004). */
export async function jobView(s: Services, req: FastifyRequest, job: Job) {
  const view: Record<string, unknown> = {
    job_id: job.id,
    status: job.status,
    kind: "image",
    progress: job.status === "completed" ? 1 : job.progress,
    model: job.model,
    size: `${job.width}x${job.height}`,
    seed: job.seed,
    // Held while open, charged when completed, refunded otherwise.
    cost: formatMoney(OPEN_STATUSES.includes(job.status) || job.status === "completed" ? job.cost : 0),
    created_at: apiTime(job.created_at),
    started_at: job.started_at ? apiTime(job.started_at) : null,
    finished_at: job.finished_at ? apiTime(job.finished_at) : null,
  };
  if (job.status === "completed" && job.image_token) {
    const img = await s.db.kysely
      .selectFrom("images")
      .select(["token", "expires_at", "deleted_at", "mime_type"])
      .where("token", "=", job.image_token)
      .executeTakeFirst();
    const left = img ? Math.floor((Date.parse(img.expires_at) - s.clock.now()) / 1000) : 0;
    if (img && img.deleted_at === null && left > 0) {
      view.result_url = signedImageUrl(s, req, img);
      view.expires_in = left;
      view.mime_type = img.mime_type;
    } else {
      view.result_url = null;
      view.expires_in = 0;
    }
  }
  if (job.error_message) {
    view.error = job.error_message;
    view.error_code = job.error_code;
  }
  return view;
}

async function ownJob(s: Services, req: FastifyRequest<{ Params: { id: string } }>): Promise<Job> {
  const job = await s.jobs.get(req.params.id);
  if (!job || job.tenant_id !== req.auth!.tenantId)
    throw new ApiError("not_found", `No job ${req.params.id}`);
  return job;
}

function preferWait(req: FastifyRequest): number {
  const prefer = req.headers.prefer;
  const m = typeof prefer === "string" ? /(?:^|[,;\s])wait=(\d+)/.exec(prefer) : null;
  return m ? Math.min(MAX_PREFER_WAIT_S, Number(m[1])) : 0;
}

export function jobRoutes(app: FastifyInstance, s: Services): void {
  const doc = routeSchemas(jobOps);
  const submit = { schema: doc.submit, config: { auth: "key", scope: "generate" } } as const;
  app.post("/v1/images/generate", submit, async (req, reply) => {
    const body = asObject(req.body);
    if (req.headers["x-zekron-store"] === "0") {
      // A job's image is fetched later, so it must be kept: zero retention needs a synchronous route.
      throw new ApiError(
        "invalid_parameter",
        "X-Zekron-Store: 0 is for the synchronous routes (POST /v1/generate), where the image comes back in the answer",
        { param: "X-Zekron-Store" },
      );
    }
    const webhookUrl =
      body.webhook_url === undefined || body.webhook_url === null
        ? null
        : checkWebhookUrl(body.webhook_url, s.config.webhookAllowPrivate);
    const { input } = await validateGeneration(
      s,
      req.auth!,
      {
        prompt: body.prompt,
        model: body.model,
        width: body.width,
        height: body.height,
        size: body.size,
        seed: body.seed,
        negative_prompt: body.negative_prompt ?? body.negative,
        output_format: body.output_format,
        images: body.images,
      },
      true,
    );
    const { job } = await s.jobs.submit({ ...input, webhookUrl, idempotency: idempotencyOf(req, body) });
    const wait = preferWait(req);
    if (wait > 0) {
      reply.header("Preference-Applied", `wait=${wait}`);
      const done = await s.jobs.waitFor(job.id, wait * 1000);
      if (done) return reply.code(200).send(await jobView(s, req, done.job));
    }
    return reply.code(202).send({
      job_id: job.id,
      status: "queued",
      kind: "image",
      poll_url: `${baseUrl(s, req)}/v1/jobs/${job.id}`,
    });
  });

  app.get<{ Params: { id: string } }>(
    "/v1/jobs/:id",
    { schema: doc.get, config: { auth: "key", scope: "read" } },
    async (req) => jobView(s, req, await ownJob(s, req)),
  );

  app.get<{ Querystring: { status?: string; limit?: string; cursor?: string } }>(
    "/v1/jobs",
    { schema: doc.list, config: { auth: "key", scope: "read" } },
    async (req) => {
      const { status, cursor } = req.query;
      const limit = req.query.limit === undefined ? 20 : Number(req.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        throw new ApiError("invalid_parameter", "limit must be an integer from 1 to 100", { param: "limit" });
      }
      if (status !== undefined && !STATUSES.has(status as JobStatus)) {
        throw new ApiError("invalid_parameter", `status must be one of ${[...STATUSES].join(", ")}`, {
          param: "status",
        });
      }
      let before: number | undefined;
      // Empty is no cursor (the first page). Otherwise exactly what next_cursor gives: base64url decoding
      // skips what it cannot read, so junk would decode to "" and Number("") is 0, an empty page.
      if (cursor !== undefined && cursor !== "") {
        const seq = Buffer.from(cursor, "base64url").toString();
        if (!/^\d{1,15}$/.test(seq) || Buffer.from(seq).toString("base64url") !== cursor)
          throw new ApiError("invalid_parameter", "cursor is not valid: pass next_cursor as it is", {
            param: "cursor",
          });
        before = Number(seq);
      }
      let q = s.db.kysely.selectFrom("jobs").selectAll().where("tenant_id", "=", req.auth!.tenantId);
      if (status) q = q.where("status", "=", status as JobStatus);
      if (before !== undefined) q = q.where("seq", "<", before);
      const rows = await q
        .orderBy("seq", "desc")
        .limit(limit + 1)
        .execute();
      const page = rows.slice(0, limit);
      const hasMore = rows.length > limit;
      return {
        object: "list",
        data: await Promise.all(page.map((j) => jobView(s, req, j))),
        has_more: hasMore,
        next_cursor: hasMore ? Buffer.from(String(page[page.length - 1]!.seq)).toString("base64url") : null,
      };
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/jobs/:id",
    { schema: doc.cancel, config: { auth: "key", scope: "generate" } },
    async (req, reply) => {
      const done = await s.jobs.cancel(req.auth!.tenantId, req.params.id);
      if (!done) throw new ApiError("not_found", `No job ${req.params.id}`);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/jobs/:id/events",
    { schema: doc.events, config: { auth: "key", scope: "read" } },
    async (req, reply) => streamJob(s, req, reply, await ownJob(s, req)),
  );
}

/**
 * Server-Sent Events of the job object on every change, ending at a terminal status. Changes made in
 * this process arrive at once; a slow poll of the database catches those made by other processes. Only
 * forward moves are sent (status rank, then progress), so the stream is in order whatever the source.
 */
async function streamJob(s: Services, req: FastifyRequest, reply: FastifyReply, first: Job) {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache, no-transform",
    Connection: "keep-alive",
    "X-Accel-Buffering": "no",
  });
  let last: Job | undefined;
  let seq = 0;
  let closed = false;
  let queue = Promise.resolve();

  const send = (job: Job) => {
    if (closed) return;
    const newer =
      !last ||
      RANK[job.status] > RANK[last.status] ||
      (job.status === last.status && job.progress > last.progress);
    if (!newer) return;
    last = job;
    queue = queue
      .then(async () => {
        if (closed) return;
        const view = await jobView(s, req, job);
        res.write(`id: ${++seq}\nevent: job\ndata: ${JSON.stringify(view)}\n\n`);
        if (!OPEN_STATUSES.includes(job.status)) finish();
      })
      .catch((err: unknown) => {
        // This change is lost to the stream, so the stream ends: clients reopen it and get the current state.
        req.log.warn({ err, jobId: first.id }, "could not send a job event; ending the stream");
        finish();
      });
  };
  const unsubscribe = s.jobs.subscribe(first.id, (o: Outcome) => send(o.job));
  const poll = setInterval(
    () =>
      void s.jobs
        .get(first.id)
        .then((j) => j && send(j))
        .catch((err: unknown) =>
          req.log.warn({ err, jobId: first.id }, "could not poll a job for its stream"),
        ),
    SSE_POLL_MS,
  );
  const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), SSE_HEARTBEAT_MS);
  const finish = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    clearInterval(poll);
    clearInterval(heartbeat);
    res.end();
  };
  req.raw.on("close", finish);
  // Re-read after subscribing, so a change between the first read and the subscription is not missed.
  const now = await s.jobs.get(first.id).catch((err: unknown) => {
    req.log.warn({ err, jobId: first.id }, "could not read a job for its stream");
    return undefined;
  });
  send(now ?? first);
}
