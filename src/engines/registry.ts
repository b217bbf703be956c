/**
 * Every engine kind, by the name the configuration file uses. Adding a backend technology is one module
 * and one line here.
 */
import type { EngineDeps, EngineFactory, EngineInstanceConfig } from "./instance.js";
import type { Engine } from "./types.js";
import { LocalEngine } from "./local/index.js";
import { ComfyUiEngine } from "./comfyui/index.js";
import { A1111Engine } from "./a1111/index.js";
import { OpenAIEngine } from "./openai/index.js";

const FACTORIES: Record<string, EngineFactory> = {
  local: () => new LocalEngine(),
  comfyui: (cfg, deps) => new ComfyUiEngine(cfg, deps),
  a1111: (cfg, deps) => new A1111Engine(cfg, deps),
  openai: (cfg, deps) =>
    new OpenAIEngine(cfg, deps, { allowPrivateResultUrls: cfg.allowPrivateResultUrls === true }),
};

export function createEngine(cfg: EngineInstanceConfig, deps: EngineDeps): Engine {
  const factory = FACTORIES[cfg.kind];
  if (!factory) throw new Error(`unknown engine kind ${cfg.kind}`);
  return factory(cfg, deps);
}
