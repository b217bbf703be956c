import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import FindMyWay, { type HTTPMethod } from "find-my-way";
import { randomBytes } from "node:crypto";
import secureJsonParse from "secure-json-parse";
import type { Services } from "../services.js";
import { ApiError, errorBody, errorReference, loggable, openaiErrorBody, type ErrorCode } from "../errors.js";
import type { KeyScope } from "../domain/apikeys.js";
import { presentedKey, requireScope, type AuthContext } from "./auth.js";
import { andThen, isPending, settle, type MaybePromise } from "../maybe.js";
import { registerOpenApi } from "./openapi.js";
import { RequestLogger } from "./request-log.js";
import { whenClosed } from "./closed.js";
import { registerRoutes } from "./routes/index.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** `key`: an API key; `admin`: the admin token; `image`: a key or a signed query; none: open. */
    auth?: "key" | "admin" | "image";
    scope?: KeyScope;
    /** Counts against the key's concurrent generations. */
    generation?: boolean;
    /** `openai`: errors go out in OpenAI's envelope (the OpenAI-compatible routes); ours otherwise. */
    errorShape?: "openai";
    /**
     * For a route whose pattern matches more paths than it serves (`/api/v1/:action` serves only
     * `{model}:image-preview`): the others are paths with no route, 404 (or 405 if another method has
     * them), before any key is asked for, and no method is offered for them in a 405's Allow.
     */
    serves?: (path: string) => boolean;
  }
  interface FastifyRequest {
    auth?: AuthContext;
  }
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const RATE_WINDOW_MS = 60_000;
// Request ids: a random per-process prefix and a counter, unique without a random draw per request.
const REQ_PREFIX = randomBytes(4).toString("hex");
let reqCounter = 0;
// Far deeper than any request of this API needs; code that recurses over a body (JSON.stringify, for an
// Idempotency-Key's hash) would overflow the stack on the hundreds of thousands of levels JSON.parse reads.
const MAX_JSON_DEPTH = 64;

/** Walked level by level, without recursion: a body too deep to recurse over is what it looks for. */
function nestedDeeperThan(value: unknown, max: number): boolean {
  let level = value !== null && typeof value === "object" ? [value] : [];
  for (let depth = 1; level.length > 0; depth++) {
    if (depth > max) return true;
    const next: object[] = [];
    for (const node of level) {
      for (const child of Object.values(node))
        if (child !== null && typeof child === "object") next.push(child);
    }
    level = next;
  }
  return false;
}

