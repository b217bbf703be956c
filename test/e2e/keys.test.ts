import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, TestClock, type TestServer } from "../helpers/server.js";
import { DIALECTS, tenantRepoFixture } from "../helpers/db.js";
import { TenantRepo } from "../../src/domain/tenants.js";
import { hasValidChecksum } from "../../src/domain/apikeys.js";
import { apiTime, iso } from "../../src/clock.js";

interface KeyView {
  id: string;
  name: string;
  display: string;
  scopes: string[];
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}
interface Created {
  api_key: string;
  key: KeyView;
  old_key_expires_at?: string;
}

async function codeOf(res: Response): Promise<[number, string]> {
  const body = (await res.json()) as { error?: { code: string } };
  return [res.status, body.error?.code ?? "(none)"];
}

describe("self-service keys over HTTP", () => {
  let srv: TestServer;
  const clock = new TestClock(Date.now());
  let a: { id: string; key: string };
  let b: { id: string; key: string };

  const create = async (key: string, body?: unknown): Promise<Created> => {
    const res = await srv.api(key, "POST", "/v1/keys", body);
    if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { data: Created }).data;
  };
  const rotate = (key: string, body?: unknown) => srv.api(key, "POST", "/v1/keys/rotate", body);
  const list = async (key: string): Promise<{ text: string; keys: KeyView[] }> => {
    const res = await srv.api(key, "GET", "/v1/keys");
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, keys: (JSON.parse(text) as { data: { keys: KeyView[] } }).data.keys };
  };
  const balance = async (key: string) => (await srv.api(key, "GET", "/v1/balance")).status;

  beforeAll(async () => {
    srv = await startTestServer({ clock });
    a = await srv.tenant("5.00");
    b = await srv.tenant("5.00");
  });
  afterAll(() => srv.stop());

  it("a key cannot outlast itself through the keys it creates, nor create keys once rotated", async () => {
    clock.advance(1000);
    const c = await srv.tenant("1.00");
    const until = apiTime(clock.now() + 3_600_000);
    const parent = await create(c.key, { name: "short-lived", expires_at: until });
    // Without an expiry of its own, a child expires with its parent; a later one is refused.
    const child = await create(parent.api_key, { name: "child" });
    expect(child.key.expires_at).toBe(until);
    const later = await srv.api(parent.api_key, "POST", "/v1/keys", {
      expires_at: apiTime(clock.now() + 7_200_000),
    });
    expect(await codeOf(later)).toEqual([403, "access_denied"]);
    // Rotated with a grace period: the old key still reads, but cannot mint a successor of its own.
    const r = await rotate(parent.api_key, { grace_seconds: 600 });
    expect(r.status).toBe(201);
    expect(await balance(parent.api_key)).toBe(200);
    expect(await codeOf(await srv.api(parent.api_key, "POST", "/v1/keys", {}))).toEqual([
      403,
      "access_denied",
    ]);
  });

  it("creates, lists and revokes keys; the full key appears only in the creation response", async () => {
    clock.advance(1000);
    const res = await srv.api(a.key, "POST", "/v1/keys", { name: "ci", scopes: ["read", "generate"] });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { success: boolean; data: Created };
    expect(body.success).toBe(true);
    const { api_key, key } = body.data;
    expect(api_key).toMatch(/^zk_live_[0-9A-Za-z]{38}$/);
    expect(hasValidChecksum(api_key)).toBe(true);
    expect(key).toEqual({
      id: expect.stringMatching(/^key_/),
      name: "ci",
      display: `zk_live_...${api_key.slice(-4)}`,
      scopes: ["generate", "read"],
      created_at: apiTime(clock.now()),
      expires_at: null,
      revoked_at: null,
    });
    expect(await balance(api_key)).toBe(200);

    clock.advance(1000);
    const later = await create(a.key, { name: "later" });
    const { text, keys } = await list(a.key);
    // Newest first: the key just made, then "ci", then the tenant's first key.
    expect(keys.map((k) => k.id).slice(0, 2)).toEqual([later.key.id, key.id]);
    expect(keys).toHaveLength(3);
    expect(keys.find((k) => k.id === key.id)).toEqual(key);
    const hashes = await srv.services.db.kysely
      .selectFrom("api_keys")
      .select("hash")
      .where("tenant_id", "=", a.id)
      .execute();
    expect(hashes).toHaveLength(3);
    for (const secret of [api_key, later.api_key, a.key, ...hashes.map((h) => h.hash)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(8, 30));
    }
    expect(text).not.toMatch(/"hash"/);

    const del = await srv.api(a.key, "DELETE", `/v1/keys/${key.id}`);
    expect(del.status).toBe(204);
    expect(await codeOf(await srv.api(api_key, "GET", "/v1/balance"))).toEqual([401, "invalid_api_key"]);
    const revoked = (await list(a.key)).keys.find((k) => k.id === key.id)!;
    expect(revoked.revoked_at).toBe(apiTime(clock.now()));
    // Revoking again changes nothing and still answers 204.
    expect((await srv.api(a.key, "DELETE", `/v1/keys/${key.id}`)).status).toBe(204);
    expect(await balance(later.api_key)).toBe(200);
  });

  it("a read-only key cannot generate or manage webhooks, but can read", async () => {
    const { api_key } = await create(a.key, { name: "reader", scopes: ["read"] });
    expect(
      await codeOf(await srv.api(api_key, "POST", "/v1/generate", { prompt: "a cat", size: "256x256" })),
    ).toEqual([403, "access_denied"]);
    expect(
      await codeOf(
        await srv.api(api_key, "POST", "/v1/images/generate", { prompt: "a cat", width: 256, height: 256 }),
      ),
    ).toEqual([403, "access_denied"]);
    expect(
      await codeOf(await srv.api(api_key, "POST", "/v1/webhooks", { url: "https://example.com/hook" })),
    ).toEqual([403, "access_denied"]);
    expect(await codeOf(await srv.api(api_key, "DELETE", "/v1/jobs/job_nothing"))).toEqual([
      403,
      "access_denied",
    ]);
    expect(await balance(api_key)).toBe(200);
    expect((await srv.api(api_key, "GET", "/v1/generations")).status).toBe(200);
    // No money moved: the refusals came before any work.
    const bal = (await (await srv.api(api_key, "GET", "/v1/balance")).json()) as {
      data: { balance: string };
    };
    expect(bal.data.balance).toBe("5.0000");
  });

  it("a key without the `keys` scope cannot use any /v1/keys route", async () => {
    const { api_key, key } = await create(a.key, { scopes: ["generate", "read", "webhooks"] });
    expect(await codeOf(await srv.api(api_key, "GET", "/v1/keys"))).toEqual([403, "access_denied"]);
    expect(await codeOf(await srv.api(api_key, "POST", "/v1/keys", {}))).toEqual([403, "access_denied"]);
    expect(await codeOf(await rotate(api_key))).toEqual([403, "access_denied"]);
    expect(await codeOf(await srv.api(api_key, "DELETE", `/v1/keys/${key.id}`))).toEqual([
      403,
      "access_denied",
    ]);
    // Nothing happened: the key is still there and still works.
    expect(await balance(api_key)).toBe(200);
    expect((await list(a.key)).keys.find((k) => k.id === key.id)?.revoked_at).toBeNull();
  });

  it("a key cannot grant scopes it does not have", async () => {
    const limited = await create(a.key, { name: "limited", scopes: ["keys", "read"] });
    for (const scopes of [["generate"], ["read", "webhooks"], ["keys", "read", "generate"]]) {
      expect(await codeOf(await srv.api(limited.api_key, "POST", "/v1/keys", { scopes }))).toEqual([
        403,
        "access_denied",
      ]);
    }
    expect((await create(limited.api_key, { scopes: ["read"] })).key.scopes).toEqual(["read"]);
    // Omitted scopes: those of the calling key, never more.
    expect((await create(limited.api_key)).key.scopes).toEqual(["read", "keys"]);
    expect((await create(a.key)).key.scopes).toEqual(["generate", "read", "keys", "webhooks"]);
  });

  it("refuses malformed fields with 400 invalid_parameter naming the field", async () => {
    const now = clock.now();
    const bad: [string, unknown][] = [
      ["expires_at", iso(now - 1000)],
      ["expires_at", iso(now)],
      ["expires_at", "tomorrow"],
      ["expires_at", "2099-02-30T00:00:00Z"],
      ["expires_at", "2099-01-01T00:00:00"],
      ["expires_at", 4_102_444_800_000],
      ["scopes", ["admin"]],
      ["scopes", []],
      ["scopes", "read"],
      ["name", ""],
      ["name", 42],
      ["name", "x".repeat(201)],
    ];
    for (const [field, value] of bad) {
      const res = await srv.api(a.key, "POST", "/v1/keys", { [field]: value });
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect([field, value, res.status, body.error.code]).toEqual([field, value, 400, "invalid_parameter"]);
      expect(body.error.message).toContain(field);
    }
    for (const grace of [-1, 86_401, 1.5, "60", null]) {
      const res = await rotate(a.key, { grace_seconds: grace });
      expect([grace, ...(await codeOf(res))]).toEqual([grace, 400, "invalid_parameter"]);
    }
    expect(await balance(a.key)).toBe(200);
  });

  it("an expired key answers 401 invalid_api_key", async () => {
    const expiresAt = clock.now() + 3_600_000;
    const { api_key, key } = await create(a.key, { expires_at: apiTime(expiresAt) });
    expect(key.expires_at).toBe(apiTime(expiresAt));
    expect(await balance(api_key)).toBe(200);
    clock.advance(3_600_000 - 1000);
    expect(await balance(api_key)).toBe(200);
    clock.advance(1000);
    // The cached entry is still fresh: expiry is checked against the clock on every request regardless.
    expect(await codeOf(await srv.api(api_key, "GET", "/v1/balance"))).toEqual([401, "invalid_api_key"]);
    expect(await balance(a.key)).toBe(200);
  });

  it("a rotated key stops at once and the new key, with the same name and scopes, works", async () => {
    const expiresAt = apiTime(clock.now() + 7 * 86_400_000);
    const old = await create(a.key, { name: "deploy", scopes: ["read", "keys"], expires_at: expiresAt });
    expect(await balance(old.api_key)).toBe(200);
    const res = await rotate(old.api_key);
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const fresh = ((await res.json()) as { data: Created }).data;
    expect(fresh.api_key).not.toBe(old.api_key);
    expect(fresh.key).toMatchObject({ name: "deploy", scopes: ["read", "keys"], expires_at: expiresAt });
    expect(fresh.old_key_expires_at).toBe(apiTime(clock.now()));
    expect(await codeOf(await srv.api(old.api_key, "GET", "/v1/balance"))).toEqual([401, "invalid_api_key"]);
    expect(await codeOf(await rotate(old.api_key))).toEqual([401, "invalid_api_key"]);
    expect(await balance(fresh.api_key)).toBe(200);
    const keys = (await list(fresh.api_key)).keys;
    expect(keys.find((k) => k.id === old.key.id)?.revoked_at).toBe(apiTime(clock.now()));
    expect(keys.find((k) => k.id === fresh.key.id)?.revoked_at).toBeNull();
  });

  it("a key rotated with grace works until the grace ends, then answers 401", async () => {
    const old = await create(a.key, { name: "graceful" });
    expect(await balance(old.api_key)).toBe(200); // now in the authenticator's cache
    const res = await rotate(old.api_key, { grace_seconds: 60 });
    expect(res.status).toBe(201);
    const fresh = ((await res.json()) as { data: Created }).data;
    const graceEnd = apiTime(clock.now() + 60_000);
    expect(fresh.old_key_expires_at).toBe(graceEnd);
    expect(fresh.key).toMatchObject({ name: "graceful", expires_at: null });
    const oldView = (await list(a.key)).keys.find((k) => k.id === old.key.id)!;
    expect(oldView).toMatchObject({ expires_at: graceEnd, revoked_at: null });

    expect(await balance(old.api_key)).toBe(200);
    expect(await balance(fresh.api_key)).toBe(200);
    // A key is rotated once: a retry cannot leave a second successor behind.
    expect(await codeOf(await rotate(old.api_key, { grace_seconds: 60 }))).toEqual([403, "access_denied"]);
    clock.advance(59_000);
    expect(await balance(old.api_key)).toBe(200);
    clock.advance(1000);
    // No wait for the 1 s cache: rotation invalidated it, and the new expiry is checked on every request.
    expect(await codeOf(await srv.api(old.api_key, "GET", "/v1/balance"))).toEqual([401, "invalid_api_key"]);
    expect(await balance(fresh.api_key)).toBe(200);
  });

  it("in its grace a rotated key generates and reads, but cannot manage keys or webhooks", async () => {
    const old = await create(a.key, { name: "leaked" });
    const res = await rotate(old.api_key, { grace_seconds: 600 });
    expect(res.status).toBe(201);
    const fresh = ((await res.json()) as { data: Created }).data;
    expect(await balance(old.api_key)).toBe(200);
    const gen = await srv.api(old.api_key, "POST", "/v1/generate", {
      prompt: "a lighthouse",
      size: "256x256",
    });
    expect(gen.status).toBe(200);
    // Whoever holds a leaked key must not lock out its owner nor leave something behind that outlives it.
    const refused = [
      await srv.api(old.api_key, "DELETE", `/v1/keys/${fresh.key.id}`),
      await srv.api(old.api_key, "GET", "/v1/keys"),
      await srv.api(old.api_key, "POST", "/v1/webhooks", { url: "https://example.com/hook" }),
      await srv.api(old.api_key, "POST", "/v1/webhooks/default/secret"),
      await srv.api(old.api_key, "GET", "/v1/webhooks"),
    ];
    for (const r of refused) {
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect([r.status, body.error.code]).toEqual([403, "access_denied"]);
      expect(body.error.message).toContain(fresh.key.id);
    }
    expect(await balance(fresh.api_key)).toBe(200);
    expect((await list(fresh.api_key)).keys.some((k) => k.id === fresh.key.id)).toBe(true);
  });

  it("a key rotated with grace by another process stops within one second of the grace end", async () => {
    const old = await create(a.key, { name: "elsewhere" });
    expect(await balance(old.api_key)).toBe(200); // cached here with no expiry
    // Rotate behind this process's back, as another instance sharing the database would.
    const r = await srv.services.tenants.rotateKey(a.id, old.key.id, 10_000, clock.now());
    expect(r.ok).toBe(true);
    clock.advance(10_000);
    const from = performance.now();
    let status = 200;
    while (status === 200) {
      status = await balance(old.api_key);
      if (status === 200) await new Promise((res) => setTimeout(res, 50));
    }
    expect(status).toBe(401);
    expect(performance.now() - from).toBeLessThanOrEqual(1100);
  });

  it("grace never extends an earlier expiry", async () => {
    const expiresAt = clock.now() + 30_000;
    const old = await create(a.key, { expires_at: apiTime(expiresAt) });
    const fresh = ((await (await rotate(old.api_key, { grace_seconds: 3600 })).json()) as { data: Created })
      .data;
    expect(fresh.old_key_expires_at).toBe(apiTime(expiresAt));
    expect(fresh.key.expires_at).toBe(apiTime(expiresAt));
    clock.advance(30_000);
    expect(await codeOf(await srv.api(old.api_key, "GET", "/v1/balance"))).toEqual([401, "invalid_api_key"]);
  });

  it("concurrent rotations of one key leave exactly one successor", async () => {
    const old = await create(a.key, { name: "racy" });
    const results = await Promise.all(
      Array.from({ length: 8 }, () => rotate(old.api_key, { grace_seconds: 300 })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 403, 403, 403, 403, 403, 403, 403]);
    const racy = (await list(a.key)).keys.filter((k) => k.name === "racy");
    expect(racy).toHaveLength(2);
  });

  it("a key may revoke itself", async () => {
    const self = await create(a.key, { name: "self" });
    expect((await srv.api(self.api_key, "DELETE", `/v1/keys/${self.key.id}`)).status).toBe(204);
    expect(await codeOf(await srv.api(self.api_key, "GET", "/v1/keys"))).toEqual([401, "invalid_api_key"]);
  });

  it("tenant B never sees tenant A's keys and gets 404 deleting one", async () => {
    const { api_key, key } = await create(a.key, { name: "a-only" });
    expect(await codeOf(await srv.api(b.key, "DELETE", `/v1/keys/${key.id}`))).toEqual([404, "not_found"]);
    expect(await codeOf(await srv.api(b.key, "DELETE", "/v1/keys/key_doesNotExist00"))).toEqual([
      404,
      "not_found",
    ]);
    const { text, keys } = await list(b.key);
    expect(keys).toHaveLength(1);
    expect(text).not.toContain(key.id);
    expect(text).not.toContain("a-only");
    expect(await balance(api_key)).toBe(200);
  });

  it("accepts the key in X-API-Key but never in the query string", async () => {
    const viaHeader = await fetch(`${srv.url}/v1/keys`, { headers: { "x-api-key": a.key } });
    expect(viaHeader.status).toBe(200);
    const viaQuery = await fetch(`${srv.url}/v1/keys?api_key=${a.key}`);
    expect(await codeOf(viaQuery)).toEqual([401, "unauthorized"]);
    const rotateViaQuery = await fetch(`${srv.url}/v1/keys/rotate?api_key=${a.key}`, { method: "POST" });
    expect(await codeOf(rotateViaQuery)).toEqual([401, "unauthorized"]);
    expect(await balance(a.key)).toBe(200);
  });

  it("bounds the number of active keys per tenant", async () => {
    const t = await srv.tenant("1.00");
    const made: Created[] = [];
    for (let i = 1; i < 100; i++) made.push(await create(t.key, { name: `k${i}` }));
    const res = await srv.api(t.key, "POST", "/v1/keys", {});
    expect(await codeOf(res)).toEqual([400, "invalid_parameter"]);
    expect((await srv.api(t.key, "DELETE", `/v1/keys/${made[0]!.key.id}`)).status).toBe(204);
    expect((await srv.api(t.key, "POST", "/v1/keys", {})).status).toBe(201);
  });
});

