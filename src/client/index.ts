// The typed client of the Zekron API. Types come from the API's zod schemas as `import type` only, so that
// importing the client loads none of the server's code (nor zod) at run time.
import { TERMINAL_STATUSES } from "../db/schema.js";
import type {
  BalanceResponse,
  CreateKeyRequest,
  CreateTenantRequest,
  CreateWebhookRequest,
  CreatedTenant,
  CreatedWebhook,
  Credited,
  DefaultSecret,
  DeliveryList,
  EngineList,
  GenerateRequest,
  GenerateResponse,
  GenerationsResponse,
  Job,
  JobAccepted,
  JobList,
  KeyList,
  ModelList,
  NewKey,
  NewTenantKey,
  OpenAIEditForm,
  OpenAIGenerationRequest,
  OpenAIImagesResponse,
  PatchTenantRequest,
  PatchedTenant,
  PreviewRequest,
  PreviewResponse,
  RotateKeyRequest,
  RotatedKey,
  SubmitJobRequest,
  TenantDetail,
  TenantList,
  UsageResponse,
  WebhookList,
  WebhookTestResult,
} from "../http/schemas/index.js";
import { ZekronError } from "./errors.js";
import { parseSse, type SseEvent } from "./sse.js";

export { ZekronError, retryAfterMs, type ZekronErrorCode, type ZekronErrorInit } from "./errors.js";
export { parseSse, type SseEvent } from "./sse.js";
export type {
  CreateKeyRequest,
  CreateTenantRequest,
  CreateWebhookRequest,
  CreatedWebhook,
  EngineStatus,
  GenerateRequest,
  Generation,
  Job,
  JobAccepted,
  JobList,
  KeyView,
  Model,
  OpenAIGenerationRequest,
  OpenAIImagesResponse,
  PatchTenantRequest,
  PreviewRequest,
  RotateKeyRequest,
  SubmitJobRequest,
  Tenant,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookTestResult,
} from "../http/schemas/index.js";

export type JobStatus = Job["status"];
// db/schema.ts holds only types and these constants: nothing of the server is loaded with it.
export { JOB_STATUSES, TERMINAL_STATUSES } from "../db/schema.js";

