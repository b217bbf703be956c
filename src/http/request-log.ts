import type { FastifyBaseLogger } from "fastify";
import type { Bindings, ChildLoggerOptions, LogFn } from "pino";

type Level = "info" | "error" | "debug" | "fatal" | "warn" | "trace";

/** A method that writes through the request's real logger, made when first needed. */
function through(level: Level): LogFn {
  return function (this: RequestLogger, ...args: unknown[]) {
    (this.real[level] as (...a: unknown[]) => void)(...args);
  } as LogFn;
}

/**
 * Each request's logger (Fastify's `req.log`), carrying its request id, made from the server's pino logger
 * only when the request first logs. Fastify makes one child logger per request, and a pino child costs
 * its bindings' serialization and redaction at once, whether the request writes a line or not (most
 * write none below the info level).
 */
export class RequestLogger implements FastifyBaseLogger {
  private made?: FastifyBaseLogger;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get real(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string {
    return (this.made ?? this.parent).level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }

  declare info: LogFn;
  declare error: LogFn;
  declare debug: LogFn;
  declare fatal: LogFn;
  declare warn: LogFn;
  declare trace: LogFn;
  declare silent: LogFn;
}

for (const level of ["info", "error", "debug", "fatal", "warn", "trace"] as const) {
  RequestLogger.prototype[level] = through(level);
}
RequestLogger.prototype.silent = () => undefined;
