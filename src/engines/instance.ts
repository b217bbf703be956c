import type { Logger } from "pino";
import type { Engine } from "./types.js";

/** One engine instance of the configuration file (a backend server), after validation. */
export interface EngineInstanceConfig {
  /** The name routes refer to, e.g. `gpu-1`. */
  id: string;
  kind: string;
  /** Base URL of the backend (`http://gpu-1:8188`); absent for `local`. */
  url?: string;
  /** Jobs this instance runs at once; the router never sends more. */
  concurrency: number;
  /** Per-attempt timeout, unless a route sets its own. */
  timeoutMs: number;
  /** HTTP Basic auth (A1111 `--api-auth`). */
  username?: string;
  password?: string;
  /** Bearer key (OpenAI-compatible upstreams). */
  apiKey?: string;
  /** Extra headers sent with every request to the backend. */
  headers: Record<string, string>;
  /**
   * OpenAI-compatible upstreams only: lets `url` results be fetched from private addresses (an upstream on
   * the operator's own network that links to itself). Off by default: such links are refused as SSRF.
   */
  allowPrivateResultUrls?: boolean;
}

/** What every engine gets besides its own configuration. */
export interface EngineDeps {
  /** The pixel limit applied to images a backend answers, as to client uploads. */
  maxPixels: number;
  /** The cap on one answer body from the backend. */
  maxResponseBytes: number;
  log: Logger;
}

export type EngineFactory = (cfg: EngineInstanceConfig, deps: EngineDeps) => Engine;
