import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/services.js";
import { samplePng, serverFixture, startTestServer, TestClock, type TestServer } from "../helpers/server.js";

interface ErrorBody {
  success: false;
  error: { code: string; message: string };
}

async function codeOf(res: Response): Promise<[number, string]> {
  const body = (await res.json()) as ErrorBody;
  return [res.status, body.error.code];
}

/** A GET with its path sent exactly as given, over HTTP/1.0 when asked, with these raw header lines. */
function rawGet(
  base: string,
  path: string,
  opts: { version?: "1.0" | "1.1"; headers?: string[] } = {},
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      const head = [
        `GET ${path} HTTP/${opts.version ?? "1.1"}`,
        ...(opts.headers ?? [`Host: ${hostname}:${port}`]),
      ];
      socket.write(`${[...head, "Connection: close"].join("\r\n")}\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const at = text.indexOf("\r\n\r\n");
      resolve({ status: Number(text.split(" ")[1]), body: text.slice(at + 4) });
    });
  });
}

/** The edges of the HTTP layer: routing, bodies, framework errors, headers. */
describe("HTTP edges", () => {
  let srv: TestServer;
  let key: string;
  serverFixture("10.00", (f) => ({ srv, key } = f));

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

  it("answers the framework's refusals in our envelope with the code of their status", async () => {
    // Fastify's own shape (no `success`) would fail codeOf; the request id comes back as on any answer.
    const badUrl = await srv.api(key, "GET", "/v1/jobs/%zz");
    expect(badUrl.headers.get("x-request-id")).toMatch(/^req_/);
    expect(await codeOf(badUrl)).toEqual([400, "invalid_parameter"]);
    expect(await codeOf(await srv.api(key, "GET", `/v1/jobs/job_${"a".repeat(200)}`))).toEqual([
      404,
      "not_found",
    ]);
    // Sent as written: fetch would resolve the %2e%2e.
    const outside = await rawGet(srv.url, "/docs/static/%2e%2e/package.json");
    expect([outside.status, (JSON.parse(outside.body) as ErrorBody).error.code]).toEqual([
      403,
      "access_denied",
    ]);
    // A route of its own method that finds nothing is a 404, not "GET is not allowed; use GET".
    expect(await codeOf(await fetch(`${srv.url}/docs/static/nope.js`))).toEqual([404, "not_found"]);
  });

  it("answers 405 with Allow: POST for another method on a POST route's path, though a GET route's pattern takes it", async () => {
    for (const path of ["/v1/images/generations", "/v1/images/edits", "/v1/images/generate"]) {
      for (const [method, withKey] of [
        ["GET", true],
        ["GET", false],
        ["PUT", true],
        ["DELETE", true],
      ] as const) {
        const res = withKey ? await srv.api(key, method, path) : await fetch(srv.url + path, { method });
        expect(res.headers.get("allow"), `${method} ${path}`).toBe("POST");
        expect(await codeOf(res)).toEqual([405, "method_not_allowed"]);
      }
    }
    const rotate = await srv.api(key, "DELETE", "/v1/keys/rotate");
    expect(rotate.headers.get("allow")).toBe("POST");
    expect(await codeOf(rotate)).toEqual([405, "method_not_allowed"]);
    // The patterns still take what is not a static route's path.
    expect(await codeOf(await srv.api(key, "GET", "/v1/images/generationsx"))).toEqual([404, "not_found"]);
    expect(await codeOf(await srv.api(key, "DELETE", "/v1/keys/key_nope"))).toEqual([404, "not_found"]);
  });

  it("takes an empty bearer for a missing key: 401 unauthorized, on key, image and admin routes", async () => {
    for (const authorization of ["Bearer ", "Bearer", "bearer   "]) {
      for (const path of ["/v1/balance", "/v1/images/img_nope", "/admin/v1/tenants"]) {
        const res = await fetch(srv.url + path, { headers: { authorization } });
        expect(await codeOf(res), `${JSON.stringify(authorization)} on ${path}`).toEqual([
          401,
          "unauthorized",
        ]);
      }
    }
    // Then the key may come in X-API-Key.
    const ok = await fetch(`${srv.url}/v1/balance`, {
      headers: { authorization: "Bearer ", "x-api-key": key },
    });
    expect(ok.status).toBe(200);
  });

  it("sends webhook secrets with Cache-Control: no-store, as new keys", async () => {
    const endpoint = await srv.api(key, "POST", "/v1/webhooks", { url: "https://hooks.example.com/zekron" });
    expect(endpoint.status).toBe(201);
    expect(((await endpoint.json()) as { secret: string }).secret).toMatch(/^whsec_/);
    expect(endpoint.headers.get("cache-control")).toBe("no-store");
    const rotated = await srv.api(key, "POST", "/v1/webhooks/default/secret");
    expect(rotated.status).toBe(201);
    expect(((await rotated.json()) as { secret: string }).secret).toMatch(/^whsec_/);
    expect(rotated.headers.get("cache-control")).toBe("no-store");
  });

  it("counts the prompt's characters as code points, and takes an invisible prompt for a missing one", async () => {
    const gen = (body: Record<string, unknown>) =>
      srv.api(key, "POST", "/v1/generate", { size: "256x256", ...body });
    const emoji = (n: number) => "\u{1F30B}".repeat(n);
    expect((await gen({ prompt: emoji(1001) })).status).toBe(200);
    expect((await gen({ prompt: emoji(2000), negative_prompt: emoji(2000) })).status).toBe(200);
    const long = await gen({ prompt: emoji(2001) });
    expect(await codeOf(long.clone())).toEqual([400, "prompt_too_long"]);
    expect(((await long.json()) as ErrorBody).error.message).toBe(
      "The prompt is 2001 characters; the limit is 2000",
    );
    expect(await codeOf(await gen({ prompt: "a", negative_prompt: emoji(2001) }))).toEqual([
      400,
      "invalid_parameter",
    ]);
    const before = await srv.api(key, "GET", "/v1/balance").then((r) => r.json());
    for (const prompt of ["\u200b", "\u200b\u200c\u200d", " \u2060\ufeff\u00ad ", "\u3164", "\u180e\ufe0f"]) {
      expect(await codeOf(await gen({ prompt })), JSON.stringify(prompt)).toEqual([400, "missing_prompt"]);
    }
    expect(await srv.api(key, "GET", "/v1/balance").then((r) => r.json())).toEqual(before);
  });

  it("takes an empty jobs cursor for none, and refuses a malformed one", async () => {
    const list = async (query: string) => {
      const res = await srv.api(key, "GET", `/v1/jobs${query}`);
      expect(res.status, query).toBe(200);
      return (await res.json()) as { data: { job_id: string }[]; next_cursor: string | null };
    };
    const first = await list("?limit=2");
    expect(first.data).toHaveLength(2);
    expect(first.next_cursor).not.toBeNull();
    const ids = (page: { data: { job_id: string }[] }) => page.data.map((j) => j.job_id);
    expect(ids(await list("?limit=2&cursor="))).toEqual(ids(first));
    const second = await list(`?limit=2&cursor=${first.next_cursor}`);
    expect(second.data[0]!.job_id).not.toBe(first.data[0]!.job_id);
    for (const cursor of ["!!!", "abc", "zz", `${first.next_cursor}=`, "LTE", "MS41"]) {
      const res = await srv.api(key, "GET", `/v1/jobs?cursor=${encodeURIComponent(cursor)}`);
      expect(await codeOf(res), cursor).toEqual([400, "invalid_parameter"]);
    }
  });

  it("refuses a field of the wrong type with invalid_parameter naming it, rather than reading it loosely", async () => {
    const refused = async (res: Response, field: string) => {
      const body = (await res.json()) as ErrorBody;
      expect([res.status, body.error.code], field).toEqual([400, "invalid_parameter"]);
      expect(body.error.message).toContain(field);
    };
    const job = (body: Record<string, unknown>) =>
      srv.api(key, "POST", "/v1/images/generate", { prompt: "a kite", ...body });
    await refused(await job({ width: "1024" }), "width");
    await refused(await job({ width: 512, height: "512" }), "height");
    expect((await job({ width: 256, height: 256 })).status).toBe(202);
    const png = (await samplePng()).toString("base64");
    await refused(
      await srv.api(key, "POST", "/v1/generate", {
        prompt: "make it snow",
        size: "256x256",
        images: [{ data: png, mime_type: 5 }],
      }),
      "images[0].mime_type",
    );

    const tenant = await srv.tenant("1.00");
    const before = await srv.admin("GET", `/admin/v1/tenants/${tenant.id}`).then((r) => r.json());
    await refused(
      await srv.admin("POST", `/admin/v1/tenants/${tenant.id}/credits`, { amount: "1.00", reason: 7 }),
      "reason",
    );
    await refused(
      await srv.admin("POST", `/admin/v1/tenants/${tenant.id}/credits`, { amount: "0.00001" }),
      "amount",
    );
    expect(await srv.admin("GET", `/admin/v1/tenants/${tenant.id}`).then((r) => r.json())).toEqual(before);
    await refused(await srv.admin("POST", "/admin/v1/tenants", { name: "x", balance: "1.00001" }), "balance");
    await refused(await srv.admin("POST", "/admin/v1/tenants", { name: "x", balance: 1.00001 }), "balance");
    const fine = await srv.admin("POST", "/admin/v1/tenants", { name: "x", balance: "1.2345" });
    expect(fine.status).toBe(201);
    expect(((await fine.json()) as { data: { tenant: { balance: string } } }).data.tenant.balance).toBe(
      "1.2345",
    );
  });

  it("builds URLs from the server's own address when the request has no Host or an empty one", async () => {
    const made = await srv.api(key, "POST", "/v1/generate", { prompt: "a tram", size: "256x256" });
    expect(made.status).toBe(200);
    const auth = `Authorization: Bearer ${key}`;
    for (const headers of [[auth], [auth, "Host:"], [auth, "Host: "]]) {
      const res = await rawGet(srv.url, "/v1/generations?limit=1", { version: "1.0", headers });
      expect(res.status, headers.join(" | ")).toBe(200);
      const body = JSON.parse(res.body) as {
        data: { generations: { image_url: string; signed_url: string }[] };
      };
      const [gen] = body.data.generations;
      expect(gen!.image_url.startsWith(`${srv.url}/v1/images/`), gen!.image_url).toBe(true);
      expect(gen!.signed_url.startsWith(`${srv.url}/v1/images/`)).toBe(true);
    }
  });
});

describe("readiness", () => {
  const lines: string[] = [];
  let srv: TestServer;
  beforeAll(async () => {
    const log = createLogger(loadConfig({ LOG_LEVEL: "info", ZEKRON_DATA_DIR: "unused" }), {
      write: (chunk: string) => void lines.push(...chunk.split("\n").filter(Boolean)),
    });
    srv = await startTestServer({ log });
  });
  afterAll(() => srv.stop());

  it("says only `error` of a failed check, without a key, and logs why", async () => {
    const blobs = srv.services.config.blobDir;
    rmSync(blobs, { recursive: true, force: true });
    writeFileSync(blobs, "not a directory");
    const res = await fetch(`${srv.url}/readyz`);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({
      status: "not_ready",
      checks: { database: "ok", storage: "error", queue: "ok" },
    });
    expect(text).not.toContain("EEXIST");
    expect(text).not.toContain(blobs);
    const logged = lines.map(
      (l) => JSON.parse(l) as { msg: string; check?: string; err?: { message: string } },
    );
    expect(logged.find((l) => l.msg === "readiness check failed")).toMatchObject({
      check: "storage",
      err: { message: expect.stringContaining("EEXIST") },
    });
  });
});

describe("allowances", () => {
  const clock = new TestClock(Date.parse("2026-06-30T18:30:00Z"));
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ clock });
  });
  afterAll(() => srv.stop());

  it("answers quota_exceeded with Retry-After: the seconds to the next UTC midnight or month start", async () => {
    const midnight = (Date.parse("2026-07-01T00:00:00Z") - clock.now()) / 1000;
    const cases = [
      [{ daily_image_allowance: 0 }, midnight],
      [{ monthly_image_allowance: 0 }, midnight],
      [{ daily_image_allowance: 0, monthly_image_allowance: 0 }, midnight],
    ] as const;
    for (const [allowances, wait] of cases) {
      const t = await srv.tenant("1.00", allowances);
      const res = await srv.api(t.key, "POST", "/v1/generate", { prompt: "a kite", size: "256x256" });
      expect(await codeOf(res)).toEqual([429, "quota_exceeded"]);
      expect(res.headers.get("retry-after"), JSON.stringify(allowances)).toBe(String(wait));
    }
    // Mid-month, the two differ: the month's is the wait when both are used up.
    clock.t = Date.parse("2026-07-15T12:00:00Z");
    const t = await srv.tenant("1.00", { daily_image_allowance: 0, monthly_image_allowance: 0 });
    const both = await srv.api(t.key, "POST", "/v1/images/generate", {
      prompt: "a kite",
      width: 256,
      height: 256,
    });
    expect(await codeOf(both)).toEqual([429, "quota_exceeded"]);
    expect(both.headers.get("retry-after")).toBe(
      String((Date.parse("2026-08-01T00:00:00Z") - clock.now()) / 1000),
    );
    const daily = await srv.tenant("1.00", { daily_image_allowance: 0 });
    const one = await srv.api(daily.key, "POST", "/v1/images/generations", {
      prompt: "a kite",
      size: "256x256",
    });
    expect(one.status).toBe(429);
    expect(one.headers.get("retry-after")).toBe(String(12 * 3600));
  });
});

describe("deleted and expired images", () => {
  const clock = new TestClock(Date.now());
  let srv: TestServer;
  let key: string;
  beforeAll(async () => {
    srv = await startTestServer({ clock });
    ({ key } = await srv.tenant("10.00"));
  });
  afterAll(() => srv.stop());

  const finishedJob = async () => {
    const res = await srv.api(
      key,
      "POST",
      "/v1/images/generate",
      { prompt: "a harbour", width: 256, height: 256 },
      { prefer: "wait=20" },
    );
    expect(res.status).toBe(200);
    const job = (await res.json()) as { job_id: string; result_url: string };
    return { ...job, token: new URL(job.result_url).pathname.split("/").pop()! };
  };
  const generation = async (token: string) => {
    const res = await srv.api(key, "GET", "/v1/generations?limit=100");
    const body = (await res.json()) as {
      data: { generations: { token: string; image_url: string | null; signed_url: string | null }[] };
    };
    return body.data.generations.find((g) => g.token === token)!;
  };
  const TIME = "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\+00:00";

  it("says a purged image was deleted, when, in the API's time format, and lists it without a link", async () => {
    const job = await finishedJob();
    expect((await generation(job.token)).image_url).not.toBeNull();
    expect((await srv.api(key, "DELETE", `/v1/jobs/${job.job_id}`)).status).toBe(204);
    for (const res of [await fetch(job.result_url), await srv.api(key, "GET", `/v1/images/${job.token}`)]) {
      const body = (await res.json()) as ErrorBody;
      expect([res.status, body.error.code]).toEqual([410, "expired"]);
      expect(body.error.message).toMatch(new RegExp(`^This image was deleted at ${TIME}$`));
      expect(body.error.message).toContain(new Date(clock.now()).toISOString().slice(0, 19));
    }
    expect(await generation(job.token)).toMatchObject({ image_url: null, signed_url: null });
  });

  it("says an expired image expired, in the API's time format", async () => {
    const job = await finishedJob();
    clock.advance(25 * 3600_000);
    const res = await srv.api(key, "GET", `/v1/images/${job.token}`);
    const body = (await res.json()) as ErrorBody;
    expect([res.status, body.error.code]).toEqual([410, "expired"]);
    expect(body.error.message).toMatch(new RegExp(`^This image expired at ${TIME}$`));
  });
});