export function buildApp(s: Services): FastifyInstance {
  const app = Fastify({
    loggerInstance: s.log as FastifyBaseLogger,
    // One line per request, written by the onResponse hook below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: s.config.bodyLimitBytes,
    trustProxy: false,
    return503OnClosing: true,
    childLoggerFactory: (parent, bindings, options) => new RequestLogger(parent, bindings, options),
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given)
        ? given
        : `req_${REQ_PREFIX}${(++reqCounter).toString(36)}`;
    },
    // A path the router cannot read (a bad %-escape, a parameter over its length): our envelope, not
    // Fastify's own.
    frameworkErrors: (err, req, reply) => {
      reply.header("X-Request-Id", req.id);
      return sendError(s, req, reply, toApiError(err, req));
    },
  });

  // A shadow router answers "is there a route for this path under another method?" for 405s. A path that is
  // exactly a static route's belongs to that route alone: GET /v1/images/generations is a wrong method on
  // the OpenAI route, not an image token, though GET /v1/images/:token would take it.
  const routes = FindMyWay();
  const staticRoutes = new Map<string, Set<string>>();
  /** Route patterns with a parameter or a wildcard, which a static route's path may have reached. */
  const parametric = new Set<string>();
  app.addHook("onRoute", (r) => {
    const isStatic = !/[:*]/.test(r.url);
    if (!isStatic) parametric.add(r.url);
    for (const m of [r.method].flat()) {
      routes.on(m as HTTPMethod, r.url, () => undefined, { serves: r.config?.serves });
      if (isStatic) staticRoutes.set(r.url, (staticRoutes.get(r.url) ?? new Set()).add(m));
    }
  });
  /** Whether a route of the method serves the path (not only matches its pattern). */
  const routed = (method: HTTPMethod, path: string): boolean => {
    const found = routes.find(method, path);
    const serves = (found?.store as { serves?: (path: string) => boolean } | undefined)?.serves;
    return found !== null && (serves === undefined || serves(path));
  };
  const allowedOn = (path: string): string[] => {
    const exact = staticRoutes.get(path);
    return METHODS.filter((m) => (exact ? exact.has(m) : routed(m, path)));
  };
  const methodNotAllowed = (
    req: FastifyRequest,
    reply: FastifyReply,
    path: string,
    allowed = allowedOn(path),
  ) => {
    reply.header("Allow", allowed.join(", "));
    return new ApiError(
      "method_not_allowed",
      `${req.method} is not allowed on ${path}; use ${allowed.join(", ")}`,
    );
  };

  // curl -d sends form encoding by default; every body here is JSON, whatever its label says: one parser for
  // all labels (Fastify's own would take application/json and text/plain), refusing __proto__ and
  // constructor.prototype keys as Fastify's JSON parser does.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) => {
    let value: unknown;
    try {
      value = (body as string).length === 0 ? undefined : secureJsonParse(body as string);
    } catch {
      return done(new ApiError("invalid_json", "The request body is not valid JSON"), undefined);
    }
    if (nestedDeeperThan(value, MAX_JSON_DEPTH)) {
      return done(
        new ApiError("invalid_json", `The request body is nested more than ${MAX_JSON_DEPTH} levels deep`),
        undefined,
      );
    }
    done(null, value);
  });

  // Authentication and limits, in the same turn of the event loop when every step can answer at once (a
  // key looked up in the last second, the in-memory limiter): see MaybePromise.
  app.addHook("onRequest", (req, reply, done) => settle(() => admit(req, reply), done));
  const admit = (req: FastifyRequest, reply: FastifyReply): MaybePromise<void> => {
    reply.header("X-Request-Id", req.id);
    const route = req.routeOptions;
    if (route.url !== undefined && parametric.has(route.url)) {
      const path = pathOf(req);
      if (staticRoutes.get(path)?.has(req.method) === false)
        return refuse(req, reply, methodNotAllowed(req, reply, path));
    }
    const cfg = route.config;
    if (cfg.serves && !cfg.serves(pathOf(req))) return refuse(req, reply, noRoute(req, reply, pathOf(req)));
    if (cfg.auth === "admin") return s.admin.check(presentedKey(req));
    if (
      cfg.auth === "image" &&
      !presentedKey(req) &&
      typeof (req.query as Record<string, unknown>).signature === "string"
    ) {
      return; // a signed link: checked by the route
    }
    if (cfg.auth !== "key" && cfg.auth !== "image") return countIfKeyed(req, reply);
    return andThen(s.keys.authenticate(presentedKey(req)), (auth) =>
      andThen(countRequest(req, reply, auth), () => {
        if (cfg.scope) requireScope(auth, cfg.scope);
        if (cfg.generation) return holdGenerationSlot(reply, auth);
      }),
    );
  };
  /**
   * A request to a route that needs no key (health, docs, and the answer to a path with no route or a
   * wrong method, a 404 or 405) made with a valid one is still that key's: counted, and answered with its
   * limits. A key that is not valid changes nothing here; the answer stays the route's own.
   */
  const countIfKeyed = (req: FastifyRequest, reply: FastifyReply): MaybePromise<void> => {
    const key = presentedKey(req);
    if (key === undefined) return;
    // authenticate answers a known key at once and fails only by rejecting (see KeyAuthenticator).
    const auth = s.keys.authenticate(key);
    if (!isPending(auth)) return countRequest(req, reply, auth);
    return auth.then(
      (known) => countRequest(req, reply, known),
      () => undefined,
    );
  };
  /** A request refused before its route (no such path, a wrong method): counted for its key all the same. */
  const refuse = (req: FastifyRequest, reply: FastifyReply, err: ApiError): MaybePromise<void> =>
    andThen(countIfKeyed(req, reply), () => {
      throw err;
    });
  /** The key's request counted against its rate limit, whose state every answer to it carries. */
  const countRequest = (req: FastifyRequest, reply: FastifyReply, auth: AuthContext): MaybePromise<void> => {
    req.auth = auth;
    const limit = auth.tenant.rate_limit_per_minute ?? s.config.rateLimitPerMinute;
    const now = s.clock.now();
    return andThen(s.limiter.hit(`rate:${auth.keyId}`, limit, RATE_WINDOW_MS, now), (rate) => {
      reply.header("X-RateLimit-Limit", rate.limit);
      reply.header("X-RateLimit-Remaining", rate.remaining);
      reply.header("X-RateLimit-Reset", Math.ceil(rate.resetAt / 1000));
      if (!rate.allowed) {
        const wait = String(Math.max(1, Math.ceil((rate.resetAt - s.clock.now()) / 1000)));
        throw new ApiError(
          "rate_limit_exceeded",
          `Rate limit of ${rate.limit} requests per minute exceeded`,
          {
            headers: { "Retry-After": wait },
          },
        );
      }
    });
  };
  const holdGenerationSlot = (reply: FastifyReply, auth: AuthContext): MaybePromise<void> => {
    const max = auth.tenant.max_concurrent ?? s.config.maxConcurrent;
    return andThen(s.limiter.acquire(`conc:${auth.keyId}`, max), (lease) => {
      if (!lease) {
        throw new ApiError(
          "concurrency_limit_exceeded",
          `At most ${max} generations may run at once for this key`,
          {
            headers: { "Retry-After": "1" },
          },
        );
      }
      // Given back when the response is done, or when the client goes away first: its request is no
      // longer in flight, though its job runs on and lands in history. (Fastify's onRequestAbort fires
      // only for a hang-up before the body is read, not during the wait for a sync generation.)
      whenClosed(reply, () => lease.release());
    });
  };

  app.addHook("onResponse", (req, reply, done) => {
    if (s.log.isLevelEnabled("info")) {
      req.log.info(
        {
          method: req.method,
          url: loggedUrl(req),
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          tenant: req.auth?.tenantId,
        },
        "request",
      );
    }
    done();
  });

  /** The error for a path no route of the request's method serves: 405 when another method's does. */
  const noRoute = (req: FastifyRequest, reply: FastifyReply, path: string): ApiError => {
    // Under its own method the path has a route that found nothing (a missing file under /docs/static/*).
    const allowed = routed(req.method as HTTPMethod, path) ? [] : allowedOn(path);
    if (allowed.length > 0) return methodNotAllowed(req, reply, path, allowed);
    return new ApiError("not_found", `No route ${req.method} ${path}`);
  };
  const notFound = (req: FastifyRequest, reply: FastifyReply) =>
    sendError(s, req, reply, noRoute(req, reply, pathOf(req)));

  // A request without a route still has its body parsed before the not-found handler runs: whatever went
  // wrong with that body, the answer is that the route does not exist. All but the key's rate limit,
  // which applies to every request the key makes (see countIfKeyed).
  app.setErrorHandler((err: FastifyError | ApiError, req, reply) =>
    req.is404 && !(err instanceof ApiError && err.code === "rate_limit_exceeded")
      ? notFound(req, reply)
      : sendError(s, req, reply, toApiError(err, req)),
  );

  app.setNotFoundHandler(notFound);

  registerOpenApi(app, s);
  registerRoutes(app, s);
  return app;
}

