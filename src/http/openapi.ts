import { readFileSync } from "node:fs";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi, { type FastifySwaggerUiOptions } from "@fastify/swagger-ui";
import type { Services } from "../services.js";
import { serializeJson } from "./json.js";
import { SECURITY_SCHEMES, routeSchema } from "./schemas/fastify.js";
import { healthOps } from "./schemas/health.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
  description: string;
};

// Its types say callback plugin; the function is async (it never calls a `done`), so it is awaited as one.
const mountDocs = swaggerUi as unknown as FastifyPluginAsync<FastifySwaggerUiOptions>;

const TAGS = [
  ["Generation", "Make an image and wait for it"],
  ["Jobs", "Submit now, follow live, get called back"],
  ["Images", "The stored images"],
  ["Account", "Balance, history and usage"],
  ["Models", "The catalog"],
  ["Keys", "Self-service API keys"],
  ["Webhooks", "Endpoints called when jobs end (Standard Webhooks)"],
  ["OpenAI-compatible", "OpenAI's Images API, for the official SDKs"],
  ["Administration", "Tenants, credits and engines, with the admin token"],
  ["Operations", "Health, readiness and this reference"],
] as const;

/**
 * The OpenAPI 3.1 document, generated from the route schemas (src/http/schemas), at GET /openapi.json,
 * rendered at GET /docs. Call once, before the routes are registered.
 */
export function registerOpenApi(app: FastifyInstance, s: Services): void {
  // The schemas are documentation and contract: the routes check their input themselves and answer
  // specific codes (missing_prompt, invalid_size...), where Fastify's ajv would answer one generic error.
  app.setValidatorCompiler(() => () => true);
  // JSON.stringify, because fast-json-stringify silently drops any field a schema forgot; an answer with
  // images comes out as bytes (see serializeJson), which Fastify sends as they are.
  app.setSerializerCompiler(() => serializeJson as (data: unknown) => string);

  // @fastify/swagger collects the routes with an onRoute hook. Registered with app.register it would
  // load only at ready(), after buildApp has added its routes, and miss them: so it runs here, at once.
  swagger(
    app,
    {
      openapi: {
        openapi: "3.1.0",
        info: { title: "Zekron API", version: pkg.version, description: pkg.description },
        ...(s.config.publicUrl && { servers: [{ url: s.config.publicUrl }] }),
        tags: TAGS.map(([name, description]) => ({ name, description })),
        components: { securitySchemes: SECURITY_SCHEMES },
      },
    },
    (err) => {
      if (err) throw err;
    },
  );
  // Called from a plain plugin: its declared dependency on @fastify/swagger looks for a registration that
  // the direct call above does not make. Its assets are served from the package, with no CDN.
  app.register(async (docs) => mountDocs(docs, { routePrefix: "/docs" }));

  app.get("/openapi.json", { schema: routeSchema(healthOps.openapi) }, async () => app.swagger());
}
