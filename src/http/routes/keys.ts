import type { FastifyInstance, FastifyReply } from "fastify";
import type { Services } from "../../services.js";
import type { ApiKeyRow } from "../../db/schema.js";
import { apiTime, iso } from "../../clock.js";
import { KEY_SCOPES, type KeyScope } from "../../domain/apikeys.js";
import { ApiError } from "../../errors.js";
import { asObject } from "../generation.js";
import { keyView } from "./admin.js";
import { withSchemas } from "../schemas/fastify.js";
import { ISO_DATE_TIME, MAX_GRACE_SECONDS, MAX_KEY_NAME, keyOps } from "../schemas/keys.js";

/** Keys that still authenticate, per tenant: a leaked `keys` key cannot mint keys without bound. */
const MAX_ACTIVE_KEYS = 100;

function optionalBody(body: unknown): Record<string, unknown> {
  return body === undefined ? {} : asObject(body);
}

function parseName(v: unknown): string {
  if (v === undefined) return "default";
  if (typeof v !== "string" || v.trim().length === 0 || v.length > MAX_KEY_NAME) {
    throw new ApiError(
      "invalid_parameter",
      `name must be a non-empty string of at most ${MAX_KEY_NAME} characters`,
      {
        param: "name",
      },
    );
  }
  return v.trim();
}

/** Omitted: every scope of the calling key (all four for a full key). Never more than the caller has. */
function parseScopes(v: unknown, caller: ReadonlySet<string>): KeyScope[] {
  if (v === undefined) return KEY_SCOPES.filter((scope) => caller.has(scope));
  if (
    !Array.isArray(v) ||
    v.length === 0 ||
    !v.every((x) => typeof x === "string" && (KEY_SCOPES as readonly string[]).includes(x))
  ) {
    throw new ApiError("invalid_parameter", `scopes must be a non-empty list of ${KEY_SCOPES.join(", ")}`, {
      param: "scopes",
    });
  }
  const wanted = KEY_SCOPES.filter((scope) => v.includes(scope));
  const lacking = wanted.filter((scope) => !caller.has(scope));
  if (lacking.length > 0) {
    throw new ApiError(
      "access_denied",
      `This key cannot grant scopes it does not have: ${lacking.map((x) => `\`${x}\``).join(", ")}`,
    );
  }
  return wanted;
}

function parseExpiresAt(v: unknown, now: number): string | null {
  if (v === undefined || v === null) return null;
  const m = typeof v === "string" ? ISO_DATE_TIME.exec(v) : null;
  const ms = m ? Date.parse(v as string) : NaN;
  // Date.parse rolls 2026-02-30 over to March; a date that is not in the calendar is refused instead.
  const daysInMonth = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]), 0)).getUTCDate() : 0;
  if (!m || !Number.isFinite(ms) || Number(m[3]) > daysInMonth || Number(m[4]) > 23) {
    throw new ApiError(
      "invalid_parameter",
      "expires_at must be an ISO 8601 date-time with an offset, such as 2027-01-01T00:00:00+00:00",
      { param: "expires_at" },
    );
  }
  if (ms <= now)
    throw new ApiError("invalid_parameter", "expires_at must be in the future", { param: "expires_at" });
  return iso(ms);
}

function parseGrace(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_GRACE_SECONDS) {
    throw new ApiError(
      "invalid_parameter",
      `grace_seconds must be an integer from 0 to ${MAX_GRACE_SECONDS}`,
      {
        param: "grace_seconds",
      },
    );
  }
  return v;
}

function sendNewKey(reply: FastifyReply, key: string, row: ApiKeyRow, extra: Record<string, unknown> = {}) {
  // One of the few answers that hold a full key (with the admin's tenant and key creation): no cache may
  // keep a copy.
  reply.header("Cache-Control", "no-store");
  return reply.code(201).send({ success: true, data: { api_key: key, key: keyView(row), ...extra } });
}

/** Self-service keys: /v1/keys, with the `keys` scope. */
export function keyRoutes(app: FastifyInstance, s: Services): void {
  const cfg = { config: { auth: "key" as const, scope: "keys" as const } };
  const on = withSchemas(keyOps, cfg);

  app.get("/v1/keys", on.list, async (req) => ({
    success: true,
    data: { keys: (await s.tenants.listKeys(req.auth!.tenantId)).map(keyView) },
  }));

  app.post("/v1/keys", on.create, async (req, reply) => {
    const auth = req.auth!;
    const body = optionalBody(req.body);
    const now = s.clock.now();
    const name = parseName(body.name);
    const scopes = parseScopes(body.scopes, auth.scopes);
    let expiresAt = parseExpiresAt(body.expires_at, now);
    // A key cannot outlast itself through a child: otherwise rotating a leaked key (or letting it expire)
    // would not lock out whoever holds it.
    const caller = await s.tenants.getKey(auth.tenantId, auth.keyId);
    if (caller?.replaced_by) {
      throw new ApiError("access_denied", "This key was rotated; create keys with its replacement");
    }
    if (caller?.expires_at) {
      if (expiresAt === null) expiresAt = caller.expires_at;
      else if (Date.parse(expiresAt) > Date.parse(caller.expires_at)) {
        throw new ApiError(
          "access_denied",
          `A new key cannot expire after the key that creates it (${apiTime(caller.expires_at)})`,
        );
      }
    }
    if ((await s.tenants.countActiveKeys(auth.tenantId, now)) >= MAX_ACTIVE_KEYS) {
      throw new ApiError(
        "invalid_parameter",
        `At most ${MAX_ACTIVE_KEYS} active keys per account; revoke one with DELETE /v1/keys/{id} first`,
      );
    }
    const { key, row } = await s.tenants.createKey(auth.tenantId, { name, scopes, expiresAt }, now);
    return sendNewKey(reply, key, row);
  });

  app.post("/v1/keys/rotate", on.rotate, async (req, reply) => {
    const auth = req.auth!;
    const graceSeconds = parseGrace(optionalBody(req.body).grace_seconds);
    const result = await s.tenants.rotateKey(auth.tenantId, auth.keyId, graceSeconds * 1000, s.clock.now());
    if (!result.ok) {
      // Revoked or expired since this process cached it (at most a second ago): as if it never got in.
      if (result.reason === "inactive")
        throw new ApiError("invalid_api_key", "Invalid, revoked or expired API key");
      throw new ApiError(
        "access_denied",
        `This key was already rotated to ${result.replacedBy}; use that key, or create one with POST /v1/keys`,
      );
    }
    // The cached entry still holds the old expiry; the next request must see the new one.
    s.keys.invalidate({ keyId: auth.keyId });
    const stopsAt = result.old.revoked_at ?? result.old.expires_at!;
    return sendNewKey(reply, result.key, result.row, { old_key_expires_at: apiTime(stopsAt) });
  });

  app.delete<{ Params: { id: string } }>("/v1/keys/:id", on.revoke, async (req, reply) => {
    const row = await s.tenants.revokeKey(req.auth!.tenantId, req.params.id, iso(s.clock.now()));
    if (!row) throw new ApiError("not_found", `No key ${req.params.id}`);
    s.keys.invalidate({ keyId: row.id });
    return reply.code(204).send();
  });
}