/** True once a job can change no more. */
export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export interface ClientOptions {
  /** The server, e.g. `http://localhost:8080`. */
  baseUrl: string;
  /** An API key (`zk_live_...`), for every route but /admin/v1. */
  apiKey?: string;
  /** ZEKRON_ADMIN_TOKEN, for the `admin` namespace. */
  adminToken?: string;
  /**
   * Retries after 429 and 503 (honouring Retry-After), and after a connection failure on GET requests.
   * 2 by default; 0 turns retries off.
   */
  maxRetries?: number;
  /** A fetch implementation (the global one by default). */
  fetch?: typeof fetch;
  /** Called before each retry, after the delay is known: for logging or a progress line. */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  method: string;
  url: string;
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  /** What the previous attempt got: a 429/503 answer, or a connection error. */
  error: ZekronError;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** Options of the calls that create work (generate, preview, submitJob, images.*). */
export interface CreateOptions extends RequestOptions {
  /** Same key and same request replay the first result without a second charge (kept 24 h). */
  idempotencyKey?: string;
  /** false: zero data retention (`X-Zekron-Store: 0`), the image is returned inline only and never stored. */
  store?: boolean;
}

/** A job's image is fetched later, so it is always kept: the server refuses `X-Zekron-Store: 0` here. */
export interface SubmitJobOptions extends Omit<CreateOptions, "store"> {
  /** `Prefer: wait=N` (seconds, at most 60): answers the finished job if it finished in time. */
  wait?: number;
}

/** Image bytes (a Buffer is a Uint8Array), or bytes / base64 with the MIME type given. */
export type ImageInput = Uint8Array | { data: Uint8Array | string; mime_type?: string };

export type GenerateParams = Omit<GenerateRequest, "images"> & { images?: ImageInput[] };
export type SubmitJobParams = Omit<SubmitJobRequest, "images"> & { images?: ImageInput[] };
export type PreviewOptions = NonNullable<PreviewRequest["options"]>;

/** A file for the multipart edits route. */
export type UploadInput = Uint8Array | Blob;
export type EditParams = Omit<OpenAIEditForm, "image" | "image[]" | "n"> & {
  /** One image, or two to combine. */
  image: UploadInput | UploadInput[];
  n?: number;
};

export interface GenerationsQuery {
  limit?: number;
  offset?: number;
  status?: JobStatus;
  type?: "create" | "edit";
  model?: string;
}

export interface JobsQuery {
  status?: JobStatus;
  limit?: number;
  cursor?: string;
}

export interface WaitOptions extends RequestOptions {
  /** Gives up after this long, rejecting with a DOMException named "TimeoutError". */
  timeoutMs?: number;
  /** Every state the job goes through, the final one included. */
  onUpdate?: (job: Job) => void;
}

type Auth = "key" | "admin" | "none";
type Query = Record<string, string | number | boolean | null | undefined>;

interface Call extends RequestOptions {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** A path under baseUrl, or an absolute URL. */
  path: string;
  auth: Auth;
  query?: Query;
  json?: unknown;
  form?: FormData;
  accept?: string;
}

const MAX_BACKOFF_MS = 8_000;

export class ZekronClient {
  readonly baseUrl: string;
  readonly maxRetries: number;
  private readonly apiKey?: string;
  private readonly adminToken?: string;
  private readonly fetchImpl: typeof fetch;
  private readonly onRetry?: (info: RetryInfo) => void;

  constructor(options: ClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new TypeError(`baseUrl must be an http(s) URL, not ${JSON.stringify(options.baseUrl)}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new TypeError(`baseUrl must be an http(s) URL, not ${JSON.stringify(options.baseUrl)}`);
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.apiKey = options.apiKey;
    this.adminToken = options.adminToken;
    const retries = options.maxRetries ?? 2;
    if (!Number.isInteger(retries) || retries < 0) throw new TypeError("maxRetries must be an integer >= 0");
    this.maxRetries = retries;
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.onRetry = options.onRetry;
  }

  // ---- Generation -------------------------------------------------------------------------------------

  /** POST /v1/generate: creates an image (or edits 1-2 `images`) and waits for it. */
  generate(params: GenerateParams, options: CreateOptions = {}): Promise<GenerateResponse["data"]> {
    const { images, ...rest } = params;
    const body = images ? { ...rest, images: images.map(sourceImage) } : rest;
    return this.data({ method: "POST", path: "/v1/generate", auth: "key", json: body, ...creating(options) });
  }

  /** POST /api/v1/{model}:image-preview (seed 001's route). */
  preview(
    model: string,
    prompt: string,
    previewOptions: PreviewOptions = {},
    options: Omit<CreateOptions, "store"> = {},
  ): Promise<PreviewResponse["data"]> {
    const body: PreviewRequest = { prompt, options: previewOptions };
    return this.data({
      method: "POST",
      path: `/api/v1/${encodeURIComponent(model)}:image-preview`,
      auth: "key",
      json: body,
      ...creating(options),
    });
  }

  /**
   * GET /v1/images/{token}: the image's bytes. Takes a token, or a URL the API gave (`image.url`,
   * `signed_url`, `result_url`); the key is sent only to this client's own server.
   */
  async getImage(tokenOrUrl: string, options: RequestOptions = {}): Promise<Buffer> {
    const absolute = /^https?:\/\//i.test(tokenOrUrl);
    const path = absolute ? tokenOrUrl : `/v1/images/${encodeURIComponent(tokenOrUrl)}`;
    const own = !absolute || new URL(tokenOrUrl).origin === new URL(this.baseUrl).origin;
    const res = await this.send({
      method: "GET",
      path,
      auth: own ? "key" : "none",
      accept: "image/*",
      ...options,
    });
    return Buffer.from(await this.body(res, () => res.arrayBuffer()));
  }

  // ---- Account ----------------------------------------------------------------------------------------

  /** GET /v1/balance */
  balance(options: RequestOptions = {}): Promise<BalanceResponse["data"]> {
    return this.data({ method: "GET", path: "/v1/balance", auth: "key", ...options });
  }

  /** GET /v1/generations: the history, newest first, `limit` (up to 100) / `offset` pages. */
  generations(
    query: GenerationsQuery = {},
    options: RequestOptions = {},
  ): Promise<GenerationsResponse["data"]> {
    return this.data({
      method: "GET",
      path: "/v1/generations",
      auth: "key",
      query: { ...query },
      ...options,
    });
  }

  /** GET /v1/models: the catalog, with sizes and prices. */
  models(options: RequestOptions = {}): Promise<ModelList["data"]> {
    return this.data({ method: "GET", path: "/v1/models", auth: "key", ...options });
  }

  /** GET /v1/usage: today's and this month's images and spend, allowances and limits. */
  usage(options: RequestOptions = {}): Promise<UsageResponse["data"]> {
    return this.data({ method: "GET", path: "/v1/usage", auth: "key", ...options });
  }

  // ---- Jobs -------------------------------------------------------------------------------------------

  /**
   * POST /v1/images/generate: queues a job and answers at once (202, `JobAccepted`), or with `wait` the
   * finished job when it finished within that many seconds.
   */
  submitJob(params: SubmitJobParams, options: SubmitJobOptions = {}): Promise<JobAccepted | Job> {
    const { images, ...rest } = params;
    const body = images ? { ...rest, images: images.map(sourceImage) } : rest;
    const { wait, ...opts } = options;
    const call = creating(opts);
    if (wait !== undefined && wait > 0)
      call.headers = { ...call.headers, prefer: `wait=${Math.floor(wait)}` };
    return this.json({ method: "POST", path: "/v1/images/generate", auth: "key", json: body, ...call });
  }

  /** GET /v1/jobs/{id} */
  getJob(id: string, options: RequestOptions = {}): Promise<Job> {
    return this.json({ method: "GET", path: `/v1/jobs/${encodeURIComponent(id)}`, auth: "key", ...options });
  }

  /** GET /v1/jobs: one page, newest first; pass `next_cursor` as `cursor` for the next. */
  listJobs(query: JobsQuery = {}, options: RequestOptions = {}): Promise<JobList> {
    return this.json({ method: "GET", path: "/v1/jobs", auth: "key", query: { ...query }, ...options });
  }

  /** Every job matching the filter, newest first, fetching the pages as it goes. */
  async *allJobs(query: Omit<JobsQuery, "cursor"> = {}, options: RequestOptions = {}): AsyncGenerator<Job> {
    let cursor: string | undefined;
    do {
      const page = await this.listJobs({ ...query, cursor }, options);
      yield* page.data;
      cursor = page.has_more && page.next_cursor ? page.next_cursor : undefined;
    } while (cursor);
  }

  /** DELETE /v1/jobs/{id}: cancels a queued or running job (refunded), or purges a finished job's image. */
  cancelJob(id: string, options: RequestOptions = {}): Promise<void> {
    return this.none({
      method: "DELETE",
      path: `/v1/jobs/${encodeURIComponent(id)}`,
      auth: "key",
      ...options,
    });
  }

  /**
   * GET /v1/jobs/{id}/events: the job on every change, as the server streams it, ending after a terminal
   * status. Breaking out of the loop closes the stream. When the connection breaks, the iteration throws
   * a `connection_error`; `waitForJob` reconnects instead.
   */
  async *jobEvents(id: string, options: RequestOptions = {}): AsyncGenerator<Job> {
    const res = await this.send({
      method: "GET",
      path: `/v1/jobs/${encodeURIComponent(id)}/events`,
      auth: "key",
      accept: "text/event-stream",
      ...options,
    });
    if (!res.body) return;
    const events: AsyncGenerator<SseEvent> = parseSse(res.body);
    try {
      for (;;) {
        let next: IteratorResult<SseEvent>;
        try {
          next = await events.next();
        } catch (err) {
          throw abortOr(err, options.signal) ?? connectionError(err, this.baseUrl);
        }
        if (next.done) return;
        if (next.value.event !== "job") continue;
        let job: Job;
        try {
          job = JSON.parse(next.value.data) as Job;
        } catch (err) {
          throw new ZekronError({
            status: res.status,
            code: "invalid_response",
            message: `The event stream sent data that is not JSON: ${next.value.data.slice(0, 100)}`,
            cause: err,
          });
        }
        yield job;
        if (isTerminal(job.status)) return;
      }
    } finally {
      await events.return(undefined);
    }
  }

  /**
   * Follows the job's event stream until it ends, and answers the final job, whatever its status
   * (`completed`, `failed`, `blocked` or `canceled`): check `status`. A stream that breaks off is
   * reopened (the server sends the current state first), up to `maxRetries` times in a row.
   */
  async waitForJob(id: string, options: WaitOptions = {}): Promise<Job> {
    const { timeoutMs, onUpdate, ...rest } = options;
    const { signal, dispose } = linkSignals(rest.signal, timeoutMs);
    let failures = 0;
    try {
      for (;;) {
        let last: Job | undefined;
        try {
          for await (const job of this.jobEvents(id, { ...rest, signal })) {
            last = job;
            failures = 0;
            onUpdate?.(job);
          }
        } catch (err) {
          if (!(err instanceof ZekronError && err.isConnectionError) || failures >= this.maxRetries)
            throw err;
          failures++;
          await sleep(backoff(failures - 1), signal);
          continue;
        }
        if (last && isTerminal(last.status)) return last;
        // The stream ended early (a proxy's timeout, a restart): look, then follow again.
        const now = await this.getJob(id, { ...rest, signal });
        if (isTerminal(now.status)) {
          if (!last || now.status !== last.status) onUpdate?.(now);
          return now;
        }
        if (failures >= this.maxRetries) {
          throw new ZekronError({
            status: 0,
            code: "connection_error",
            message: `The event stream of job ${id} kept ending before the job finished`,
          });
        }
        failures++;
        await sleep(backoff(failures - 1), signal);
      }
    } finally {
      dispose();
    }
  }

  // ---- Namespaces -------------------------------------------------------------------------------------

  /** Webhook endpoints (/v1/webhooks), with a key that has the `webhooks` scope. */
  readonly webhooks = {
    /** POST /v1/webhooks: the answer holds the signing secret, shown once. */
    create: (body: CreateWebhookRequest, options: RequestOptions = {}): Promise<CreatedWebhook> =>
      this.json({ method: "POST", path: "/v1/webhooks", auth: "key", json: body, ...options }),
    /** GET /v1/webhooks */
    list: (options: RequestOptions = {}): Promise<WebhookList["data"]> =>
      this.data({ method: "GET", path: "/v1/webhooks", auth: "key", ...options }),
    /** DELETE /v1/webhooks/{id} */
    delete: (id: string, options: RequestOptions = {}): Promise<void> =>
      this.none({
        method: "DELETE",
        path: `/v1/webhooks/${encodeURIComponent(id)}`,
        auth: "key",
        ...options,
      }),
    /** POST /v1/webhooks/{id}/test: sends a signed test event now and answers how it went. */
    test: (id: string, options: RequestOptions = {}): Promise<WebhookTestResult> =>
      this.json({
        method: "POST",
        path: `/v1/webhooks/${encodeURIComponent(id)}/test`,
        auth: "key",
        ...options,
      }),
    /** GET /v1/webhooks/{id}/deliveries: recent deliveries, newest first. */
    deliveries: (
      id: string,
      query: { limit?: number } = {},
      options: RequestOptions = {},
    ): Promise<DeliveryList["data"]> =>
      this.data({
        method: "GET",
        path: `/v1/webhooks/${encodeURIComponent(id)}/deliveries`,
        auth: "key",
        query: { ...query },
        ...options,
      }),
    /**
     * POST /v1/webhooks/default/secret: a new secret for per-job `webhook_url` deliveries, shown only here
     * (the previous one stops signing).
     */
    rotateDefaultSecret: async (options: RequestOptions = {}): Promise<DefaultSecret["secret"]> =>
      (
        await this.json<DefaultSecret>({
          method: "POST",
          path: "/v1/webhooks/default/secret",
          auth: "key",
          ...options,
        })
      ).secret,
  };

  /** The account's API keys (/v1/keys), with a key that has the `keys` scope. */
  readonly keys = {
    /** GET /v1/keys: newest first, each shown as prefix and last 4 characters. */
    list: async (options: RequestOptions = {}): Promise<KeyList["data"]["keys"]> =>
      (await this.data<KeyList["data"]>({ method: "GET", path: "/v1/keys", auth: "key", ...options })).keys,
    /** POST /v1/keys: `api_key` in the answer is the full key, shown once. */
    create: (body: CreateKeyRequest = {}, options: RequestOptions = {}): Promise<NewKey["data"]> =>
      this.data({ method: "POST", path: "/v1/keys", auth: "key", json: body, ...options }),
    /** DELETE /v1/keys/{id}: revoked at once. */
    revoke: (id: string, options: RequestOptions = {}): Promise<void> =>
      this.none({ method: "DELETE", path: `/v1/keys/${encodeURIComponent(id)}`, auth: "key", ...options }),
    /** POST /v1/keys/rotate: a new key for the calling one, which stops at once or after `grace_seconds`. */
    rotate: (body: RotateKeyRequest = {}, options: RequestOptions = {}): Promise<RotatedKey["data"]> =>
      this.data({ method: "POST", path: "/v1/keys/rotate", auth: "key", json: body, ...options }),
  };

  /** The OpenAI-compatible routes; their errors come in OpenAI's envelope (still a ZekronError here). */
  readonly images = {
    /** POST /v1/images/generations (JSON). */
    generations: (
      body: OpenAIGenerationRequest,
      options: CreateOptions = {},
    ): Promise<OpenAIImagesResponse> =>
      this.json({
        method: "POST",
        path: "/v1/images/generations",
        auth: "key",
        json: body,
        ...creating(options),
      }),
    /** POST /v1/images/edits (multipart): `image` is one image, or two to combine. */
    edits: (params: EditParams, options: CreateOptions = {}): Promise<OpenAIImagesResponse> => {
      const { image, n, ...fields } = params;
      const form = new FormData();
      const files = Array.isArray(image) ? image : [image];
      for (const [i, file] of files.entries()) {
        const blob = toBlob(file);
        const name = `image${i + 1}.${EXTENSIONS[blob.type] ?? "png"}`;
        form.append(files.length === 1 ? "image" : "image[]", blob, name);
      }
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) form.append(k, String(v));
      if (n !== undefined) form.append("n", String(n));
      return this.json({ method: "POST", path: "/v1/images/edits", auth: "key", form, ...creating(options) });
    },
  };

  /** /admin/v1, with the admin token (ZEKRON_ADMIN_TOKEN). */
  readonly admin = {
    tenants: {
      /** POST /admin/v1/tenants: the answer holds the tenant's first API key, shown once. */
      create: (body: CreateTenantRequest, options: RequestOptions = {}): Promise<CreatedTenant["data"]> =>
        this.data({ method: "POST", path: "/admin/v1/tenants", auth: "admin", json: body, ...options }),
      /** GET /admin/v1/tenants */
      list: (
        query: { limit?: number; offset?: number } = {},
        options: RequestOptions = {},
      ): Promise<TenantList["data"]> =>
        this.data({
          method: "GET",
          path: "/admin/v1/tenants",
          auth: "admin",
          query: { ...query },
          ...options,
        }),
      /** GET /admin/v1/tenants/{id}: the tenant and its keys. */
      get: (id: string, options: RequestOptions = {}): Promise<TenantDetail["data"]> =>
        this.data({
          method: "GET",
          path: `/admin/v1/tenants/${encodeURIComponent(id)}`,
          auth: "admin",
          ...options,
        }),
      /** PATCH /admin/v1/tenants/{id}: limits (null = the server default) and suspension. */
      patch: (
        id: string,
        patch: PatchTenantRequest,
        options: RequestOptions = {},
      ): Promise<PatchedTenant["data"]["tenant"]> =>
        this.data<PatchedTenant["data"]>({
          method: "PATCH",
          path: `/admin/v1/tenants/${encodeURIComponent(id)}`,
          auth: "admin",
          json: patch,
          ...options,
        }).then((d) => d.tenant),
      /** POST /admin/v1/tenants/{id}/credits: a top-up ("5.00") or a correction ("-1.25"), ledgered. */
      credit: (
        id: string,
        amount: string | number,
        reason?: string,
        options: RequestOptions = {},
      ): Promise<Credited["data"]> =>
        this.data({
          method: "POST",
          path: `/admin/v1/tenants/${encodeURIComponent(id)}/credits`,
          auth: "admin",
          json: { amount, reason },
          ...options,
        }),
    },
    /** POST /admin/v1/tenants/{id}/keys: another key for the tenant, shown once. */
    createKey: (
      tenantId: string,
      body: { name?: string } = {},
      options: RequestOptions = {},
    ): Promise<NewTenantKey["data"]> =>
      this.data({
        method: "POST",
        path: `/admin/v1/tenants/${encodeURIComponent(tenantId)}/keys`,
        auth: "admin",
        json: body,
        ...options,
      }),
    /** DELETE /admin/v1/tenants/{id}/keys/{keyId}: takes effect at once. */
    revokeKey: (tenantId: string, keyId: string, options: RequestOptions = {}): Promise<void> =>
      this.none({
        method: "DELETE",
        path: `/admin/v1/tenants/${encodeURIComponent(tenantId)}/keys/${encodeURIComponent(keyId)}`,
        auth: "admin",
        ...options,
      }),
    /** GET /admin/v1/engines: health, load and recent errors of every engine; `probe` runs the probes first. */
    engines: (query: { probe?: boolean } = {}, options: RequestOptions = {}): Promise<EngineList["data"]> =>
      this.data({
        method: "GET",
        path: "/admin/v1/engines",
        auth: "admin",
        query: { probe: query.probe ? 1 : undefined },
        ...options,
      }),
  };

  // ---- Transport --------------------------------------------------------------------------------------

  private url(path: string, query?: Query): string {
    const url = new URL(/^https?:\/\//i.test(path) ? path : this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
    }
    return url.toString();
  }

  /**
   * One request, retried on 429 and 503 (waiting for Retry-After, or a short jittered backoff without
   * one) and, for GET only, on a connection failure. Any other non-2xx answer throws a ZekronError.
   * quota_exceeded (429) is not retried: the allowance comes back the next day or month, not in seconds.
   */
  private async send(call: Call): Promise<Response> {
    const url = this.url(call.path, call.query);
    const headers: Record<string, string> = { accept: call.accept ?? "application/json" };
    const token = call.auth === "key" ? this.apiKey : call.auth === "admin" ? this.adminToken : undefined;
    if (token) headers.authorization = `Bearer ${token}`;
    if (call.json !== undefined) headers["content-type"] = "application/json";
    Object.assign(headers, call.headers);
    const body = call.form ?? (call.json === undefined ? undefined : JSON.stringify(call.json));
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchImpl(url, { method: call.method, headers, body, signal: call.signal });
      } catch (err) {
        const error = abortOr(err, call.signal) ?? connectionError(err, this.baseUrl);
        if (error instanceof ZekronError && call.method === "GET" && attempt < this.maxRetries) {
          await this.pause(call, url, attempt, backoff(attempt), error);
          continue;
        }
        throw error;
      }
      if (res.ok) return res;
      const error = await ZekronError.fromResponse(res);
      const retryable = (res.status === 429 || res.status === 503) && error.code !== "quota_exceeded";
      if (!retryable || attempt >= this.maxRetries) throw error;
      await this.pause(call, url, attempt, error.retryAfterMs ?? backoff(attempt), error);
    }
  }

  private async pause(call: Call, url: string, attempt: number, delayMs: number, error: ZekronError) {
    this.onRetry?.({ method: call.method, url, attempt: attempt + 1, delayMs, error });
    await sleep(delayMs, call.signal);
  }

  /** Reads a body, turning a connection that breaks mid-body into a connection_error. */
  private async body<T>(res: Response, read: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await read();
    } catch (err) {
      throw abortOr(err, signal) ?? connectionError(err, this.baseUrl);
    }
  }

  private async json<T>(call: Call): Promise<T> {
    const res = await this.send(call);
    const text = await this.body(res, () => res.text(), call.signal);
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new ZekronError({
        status: res.status,
        code: "invalid_response",
        message: `The server answered ${res.status} with a body that is not JSON: ${text.slice(0, 100)}`,
        requestId: res.headers.get("x-request-id"),
        cause: err,
      });
    }
  }

  /** A route that answers Zekron's `{"success": true, "data": ...}`: its `data`. */
  private async data<T>(call: Call): Promise<T> {
    return (await this.json<{ data: T }>(call)).data;
  }

  private async none(call: Call): Promise<void> {
    const res = await this.send(call);
    await this.body(res, () => res.arrayBuffer(), call.signal);
  }
}

function creating(options: CreateOptions): RequestOptions {
  const { idempotencyKey, store, signal, headers } = options;
  const extra: Record<string, string> = { ...headers };
  if (idempotencyKey !== undefined) extra["idempotency-key"] = idempotencyKey;
  if (store === false) extra["x-zekron-store"] = "0";
  return { signal, headers: extra };
}

const EXTENSIONS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp" };

/** The format from the bytes' signature; the server decides from the bytes anyway, this only labels them. */
export function sniffImageType(bytes: Uint8Array): string | undefined {
  const b = bytes;
  if (b.length >= 4 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (
    b.length >= 12 &&
    String.fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!) === "RIFF" &&
    String.fromCharCode(b[8]!, b[9]!, b[10]!, b[11]!) === "WEBP"
  )
    return "image/webp";
  return undefined;
}

function sourceImage(input: ImageInput): { data: string; mime_type?: string } {
  if (input instanceof Uint8Array) {
    return { data: Buffer.from(input).toString("base64"), mime_type: sniffImageType(input) };
  }
  if (typeof input.data === "string") return { data: input.data, mime_type: input.mime_type };
  return {
    data: Buffer.from(input.data).toString("base64"),
    mime_type: input.mime_type ?? sniffImageType(input.data),
  };
}

function toBlob(file: UploadInput): Blob {
  if (file instanceof Blob) return file;
  // A copy into a fresh ArrayBuffer: a Buffer may be a view into Node's shared pool.
  const bytes = new Uint8Array(file.byteLength);
  bytes.set(file);
  return new Blob([bytes], { type: sniffImageType(bytes) ?? "application/octet-stream" });
}

/** Exponential with jitter: about 0.5 s, 1 s, 2 s ... up to 8 s, each between half and one and a half times. */
function backoff(attempt: number): number {
  return Math.round(Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt) * (0.5 + Math.random()));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const done = () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}

/** The caller's abort (passed through as it is), or undefined for any other failure. */
function abortOr(err: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted) return abortReason(signal);
  if (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError")) return err;
  return undefined;
}

function connectionError(err: unknown, target: string): ZekronError {
  const cause = (err as { cause?: unknown }).cause ?? err;
  const code = (cause as { code?: unknown }).code;
  const detail =
    typeof code === "string" ? code : cause instanceof Error && cause.message ? cause.message : String(cause);
  return new ZekronError({
    status: 0,
    code: "connection_error",
    message: `Cannot reach ${target}: ${detail}`,
    cause: err,
  });
}

/** One signal for the caller's and a timeout's, and a way to drop the timer. */
function linkSignals(signal?: AbortSignal, timeoutMs?: number): { signal?: AbortSignal; dispose(): void } {
  if (timeoutMs === undefined) return { signal, dispose: () => undefined };
  const ctl = new AbortController();
  const timer = setTimeout(
    () => ctl.abort(new DOMException(`Gave up after ${timeoutMs} ms`, "TimeoutError")),
    timeoutMs,
  );
  const onAbort = () => ctl.abort(signal!.reason);
  if (signal?.aborted) ctl.abort(signal.reason);
  else signal?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: ctl.signal,
    dispose() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}
