/**
 * Turns an sdapi error body into one readable line. A1111's own handler answers
 * `{"error": "<ExceptionClass>", "detail": "...", "body": "...", "errors": "..."}` (detail is empty for
 * anything that is not an HTTPException, and `errors` holds `str(exception)`); FastAPI's request validation
 * (and Forge) answer `{"detail": "..."}` or `{"detail": [{"loc": [...], "msg": "..."}]}`.
 */
import { excerpt } from "../shared/upstream.js";

export function describeSdapiError(body: Buffer): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) return undefined;
  const { error, detail, errors } = doc as Record<string, unknown>;

  const fromDetail = describeDetail(detail);
  if (fromDetail) return excerpt(fromDetail, 500);
  if (typeof errors === "string" && errors.trim()) {
    return excerpt(typeof error === "string" && error ? `${error}: ${errors}` : errors, 500);
  }
  if (typeof error === "string" && error) return error;
  return undefined;
}

function describeDetail(detail: unknown): string | undefined {
  if (typeof detail === "string") return detail.trim() || undefined;
  if (Array.isArray(detail)) {
    const parts = detail.map((item) => {
      if (!item || typeof item !== "object") return String(item);
      const { loc, msg } = item as { loc?: unknown; msg?: unknown };
      // "body" is where every JSON field lives; naming it adds nothing for the reader.
      const where = Array.isArray(loc) ? loc.filter((l) => l !== "body").join(".") : "";
      const text = typeof msg === "string" ? msg : JSON.stringify(item);
      return where ? `${where}: ${text}` : text;
    });
    return parts.length ? parts.join("; ") : undefined;
  }
  if (detail && typeof detail === "object") return JSON.stringify(detail);
  return undefined;
}
