export type ModelStatus = "ga" | "preview" | "beta";

/** One way to serve a model: an engine instance of the configuration, and what to tell it. */
export interface ModelRoute {
  /** The engine instance's id. */
  engine: string;
  /** Lower is tried first; routes of equal priority share the load by weight. */
  priority: number;
  weight: number;
  /** Per-attempt timeout on this route; the instance's own when absent. */
  timeoutMs?: number;
  /** Engine parameters: workflow template, checkpoint, steps, sampler, upstream model name... */
  params: Record<string, unknown>;
}

export interface ModelInfo {
  id: string;
  aliases: string[];
  name: string;
  status: ModelStatus;
  maxSize: number;
  supportsEdit: boolean;
  /** Price range per image, micro-dollars. */
  priceMin: number;
  priceMax: number;
  created: number;
  /** Allowed sizes ("WxH"); the default list capped by maxSize when absent. */
  sizes?: string[];
  routes: ModelRoute[];
}

export const ALL_SIZES = [
  "256x256",
  "512x512",
  "768x768",
  "1024x1024",
  "1024x768",
  "768x1024",
  "1536x1024",
  "1024x1536",
  "2048x2048",
] as const;
export const DEFAULT_SIZE = "1024x1024";
export const DEFAULT_MODEL = "zekron-image-1";

const CREATED = 1767225600; // 2026-01-01

const LOCAL_ROUTE: ModelRoute[] = [{ engine: "local", priority: 1, weight: 1, params: {} }];

/** The default catalog of API.md; every model is served by the built-in `local` engine. */
export const DEFAULT_MODELS: ModelInfo[] = [
  {
    id: "zekron-image-1",
    aliases: ["zekron-image-1:image-preview"],
    name: "Zekron Image v0.1.1",
    status: "ga",
    maxSize: 2048,
    supportsEdit: true,
    priceMin: 25_000,
    priceMax: 29_000,
    created: CREATED,
    routes: LOCAL_ROUTE,
  },
  {
    id: "zekron-xl",
    aliases: [],
    name: "Zekron XL",
    status: "preview",
    maxSize: 1024,
    supportsEdit: true,
    priceMin: 20_000,
    priceMax: 25_000,
    created: CREATED,
    routes: LOCAL_ROUTE,
  },
  {
    id: "zekron-flash",
    aliases: [],
    name: "Zekron Flash",
    status: "beta",
    maxSize: 1024,
    supportsEdit: true,
    priceMin: 15_000,
    priceMax: 20_000,
    created: CREATED,
    routes: LOCAL_ROUTE,
  },
  {
    id: "zekron-art",
    aliases: [],
    name: "Zekron Art",
    status: "preview",
    maxSize: 1024,
    supportsEdit: true,
    priceMin: 20_000,
    priceMax: 25_000,
    created: CREATED,
    routes: LOCAL_ROUTE,
  },
];

export class Catalog {
  private readonly byName = new Map<string, ModelInfo>();

  constructor(readonly models: ModelInfo[] = DEFAULT_MODELS) {
    for (const m of models) {
      this.byName.set(m.id, m);
      for (const a of m.aliases) this.byName.set(a, m);
    }
  }

  find(name: string): ModelInfo | undefined {
    return this.byName.get(name);
  }

  sizes(model: ModelInfo): string[] {
    if (model.sizes) return model.sizes;
    return ALL_SIZES.filter((s) => {
      const [w, h] = s.split("x").map(Number) as [number, number];
      return w <= model.maxSize && h <= model.maxSize;
    });
  }
}

const MIN_PIXELS = 256 * 256;
const PROMPT_CHARS_AT_MAX = 1000;

/**
 * Price of one image, micro-dollars, rounded to 0.0001. Deterministic and inside the model's range:
 *   price = min + (max - min) * (0.6 * pixels + 0.3 * prompt + 0.1 * edit)
 * where `pixels` is (w*h - 256^2) / (maxSize^2 - 256^2), `prompt` is min(1, length / 1000) and `edit` is 1
 * for an edit, each in [0, 1].
 */
export function priceOf(
  model: ModelInfo,
  req: { width: number; height: number; prompt: string; edit: boolean },
) {
  const maxPixels = model.maxSize * model.maxSize;
  const pixels = clamp01((req.width * req.height - MIN_PIXELS) / Math.max(1, maxPixels - MIN_PIXELS));
  const prompt = clamp01(req.prompt.length / PROMPT_CHARS_AT_MAX);
  const f = 0.6 * pixels + 0.3 * prompt + 0.1 * (req.edit ? 1 : 0);
  const raw = model.priceMin + (model.priceMax - model.priceMin) * f;
  return Math.min(model.priceMax, Math.max(model.priceMin, Math.round(raw / 100) * 100));
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
