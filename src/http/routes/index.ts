import type { FastifyInstance } from "fastify";
import type { Services } from "../../services.js";
import { generateRoutes } from "./generate.js";
import { imageRoutes } from "./images.js";
import { accountRoutes, usageRoutes } from "./account.js";
import { jobRoutes } from "./jobs.js";
import { webhookRoutes } from "./webhooks.js";
import { keyRoutes } from "./keys.js";
import { modelRoutes } from "./models.js";
import { previewRoutes } from "./preview.js";
import { healthRoutes } from "./health.js";
import { adminRoutes } from "./admin.js";
import { openaiRoutes } from "./openai.js";

export function registerRoutes(app: FastifyInstance, s: Services): void {
  for (const register of [
    generateRoutes,
    imageRoutes,
    accountRoutes,
    usageRoutes,
    jobRoutes,
    webhookRoutes,
    keyRoutes,
    modelRoutes,
    previewRoutes,
    healthRoutes,
    adminRoutes,
    openaiRoutes,
  ]) {
    register(app, s);
  }
}