describe.each(DIALECTS)("key repository on %s", (dialect) => {
  const NOW = Date.parse("2026-06-01T00:00:00Z");
  let repo: TenantRepo;
  tenantRepoFixture(dialect, (f) => ({ repo } = f));

  it("creates keys with scopes and expiry, lists them newest first, per tenant", async () => {
    const ten = await repo.create("acme", 0, NOW);
    const other = await repo.create("other", 0, NOW);
    const first = await repo.createKey(ten.id, { name: "one" }, NOW);
    const second = await repo.createKey(
      ten.id,
      { name: "two", scopes: ["read"], expiresAt: iso(NOW + 60_000) },
      NOW + 1,
    );
    await repo.createKey(other.id, { name: "theirs" }, NOW + 2);
    expect(second.row).toMatchObject({ scopes: "read", expires_at: iso(NOW + 60_000), replaced_by: null });
    expect((await repo.listKeys(ten.id)).map((k) => k.id)).toEqual([second.row.id, first.row.id]);
    expect(await repo.getKey(ten.id, first.row.id)).toEqual(first.row);
    expect(await repo.getKey(other.id, first.row.id)).toBeUndefined();
    expect(await repo.countActiveKeys(ten.id, NOW)).toBe(2);
    expect(await repo.countActiveKeys(ten.id, NOW + 60_000)).toBe(1);
    await repo.revokeKey(ten.id, first.row.id, iso(NOW));
    expect(await repo.countActiveKeys(ten.id, NOW)).toBe(1);
  });

  it("rotates without grace: the old key is revoked, the new one inherits name, scopes and expiry", async () => {
    const ten = await repo.create("rot", 0, NOW);
    const old = await repo.createKey(
      ten.id,
      { name: "svc", scopes: ["generate", "keys"], expiresAt: iso(NOW + 86_400_000) },
      NOW,
    );
    const r = await repo.rotateKey(ten.id, old.row.id, 0, NOW + 5);
    if (!r.ok) throw new Error(`rotation refused: ${r.reason}`);
    expect(r.row).toMatchObject({ name: "svc", scopes: "generate,keys", expires_at: iso(NOW + 86_400_000) });
    expect(await repo.getKey(ten.id, old.row.id)).toMatchObject({
      revoked_at: iso(NOW + 5),
      expires_at: iso(NOW + 86_400_000),
      replaced_by: r.row.id,
    });
    expect((await repo.findKeyByHash(r.row.hash))?.id).toBe(r.row.id);
    expect(await repo.rotateKey(ten.id, old.row.id, 0, NOW + 6)).toEqual({ ok: false, reason: "inactive" });
  });

  it("rotates with grace: the old key expires at the earlier of its expiry and the grace end", async () => {
    const ten = await repo.create("grace", 0, NOW);
    const open = await repo.createKey(ten.id, {}, NOW);
    const r1 = await repo.rotateKey(ten.id, open.row.id, 60_000, NOW);
    expect(r1.ok && r1.old).toMatchObject({ expires_at: iso(NOW + 60_000), revoked_at: null });
    expect(await repo.getKey(ten.id, open.row.id)).toMatchObject({
      expires_at: iso(NOW + 60_000),
      revoked_at: null,
    });
    expect(await repo.rotateKey(ten.id, open.row.id, 60_000, NOW + 1)).toEqual({
      ok: false,
      reason: "rotated",
      replacedBy: r1.ok ? r1.row.id : "",
    });
    const soon = await repo.createKey(ten.id, { expiresAt: iso(NOW + 10_000) }, NOW);
    const r2 = await repo.rotateKey(ten.id, soon.row.id, 60_000, NOW);
    expect(r2.ok && r2.old.expires_at).toBe(iso(NOW + 10_000));
    // Another tenant's key, or an expired one, is not rotated.
    const other = await repo.create("other", 0, NOW);
    const late = await repo.createKey(ten.id, { expiresAt: iso(NOW + 1000) }, NOW);
    expect(await repo.rotateKey(other.id, late.row.id, 0, NOW)).toEqual({ ok: false, reason: "inactive" });
    expect(await repo.rotateKey(ten.id, late.row.id, 0, NOW + 1000)).toEqual({
      ok: false,
      reason: "inactive",
    });
  });

  it("lets exactly one of many concurrent rotations through, and keeps no orphan key", async () => {
    const ten = await repo.create("race", 0, NOW);
    const old = await repo.createKey(ten.id, { name: "race" }, NOW);
    const results = await Promise.all(
      Array.from({ length: 12 }, () => repo.rotateKey(ten.id, old.row.id, 300_000, NOW)),
    );
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === "rotated")).toBe(true);
    const keys = await repo.listKeys(ten.id);
    expect(keys).toHaveLength(2);
    expect(keys.find((k) => k.id === old.row.id)?.replaced_by).toBe(winners[0]!.ok && winners[0]!.row.id);
  });
});
