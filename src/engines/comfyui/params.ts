/** The route parameters a ComfyUI job reads from `req.params`, checked before anything is sent. */
import { EngineError } from "../types.js";
import { checkWorkflow, type Workflow } from "./template.js";
import { DEFAULTS, WORKFLOWS } from "./workflows.js";

export interface ComfyParams {
  /** The template for this request's number of source images. */
  workflow: Workflow;
  /** Where the template came from, for messages. */
  workflowParam: string;
  checkpoint: string;
  steps: number;
  cfg: number;
  sampler: string;
  scheduler: string;
  denoise: number;
}

const TEMPLATE_PARAM = ["workflow", "edit_workflow", "edit2_workflow"] as const;
const DEFAULT_TEMPLATE = ["txt2img", "img2img", "img2img-2"] as const;

function template(value: unknown, param: string, fallback: string, what: string): Workflow {
  const v = value ?? fallback;
  if (typeof v === "string") {
    const builtIn = Object.hasOwn(WORKFLOWS, v) ? WORKFLOWS[v] : undefined;
    if (!builtIn) {
      throw new EngineError(
        `${what}: ${param} ${JSON.stringify(v)} is not a built-in workflow (${Object.keys(WORKFLOWS).join(", ")})`,
      );
    }
    return builtIn;
  }
  return checkWorkflow(v, what, param);
}

function text(params: Record<string, unknown>, key: string, fallback: string, what: string): string {
  const v = params[key] ?? fallback;
  if (typeof v !== "string" || v.trim() === "" || v.length > 512) {
    throw new EngineError(`${what}: ${key} must be a non-empty string of at most 512 characters`);
  }
  return v;
}

function num(
  params: Record<string, unknown>,
  key: string,
  fallback: number,
  min: number,
  max: number,
  integer: boolean,
  what: string,
): number {
  const v = params[key] ?? fallback;
  if (
    typeof v !== "number" ||
    !Number.isFinite(v) ||
    v < min ||
    v > max ||
    (integer && !Number.isInteger(v))
  ) {
    throw new EngineError(
      `${what}: ${key} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}`,
    );
  }
  return v;
}

export function readParams(
  raw: Record<string, unknown> | undefined,
  sourceImages: number,
  what: string,
): ComfyParams {
  const params = raw ?? {};
  const index = Math.min(sourceImages, 2) as 0 | 1 | 2;
  const param = TEMPLATE_PARAM[index];
  // The templates this request does not use are checked too: a bad route setting should fail on its first
  // job, not only on the first edit.
  TEMPLATE_PARAM.forEach((p, i) => {
    if (i !== index && params[p] !== undefined) template(params[p], p, DEFAULT_TEMPLATE[i] as string, what);
  });
  return {
    workflow: template(params[param], param, DEFAULT_TEMPLATE[index], what),
    workflowParam: param,
    checkpoint: text(params, "checkpoint", DEFAULTS.checkpoint, what),
    steps: num(params, "steps", DEFAULTS.steps, 1, 10_000, true, what),
    cfg: num(params, "cfg", DEFAULTS.cfg, 0, 100, false, what),
    sampler: text(params, "sampler", DEFAULTS.sampler, what),
    scheduler: text(params, "scheduler", DEFAULTS.scheduler, what),
    denoise: num(params, "denoise", sourceImages ? DEFAULTS.denoise : 1, 0, 1, false, what),
  };
}
