import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { ConfigError, loadConfig } from "../../src/config.js";
import { tempDir } from "../helpers/db.js";

function write(name: string, text: string): string {
  const dir = tempDir("zekron-config-");
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function configError(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.lines;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

const YAML = `
engines:
  gpu-1:
    kind: comfyui
    url: http://10.0.0.5:8188/
    concurrency: 2
    timeout_seconds: 120
  forge:
    kind: a1111
    url: http://10.0.0.6:7860
    username: zekron
    password: \${FORGE_PASSWORD}
  upstream:
    kind: openai
    url: https://api.openai.com/v1
    api_key: \${OPENAI_KEY}
models:
  - id: sdxl
    name: SDXL
    status: beta
    max_size: 1024
    sizes: [512x512, 1024x1024]
    price: { min: "0.0100", max: 0.02 }
    routes:
      - engine: gpu-1
        priority: 1
        weight: 3
        params: { checkpoint: sdxl.safetensors, steps: 25, workflow_file: ./flow.json }
      - engine: forge
        weight: 1
      - engine: upstream
        priority: 2
        timeout_seconds: 60
        params: { model: gpt-image-1 }
openai_models:
  dall-e-3: sdxl
`;

describe("the engines and models file (ZEKRON_CONFIG)", () => {
  it("reads engines, models, routes, prices, secrets from the environment and workflow files", () => {
    const file = write("zekron.yaml", YAML);
    writeFileSync(
      path.join(path.dirname(file), "flow.json"),
      JSON.stringify({ "3": { class_type: "KSampler" } }),
    );
    const config = loadConfig({ ZEKRON_CONFIG: file, FORGE_PASSWORD: "s3cret", OPENAI_KEY: "sk-test" });
    const { engines, models, openaiModels } = config.engineSetup;
    expect(engines.map((e) => [e.id, e.kind, e.url, e.concurrency, e.timeoutMs])).toEqual([
      ["gpu-1", "comfyui", "http://10.0.0.5:8188", 2, 120_000],
      ["forge", "a1111", "http://10.0.0.6:7860", 1, 300_000],
      ["upstream", "openai", "https://api.openai.com/v1", 4, 300_000],
    ]);
    expect(engines[1]).toMatchObject({ username: "zekron", password: "s3cret" });
    expect(engines[2]!.apiKey).toBe("sk-test");
    // Without a local engine and with models of its own, the file serves only what it says.
    expect(engines.some((e) => e.kind === "local")).toBe(false);
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({
      id: "sdxl",
      name: "SDXL",
      status: "beta",
      maxSize: 1024,
      sizes: ["512x512", "1024x1024"],
      priceMin: 10_000,
      priceMax: 20_000,
    });
    expect(models[0]!.routes).toEqual([
      {
        engine: "gpu-1",
        priority: 1,
        weight: 3,
        timeoutMs: undefined,
        params: { checkpoint: "sdxl.safetensors", steps: 25, workflow: { "3": { class_type: "KSampler" } } },
      },
      { engine: "forge", priority: 1, weight: 1, timeoutMs: undefined, params: {} },
      { engine: "upstream", priority: 2, weight: 1, timeoutMs: 60_000, params: { model: "gpt-image-1" } },
    ]);
    expect(openaiModels).toEqual({ "dall-e-3": "sdxl" });
    // The queue runs as many jobs as the instances can take together.
    expect(config.workerConcurrency).toBe(2 + 1 + 4);
  });

  it("accepts JSON, and keeps the default catalog on the local engine when the file has no models", () => {
    const file = write(
      "zekron.json",
      JSON.stringify({ engines: { gpu: { kind: "comfyui", url: "http://gpu:8188" } } }),
    );
    const { engines, models } = loadConfig({ ZEKRON_CONFIG: file }).engineSetup;
    expect(engines.map((e) => e.id)).toEqual(["gpu", "local"]);
    expect(models.map((m) => m.id)).toEqual(["zekron-image-1", "zekron-xl", "zekron-flash", "zekron-art"]);
    expect(models[0]!.routes[0]!.engine).toBe("local");
  });

  it("names every problem with its path in the file, one line each", () => {
    const file = write(
      "bad.yaml",
      `
engines:
  gpu:
    kind: comfyui
  up:
    kind: openai
    url: ftp://x
    api_key: \${MISSING_KEY}
  odd:
    kind: dalle
  creds:
    kind: a1111
    url: http://admin:secret@gpu:7860
models:
  - id: m
    price: { min: "0.02", max: "0.01" }
    routes:
      - engine: nowhere
        weight: -1
`,
    );
    const lines = configError({ ZEKRON_CONFIG: file });
    expect(lines.every((l) => l.startsWith("Invalid setting ZEKRON_CONFIG: "))).toBe(true);
    const text = lines.join("\n");
    expect(text).toContain("up.api_key: environment variable MISSING_KEY is not set");
    expect(text).toContain("engines.gpu: a comfyui engine needs a url");
    expect(text).toContain("engines.up.url: must be an http:// or https:// URL");
    expect(text).toContain("engines.creds.url: must not contain a user or password");
    expect(text).toMatch(/engines\.odd\.kind: /);
    expect(text).toMatch(/models\[0\]\.routes\[0\]\.weight: /);
    expect(text).toContain("models[0].price: min is above max");
  });

  it("refuses a route to an engine that does not exist, and a model name used twice", () => {
    const file = write(
      "refs.yaml",
      `
engines: { gpu: { kind: comfyui, url: "http://gpu:8188" } }
models:
  - { id: a, price: { min: 0.01, max: 0.02 }, routes: [{ engine: gpu3 }] }
  - { id: b, aliases: [a], price: { min: 0.01, max: 0.02 }, routes: [{ engine: gpu }] }
openai_models: { dall-e-2: nope }
`,
    );
    const text = configError({ ZEKRON_CONFIG: file }).join("\n");
    expect(text).toContain('models[0].routes[0].engine: no engine named "gpu3"');
    expect(text).toContain('models[1]: the name "a" is used twice');
    expect(text).toContain('openai_models.dall-e-2: no model named "nope"');
  });

  it("loads the example file the README points to", () => {
    const file = path.resolve(import.meta.dirname, "../../examples/engines.yaml");
    const { engines, models, openaiModels } = loadConfig({
      ZEKRON_CONFIG: file,
      FORGE_PASSWORD: "x",
      OPENAI_API_KEY: "sk-x",
    }).engineSetup;
    expect(engines.map((e) => e.kind)).toEqual(["comfyui", "a1111", "openai", "local"]);
    expect(models.map((m) => [m.id, m.routes.length])).toEqual([
      ["zekron-image-1", 3],
      ["zekron-flash", 1],
    ]);
    expect(openaiModels["dall-e-3"]).toBe("zekron-image-1");
  });

  it("says so when the file is missing or not YAML", () => {
    expect(configError({ ZEKRON_CONFIG: "/nonexistent/zekron.yaml" })[0]).toBe(
      "Invalid setting ZEKRON_CONFIG: cannot read /nonexistent/zekron.yaml (ENOENT)",
    );
    const file = write("broken.yaml", "engines: [unclosed");
    expect(configError({ ZEKRON_CONFIG: file })[0]).toMatch(
      /^Invalid setting ZEKRON_CONFIG: .*broken\.yaml is not valid YAML/,
    );
  });
});