// Any case: `Signature` is not read as the signature, but what it carries may well be one. And a key is
// never read from the query (401), but a client that puts one there (`?api_key=`) must not see it logged.
const SECRET_PARAM = /signature|key|token|secret/i;

/**
 * The request's URL without a signed link's signature or anything else secret-looking, for the log.
 * Rebuilt from the parsed query, so that every spelling the query parser reads as such a name
 * (%73ignature, the name repeated) is covered, not only those a pattern over the raw URL would match.
 */
function loggedUrl(req: FastifyRequest): string {
  const at = req.url.indexOf("?");
  const query = req.query as Record<string, unknown> | null;
  if (at < 0 || !query || !Object.keys(query).some((k) => SECRET_PARAM.test(k)))
    return loggable(req.url, 2048);
  const pairs: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    for (const one of [v].flat()) {
      pairs.push(
        `${encodeURIComponent(k)}=${SECRET_PARAM.test(k) ? "[redacted]" : encodeURIComponent(String(one))}`,
      );
    }
  }
  return loggable(`${req.url.slice(0, at)}?${pairs.join("&")}`, 2048);
}

const FRAMEWORK_CODES: Partial<Record<number, ErrorCode>> = {
  401: "unauthorized",
  403: "access_denied",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  // A path parameter longer than any id.
  414: "not_found",
  415: "invalid_json",
};

/** The request's path, without its query. */
function pathOf(req: FastifyRequest): string {
  const q = req.url.indexOf("?");
  return q < 0 ? req.url : req.url.slice(0, q);
}

function toApiError(err: FastifyError | ApiError, req: FastifyRequest): ApiError {
  if (err instanceof ApiError) return err;
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError("payload_too_large", "The request body is over the size limit");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ApiError("invalid_json", "Send the body as application/json");
  }
  if (err instanceof SyntaxError) return new ApiError("invalid_json", "The request body is not valid JSON");
  if (err.validation) return new ApiError("invalid_parameter", err.message);
  // Fastify's and its plugins' own refusals of a request (a bad URL, a path out of the static root) say
  // what was wrong with it; only theirs, not an engine's or a driver's error that happens to carry a status.
  const status = err.statusCode;
  if (err.code?.startsWith("FST_") && status !== undefined && status >= 400 && status < 500) {
    return new ApiError(FRAMEWORK_CODES[status] ?? "invalid_parameter", err.message);
  }
  req.log.error({ err }, "unhandled error");
  return new ApiError("internal_error", "An internal error occurred");
}

export function sendError(s: Services, req: FastifyRequest, reply: FastifyReply, err: ApiError) {
  const reference = errorReference(err.code, s.clock.now());
  const level = err.status >= 500 ? "error" : "info";
  req.log[level]({ code: err.code, reference, status: err.status }, loggable(err.message));
  for (const [k, v] of Object.entries(err.extra.headers ?? {})) reply.header(k, v);
  const body =
    req.routeOptions.config.errorShape === "openai" ? openaiErrorBody(err) : errorBody(err, reference);
  return reply.code(err.status).send(body);
}
