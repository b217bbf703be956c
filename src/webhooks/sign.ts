import { randomBytes, randomInt } from "node:crypto";
import { Webhook } from "standardwebhooks";

export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/** `whsec_` + base64 of 24 to 32 random bytes, the form Standard Webhooks receivers expect. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(randomInt(24, 33)).toString("base64")}`;
}

/** A `webhook-id`: made once per event and kept across retries, so receivers can deduplicate. */
export function newMessageId(): string {
  return `msg_${randomBytes(16).toString("base64url")}`;
}

/** Standard Webhooks headers: `v1,<base64 HMAC-SHA256>` over `id.timestamp.body`. */
export function signHeaders(
  secret: string,
  msgId: string,
  timestampSec: number,
  body: string,
): WebhookHeaders {
  const signature = new Webhook(secret).sign(msgId, new Date(timestampSec * 1000), body);
  return {
    "webhook-id": msgId,
    "webhook-timestamp": String(timestampSec),
    "webhook-signature": signature,
  };
}
