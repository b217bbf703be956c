import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { newMessageId, newWebhookSecret, signHeaders } from "../../src/webhooks/sign.js";

const now = () => Math.floor(Date.now() / 1000);

describe("webhook signing", () => {
  it("makes whsec_ secrets of 24 to 32 random bytes and msg_ ids", () => {
    const secrets = new Set(Array.from({ length: 50 }, () => newWebhookSecret()));
    expect(secrets.size).toBe(50);
    for (const s of secrets) {
      expect(s).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
      const bytes = Buffer.from(s.slice("whsec_".length), "base64").length;
      expect(bytes).toBeGreaterThanOrEqual(24);
      expect(bytes).toBeLessThanOrEqual(32);
    }
    expect(newMessageId()).toMatch(/^msg_[A-Za-z0-9_-]{16,}$/);
    expect(newMessageId()).not.toBe(newMessageId());
  });

  it("signs headers that the standardwebhooks package verifies", () => {
    const secret = newWebhookSecret();
    const body = JSON.stringify({ event: "job.completed", data: { jobId: "job_1", note: "héllo ✓" } });
    const headers = signHeaders(secret, "msg_fixed", now(), body);
    expect(headers["webhook-id"]).toBe("msg_fixed");
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it("is HMAC-SHA256 over id.timestamp.body, keyed by the decoded secret", () => {
    const secret = newWebhookSecret();
    const ts = now();
    const headers = signHeaders(secret, "msg_x", ts, "{}");
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    const expected = createHmac("sha256", key).update(`msg_x.${ts}.{}`).digest("base64");
    expect(headers).toEqual({
      "webhook-id": "msg_x",
      "webhook-timestamp": String(ts),
      "webhook-signature": `v1,${expected}`,
    });
  });

  it("fails verification when one byte of the body, the id or the secret changes", () => {
    const secret = newWebhookSecret();
    const body = '{"event":"job.failed","data":{"jobId":"job_2"}}';
    const headers = signHeaders(secret, newMessageId(), now(), body);
    const altered = body.replace("job_2", "job_3");
    expect(Buffer.byteLength(altered)).toBe(Buffer.byteLength(body));
    expect(() => new Webhook(secret).verify(altered, { ...headers })).toThrow(/signature/i);
    expect(() => new Webhook(secret).verify(body, { ...headers, "webhook-id": "msg_other" })).toThrow();
    expect(() => new Webhook(newWebhookSecret()).verify(body, { ...headers })).toThrow();
  });

  it("keeps the id across re-signing for a retry, with a fresh timestamp", () => {
    const secret = newWebhookSecret();
    const first = signHeaders(secret, "msg_retry", now() - 120, "{}");
    const retry = signHeaders(secret, "msg_retry", now(), "{}");
    expect(retry["webhook-id"]).toBe(first["webhook-id"]);
    expect(retry["webhook-signature"]).not.toBe(first["webhook-signature"]);
    expect(() => new Webhook(secret).verify("{}", { ...retry })).not.toThrow();
    // Receivers reject stale timestamps (5 min tolerance), which is why each retry is signed anew.
    const stale = signHeaders(secret, "msg_retry", now() - 600, "{}");
    expect(() => new Webhook(secret).verify("{}", { ...stale })).toThrow(/too old/);
  });
});
