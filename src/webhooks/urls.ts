import { ApiError } from "../errors.js";

/**
 * Checks a webhook URL when it is saved. This is only the first gate: where the name points can change
 * later (DNS rebinding), so the address is checked again at connect time on every delivery.
 */
export function checkWebhookUrl(value: unknown, allowPrivate: boolean, param = "webhook_url"): string {
  if (typeof value !== "string" || value.length > 2048) {
    throw new ApiError("invalid_parameter", `${param} must be a URL of at most 2048 characters`, { param });
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ApiError("invalid_parameter", `${param} is not a valid URL`, { param });
  }
  if (url.protocol !== "https:" && !(allowPrivate && url.protocol === "http:")) {
    throw new ApiError("invalid_parameter", `${param} must use https`, { param });
  }
  if (url.username || url.password) {
    throw new ApiError("invalid_parameter", `${param} must not carry credentials`, { param });
  }
  return url.toString();
}
