import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.js";

interface ErrorBody {
  success: false;
  error: { code: string; message: string };
}

async function codeOf(res: Response): Promise<[number, string]> {
  const body = (await res.json()) as ErrorBody;
  return [res.status, body.error.code];
}

/** The edges of the HTTP layer: routing, bodies, framework errors, headers. */
describe("HTTP edges", () => {
  let srv: TestServer;
  let key: string;
  beforeAll(async () => {
    srv = await startTestServer();
    ({ key } = await srv.tenant("10.00"));
  });
  afterAll(() => srv.stop());

  /** What `curl -X <method> $ZK<path> -d <body>` sends: a form-encoded label, whatever the body is. */
  const curlD = (method: string, path: string, body: string, type = "application/x-www-form-urlencoded") =>
    fetch(srv.url + path, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": type },
      body,
    });

  it("answers 404 for an unknown route and 405 for a wrong method, whatever the body", async () => {
    for (const [body, type] of [
      ["x", undefined],
      ["{not json", "application/json"],
      ["x", "text/plain"],
      ["x", "not a media type"],
    ] as const) {
      expect(await codeOf(await curlD("POST", "/v1/nope", body, type))).toEqual([404, "not_found"]);
      const wrong = await curlD("POST", "/v1/balance", body, type);
      expect(wrong.headers.get("allow")).toBe("GET");
      expect(await codeOf(wrong)).toEqual([405, "method_not_allowed"]);
    }
    const big = "x".repeat(srv.services.config.bodyLimitBytes + 1);
    expect(await codeOf(await curlD("POST", "/v1/nope", big))).toEqual([404, "not_found"]);
  });

  it("reads every body as JSON whatever its label, and refuses __proto__ and constructor.prototype alike", async () => {
    const prompt = { prompt: "a red kite", size: "256x256" };
    for (const type of ["text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded"]) {
      const res = await curlD("POST", "/v1/generate", JSON.stringify(prompt), type);
      expect(res.status).toBe(200);
    }
    for (const poisoned of [
      '{"prompt":"a red kite","size":"256x256","__proto__":{"admin":true}}',
      '{"prompt":"a red kite","size":"256x256","constructor":{"prototype":{"admin":true}}}',
    ]) {
      for (const type of ["application/json", "application/x-www-form-urlencoded", "text/plain"]) {
        expect(await codeOf(await curlD("POST", "/v1/generate", poisoned, type))).toEqual([
          400,
          "invalid_json",
        ]);
      }
    }
  });

  it("refuses an absurdly nested body with 400 invalid_json, and takes a reasonably nested one", async () => {
    const nested = (levels: number) =>
      `{"prompt":"a red kite","size":"256x256","extra":${"[".repeat(levels - 1)}${"]".repeat(levels - 1)}}`;
    for (const path of ["/v1/generate", "/v1/images/generate"]) {
      const deep = await srv.api(key, "POST", path, nested(200_000), { "idempotency-key": `deep-${path}` });
      const [status, code] = await codeOf(deep);
      expect([status, code]).toEqual([400, "invalid_json"]);
    }
    const fine = await srv.api(key, "POST", "/v1/generate", nested(64), { "idempotency-key": "nested-64" });
    expect(fine.status).toBe(200);
  });
});
