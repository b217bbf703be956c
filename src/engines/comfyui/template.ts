/**
 * ComfyUI API-format workflows with placeholders. A string value that is exactly `{{name}}` becomes the typed
 * value (a seed stays a number, which ComfyUI's validation requires); `{{name}}` inside a longer string is
 * interpolated as text. Substitution is one pass over the template, so a prompt that itself contains
 * `{{seed}}` is inserted literally and never expanded.
 */
import { EngineError } from "../types.js";

export const PLACEHOLDERS = [
  "prompt",
  "negative_prompt",
  "seed",
  "width",
  "height",
  "image",
  "image2",
  "checkpoint",
  "steps",
  "cfg",
  "sampler",
  "scheduler",
  "denoise",
] as const;

export type Placeholder = (typeof PLACEHOLDERS)[number];
export type PlaceholderValues = Partial<Record<Placeholder, string | number>>;

export interface WorkflowNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

/** An API-format graph: node id -> node. Links between nodes are `[node id, output index]`. */
export type Workflow = Record<string, WorkflowNode>;

const EXACT = /^\{\{\s*([A-Za-z0-9_]+)\s*\}\}$/;
const ANY = /\{\{\s*([A-Za-z0-9_]*)\s*\}\}/g;
// A parsed JSON body can nest arbitrarily; a bound keeps the recursive walks off the stack limit.
const MAX_DEPTH = 64;

function isPlaceholder(name: string): name is Placeholder {
  return (PLACEHOLDERS as readonly string[]).includes(name);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks that `value` is an API-format workflow ("Save (API Format)" in ComfyUI), not the UI format. */
export function checkWorkflow(value: unknown, what: string, param: string): Workflow {
  if (!isRecord(value))
    throw new EngineError(`${what}: ${param} must be a workflow name or an API-format object`);
  if (Array.isArray(value.nodes) && "links" in value) {
    throw new EngineError(
      `${what}: ${param} is a UI-format workflow; export it from ComfyUI with "Save (API Format)"`,
    );
  }
  const ids = Object.keys(value);
  if (ids.length === 0) throw new EngineError(`${what}: ${param} has no nodes`);
  for (const id of ids) {
    const node = value[id];
    if (
      !isRecord(node) ||
      typeof node.class_type !== "string" ||
      !node.class_type ||
      !isRecord(node.inputs)
    ) {
      throw new EngineError(
        `${what}: ${param}: node ${JSON.stringify(id)} is not an API-format node ({"class_type", "inputs"})`,
      );
    }
  }
  return value as unknown as Workflow;
}

/** Every placeholder name the template uses, known or not. */
export function placeholdersIn(template: unknown, what = "workflow"): Set<string> {
  const found = new Set<string>();
  const walk = (v: unknown, depth: number): void => {
    if (depth > MAX_DEPTH) throw new EngineError(`${what}: the workflow is nested too deeply`);
    if (typeof v === "string") {
      for (const m of v.matchAll(ANY)) found.add(m[1] ?? "");
    } else if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1);
    } else if (isRecord(v)) {
      for (const x of Object.values(v)) walk(x, depth + 1);
    }
  };
  walk(template, 0);
  return found;
}

/** Fails on a placeholder that is not known or has no value, naming it. */
export function checkPlaceholders(used: Set<string>, values: PlaceholderValues, what: string): void {
  for (const name of used) {
    if (!isPlaceholder(name)) {
      throw new EngineError(
        `${what}: the workflow uses an unknown placeholder {{${name}}} (known: ${PLACEHOLDERS.join(", ")})`,
      );
    }
    if (values[name] === undefined) {
      throw new EngineError(
        name === "image" || name === "image2"
          ? `${what}: the workflow needs a source image for {{${name}}}, but the request has ${name === "image" ? "none" : "only one"}`
          : `${what}: the workflow uses {{${name}}}, which has no value`,
      );
    }
  }
}

/** A deep copy of the template with every placeholder replaced. */
export function fillTemplate<T>(template: T, values: PlaceholderValues, what = "workflow"): T {
  checkPlaceholders(placeholdersIn(template, what), values, what);
  const value = (name: string): string | number => values[name as Placeholder] as string | number;
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") {
      const exact = EXACT.exec(v);
      if (exact) return value(exact[1] as string);
      return v.replace(ANY, (_, name: string) => String(value(name)));
    }
    if (Array.isArray(v)) return v.map(walk);
    if (isRecord(v)) {
      const out: Record<string, unknown> = {};
      // defineProperty, not assignment: a "__proto__" key from JSON.parse must stay a plain key.
      for (const [k, x] of Object.entries(v))
        Object.defineProperty(out, k, {
          value: walk(x),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return out;
    }
    return v;
  };
  return walk(template) as T;
}
