/** The engine parameters an a1111 route may carry in `params`, checked before anything is sent. */
import { EngineError } from "../types.js";

export interface A1111Params {
  checkpoint?: string;
  steps: number;
  cfgScale: number;
  sampler: string;
  scheduler?: string;
  denoisingStrength: number;
}

const DEFAULTS = { steps: 20, cfgScale: 7, sampler: "Euler a", denoisingStrength: 0.75 } as const;

const MAX_STEPS = 500;
const MAX_CFG = 30;

export function readParams(params: Record<string, unknown> | undefined, what: string): A1111Params {
  const p = params ?? {};
  const bad = (key: string, expected: string) =>
    new EngineError(`${what}: parameter ${key} must be ${expected} (got ${describe(p[key])})`);

  const text = (key: string): string | undefined => {
    const v = p[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string" || v.trim() === "") throw bad(key, "a non-empty string");
    return v;
  };
  const num = (key: string, min: number, max: number, integer: boolean): number | undefined => {
    const v = p[key];
    if (v === undefined || v === null) return undefined;
    const kind = integer ? "an integer" : "a number";
    if (
      typeof v !== "number" ||
      !Number.isFinite(v) ||
      (integer && !Number.isInteger(v)) ||
      v < min ||
      v > max
    )
      throw bad(key, `${kind} from ${min} to ${max}`);
    return v;
  };

  return {
    checkpoint: text("checkpoint"),
    steps: num("steps", 1, MAX_STEPS, true) ?? DEFAULTS.steps,
    cfgScale: num("cfg_scale", 0, MAX_CFG, false) ?? DEFAULTS.cfgScale,
    sampler: text("sampler") ?? DEFAULTS.sampler,
    scheduler: text("scheduler"),
    denoisingStrength: num("denoising_strength", 0, 1, false) ?? DEFAULTS.denoisingStrength,
  };
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return Array.isArray(v) ? "an array" : typeof v;
}
