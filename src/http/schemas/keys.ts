import { z } from "zod";
import { KeyScopeSchema, Timestamp, idParam, noStore, ok } from "./common.js";
import { BODY_ERRORS } from "./errors.js";
import type { Operation } from "./operation.js";

export const ApiKeyString = z
  .string()
  .regex(/^zk_(live|test)_[0-9A-Za-z]{38}$/)
  .describe("The full key: shown in this answer only")
  .meta({ example: "zk_live_Xq3K9mZp2LrT7vW4bN8cYd1FhJ6sGa0Ee5Rk0Q" });

export const keyExample = {
  id: "key_3Vb8Nq2Lx7Rt5Kp9",
  name: "ci",
  display: "zk_live_...E5Rk",
  scopes: ["generate", "read"],
  created_at: "2026-06-01T12:00:00+00:00",
  expires_at: "2027-01-01T00:00:00+00:00",
  revoked_at: null,
};

export const KeyView = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    display: z.string().describe("Prefix and last 4 characters"),
    scopes: z.array(KeyScopeSchema),
    created_at: Timestamp,
    expires_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
  })
  .meta({ example: keyExample });
export type KeyView = z.infer<typeof KeyView>;

export const KeyList = ok(z.strictObject({ keys: z.array(KeyView).describe("Newest first") })).meta({
  example: { success: true, data: { keys: [keyExample] } },
});
export type KeyList = z.infer<typeof KeyList>;

export const MAX_KEY_NAME = 200;
export const MAX_GRACE_SECONDS = 86_400;
/** A date-time with an explicit offset: a bare local time would mean different instants on different hosts. */
export const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

export const CreateKeyRequest = z
  .object({
    name: z.string().min(1).max(MAX_KEY_NAME).optional().describe("`default` when absent"),
    scopes: z
      .array(KeyScopeSchema)
      .min(1)
      .optional()
      .describe("At most the calling key's scopes; all of them when absent"),
    expires_at: z
      .string()
      .regex(ISO_DATE_TIME)
      .nullable()
      .optional()
      .describe("ISO 8601, in the future, with an offset (Z or +hh:mm); never when absent")
      .meta({ example: "2027-01-01T00:00:00+00:00" }),
  })
  .meta({ example: { name: "ci", scopes: ["generate", "read"], expires_at: "2027-01-01T00:00:00+00:00" } });
export type CreateKeyRequest = z.infer<typeof CreateKeyRequest>;

export const NewKey = ok(z.strictObject({ api_key: ApiKeyString, key: KeyView })).meta({
  example: {
    success: true,
    data: { api_key: "zk_live_Xq3K9mZp2LrT7vW4bN8cYd1FhJ6sGa0Ee5Rk0Q", key: keyExample },
  },
});
export type NewKey = z.infer<typeof NewKey>;

export const RotateKeyRequest = z
  .object({
    grace_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_GRACE_SECONDS)
      .optional()
      .describe("How long the old key keeps working; 0 (at once) by default"),
  })
  .meta({ example: { grace_seconds: 3600 } });
export type RotateKeyRequest = z.infer<typeof RotateKeyRequest>;

export const RotatedKey = ok(
  z.strictObject({
    api_key: ApiKeyString,
    key: KeyView,
    old_key_expires_at: Timestamp.describe("When the calling key stops working"),
  }),
).meta({
  example: {
    success: true,
    data: {
      api_key: "zk_live_Xq3K9mZp2LrT7vW4bN8cYd1FhJ6sGa0Ee5Rk0Q",
      key: keyExample,
      old_key_expires_at: "2026-06-01T13:00:00+00:00",
    },
  },
});
export type RotatedKey = z.infer<typeof RotatedKey>;

const tags = ["Keys"];
const auth = { key: "keys" } as const;
const keyNoStore = noStore("a key");

export const keyOps = {
  list: {
    operationId: "listKeys",
    summary: "The account's API keys",
    description: "Each shown as prefix and last 4 characters, revoked ones included.",
    tags,
    auth,
    responses: { 200: { description: "The keys", schema: KeyList } },
    errors: [],
  },
  create: {
    operationId: "createKey",
    summary: "Create an API key",
    description:
      "The body is optional. A key cannot grant a scope it lacks (403 `access_denied`). At most 100 " +
      "active keys per account.",
    tags,
    auth,
    body: CreateKeyRequest,
    responses: { 201: { description: "The new key, shown once", schema: NewKey, headers: keyNoStore } },
    errors: [...BODY_ERRORS, "invalid_parameter"],
  },
  rotate: {
    operationId: "rotateKey",
    summary: "Rotate the calling key",
    description:
      "The body is optional. Answers a new key with the same name, scopes and expiry; the calling key stops " +
      "at once or after `grace_seconds`. A key is rotated only once (then 403 `access_denied`).",
    tags,
    auth,
    body: RotateKeyRequest,
    responses: { 201: { description: "The new key, shown once", schema: RotatedKey, headers: keyNoStore } },
    errors: [...BODY_ERRORS, "invalid_parameter"],
  },
  revoke: {
    operationId: "revokeKey",
    summary: "Revoke an API key",
    description: "Takes effect at once.",
    tags,
    auth,
    params: idParam("The key id", "key_3Vb8Nq2Lx7Rt5Kp9"),
    responses: { 204: { description: "Revoked" } },
    errors: ["not_found"],
  },
} satisfies Record<string, Operation>;
