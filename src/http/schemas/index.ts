// The API's contract, for the server and for clients: zod schemas, their types, and one Operation per route.
export * from "./common.js";
export * from "./errors.js";
export type * from "./operation.js";
export * from "./generate.js";
export * from "./preview.js";
export * from "./images.js";
export * from "./account.js";
export * from "./jobs.js";
export * from "./webhooks.js";
export * from "./keys.js";
export * from "./models.js";
export * from "./health.js";
export * from "./admin.js";
export * from "./openai.js";

import type { Operation } from "./operation.js";
import { generateOps } from "./generate.js";
import { previewOps } from "./preview.js";
import { imageOps } from "./images.js";
import { accountOps } from "./account.js";
import { jobOps } from "./jobs.js";
import { webhookOps } from "./webhooks.js";
import { keyOps } from "./keys.js";
import { modelOps } from "./models.js";
import { healthOps } from "./health.js";
import { adminOps } from "./admin.js";
import { openaiOps } from "./openai.js";

/** Every route's Operation. */
export const allOperations: readonly Operation[] = [
  generateOps,
  previewOps,
  imageOps,
  accountOps,
  jobOps,
  webhookOps,
  keyOps,
  modelOps,
  healthOps,
  adminOps,
  openaiOps,
].flatMap((group) => Object.values(group));
