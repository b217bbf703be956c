import { afterAll, beforeAll, describe, expect, it } from "vitest";
import sharp from "sharp";
import { serverFixture, samplePng, startTestServer, type TestServer } from "../helpers/server.js";

interface Envelope {
  success: boolean;
  error: {
    code: string;
    type: string;
    message: string;
    suggestion: string;
    reference: string;
    support: string;
  };
}

async function expectError(res: Response, status: number, code: string): Promise<Envelope["error"]> {
  const body = (await res.json()) as Envelope;
  expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
  expect(body.success).toBe(false);
  expect(body.error.type).toBe(code);
  expect(body.error.reference).toMatch(new RegExp(`^${code.toUpperCase()}_[A-Z2-9]{6}_\\d{10}$`));
  expect(body.error.support).toContain(body.error.reference);
  expect(body.error.suggestion.length).toBeGreaterThan(0);
  return body.error;
}

describe("Zekron v1 routes over HTTP (embedded default)", () => {
  let srv: TestServer;
  let key: string;
  serverFixture("10.00", (f) => ({ srv, key } = f));

  it("answers health and readiness", async () => {
    expect(await (await fetch(`${srv.url}/healthz`)).json()).toEqual({ status: "ok" });
    const ready = await fetch(`${srv.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: "ready",
      checks: { database: "ok", storage: "ok", queue: "ok" },
    });
  });

  it("lists the catalog with sizes and prices", async () => {
    const res = await srv.api(key, "GET", "/v1/models");
    const body = (await res.json()) as { object: string; data: Record<string, unknown>[] };
    expect(body.object).toBe("list");
    expect(body.data.map((m) => m.id)).toEqual(["zekron-image-1", "zekron-xl", "zekron-flash", "zekron-art"]);
    expect(body.data[0]).toMatchObject({
      object: "model",
      owned_by: "zekron",
      status: "ga",
      max_size: "2048x2048",
      supports_edit: true,
      price: { min: "0.0250", max: "0.0290" },
    });
    expect(body.data[1]!.sizes).not.toContain("2048x2048");
    // One model by id or alias, as OpenAI's models.retrieve asks for it.
    const one = await srv.api(key, "GET", "/v1/models/zekron-image-1:image-preview");
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual(body.data[0]);
    const none = await srv.api(key, "GET", "/v1/models/gpt-9");
    expect([none.status, ((await none.json()) as { error: { code: string } }).error.code]).toEqual([
      404,
      "not_found",
    ]);
  });

  it("generates an image with seed 000's response shape and charges it", async () => {
    const t0 = performance.now();
    const res = await srv.api(key, "POST", "/v1/generate", {
      prompt: "A serene mountain landscape at golden hour",
      model: "zekron-image-1",
      size: "512x512",
    });
    const waited = performance.now() - t0;
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    // The engine's share of the wait, for developer tools and the benchmark.
    const engineMs = Number(/^engine;dur=(\d+\.\d{2})$/.exec(res.headers.get("server-timing") ?? "")?.[1]);
    expect(engineMs).toBeGreaterThan(0);
    expect(engineMs).toBeLessThan(waited);
    expect(res.headers.get("x-ratelimit-limit")).toBe("100000");
    const body = (await res.json()) as { success: boolean; data: Record<string, any>; created_at: string };
    expect(body.success).toBe(true);
    const d = body.data;
    expect(Object.keys(d).sort()).toEqual(
      [
        "cost",
        "created_at",
        "id",
        "image",
        "model",
        "prompt",
        "remaining_balance",
        "seed",
        "size",
        "token",
        "type",
      ].sort(),
    );
    expect(d).toMatchObject({
      type: "create",
      model: "zekron-image-1",
      size: "512x512",
      prompt: "A serene mountain landscape at golden hour",
    });
    expect(typeof d.id).toBe("number");
    expect(d.token.length).toBeGreaterThanOrEqual(22);
    expect(d.cost).toMatch(/^0\.02[5-9]\d$/);
    expect(Number(d.remaining_balance)).toBeCloseTo(10 - Number(d.cost), 4);
    expect(d.image.mime_type).toBe("image/png");
    expect(d.image.url).toBe(`${srv.url}/v1/images/${d.token}`);
    expect(d.image.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    expect(body.created_at).toMatch(/\+00:00$/);
    const png = Buffer.from(d.image.b64_json, "base64");
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 512, 512]);

    const img = await srv.api(key, "GET", `/v1/images/${d.token}`);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
    expect(img.headers.get("cache-control")).toContain("private");
    const etag = img.headers.get("etag")!;
    expect(Buffer.from(await img.arrayBuffer()).equals(png)).toBe(true);
    const again = await srv.api(key, "GET", `/v1/images/${d.token}`, undefined, { "if-none-match": etag });
    expect(again.status).toBe(304);

    const signed = await fetch(d.image.signed_url);
    expect(signed.status).toBe(200);
    expect(Buffer.from(await signed.arrayBuffer()).equals(png)).toBe(true);
  });

  it("is deterministic for the same prompt, size and seed", async () => {
    const req = { prompt: "A sunset over the ocean", size: "256x256", seed: 42 };
    const a = (await (await srv.api(key, "POST", "/v1/generate", req)).json()) as {
      data: { image: { b64_json: string }; seed: number };
    };
    const b = (await (await srv.api(key, "POST", "/v1/generate", req)).json()) as {
      data: { image: { b64_json: string } };
    };
    expect(a.data.seed).toBe(42);
    expect(a.data.image.b64_json).toBe(b.data.image.b64_json);
  });

  it("renders JPEG and WebP on request", async () => {
    for (const [fmt, mime] of [
      ["jpeg", "image/jpeg"],
      ["webp", "image/webp"],
    ] as const) {
      const res = await srv.api(key, "POST", "/v1/generate", {
        prompt: "city skyline at night",
        size: "256x256",
        output_format: fmt,
      });
      const body = (await res.json()) as {
        data: { image: { b64_json: string; mime_type: string }; token: string };
      };
      expect(body.data.image.mime_type).toBe(mime);
      expect((await sharp(Buffer.from(body.data.image.b64_json, "base64")).metadata()).format).toBe(fmt);
      const img = await srv.api(key, "GET", `/v1/images/${body.data.token}`);
      expect(img.headers.get("content-type")).toBe(mime);
      expect(
        Buffer.from(await img.arrayBuffer()).equals(Buffer.from(body.data.image.b64_json, "base64")),
      ).toBe(true);
    }
  });

  it("edits one image and combines two", async () => {
    const src = (await samplePng(96, 64)).toString("base64");
    const one = await srv.api(key, "POST", "/v1/generate", {
      prompt: "Make it look like winter with snow",
      images: [{ data: src, mime_type: "image/jpeg" }],
      size: "256x256",
    });
    expect(one.status).toBe(200);
    const b1 = (await one.json()) as { data: { type: string; image: { b64_json: string } } };
    expect(b1.data.type).toBe("edit");
    expect((await sharp(Buffer.from(b1.data.image.b64_json, "base64")).metadata()).width).toBe(256);

    const bg = (await samplePng(120, 80, { r: 30, g: 120, b: 200 })).toString("base64");
    const two = await srv.api(key, "POST", "/v1/generate", {
      prompt: "Combine these two images: put the person from image 1 into the background of image 2",
      images: [
        { data: src, mime_type: "image/png" },
        { data: bg, mime_type: "image/png" },
      ],
      size: "512x512",
    });
    expect(two.status).toBe(200);
    expect(((await two.json()) as { data: { type: string } }).data.type).toBe("edit");
  });

  it("serves seed 001's preview route", async () => {
    const res = await srv.api(key, "POST", "/api/v1/zekron-image-1:image-preview", {
      prompt: "A futuristic city at night, neon lights, 8k",
      options: { size: "256x256", negative_prompt: "blurry, low quality" },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { success: boolean; data: Record<string, unknown> };
    expect(body.success).toBe(true);
    expect(body.data.id).toMatch(/^img_\d+$/);
    expect(body.data.model).toBe("zekron-image-1:image-preview");
    expect(typeof body.data.cost).toBe("number");
    expect(body.data.cost as number).toBeGreaterThanOrEqual(0.025);
    expect(body.data.url).toMatch(new RegExp(`^${srv.url}/v1/images/`));
    await expectError(
      await srv.api(key, "POST", "/api/v1/nope:image-preview", { prompt: "x" }),
      400,
      "invalid_model",
    );
    await expectError(
      await srv.api(key, "POST", "/api/v1/zekron-image-1:other", { prompt: "x" }),
      404,
      "not_found",
    );
    // Paths the route's pattern matches but it does not serve are paths with no route, under any method
    // and with or without a key, and nothing is charged for them.
    const before = (await (await srv.api(key, "GET", "/v1/balance")).json()) as { data: { balance: string } };
    for (const [method, path] of [
      ["POST", "/api/v1/zekron-image-1:image-preview:image-preview"],
      ["POST", "/api/v1/anything"],
      ["GET", "/api/v1/anything"],
    ] as const) {
      await expectError(
        await srv.api(key, method, path, method === "POST" ? { prompt: "x" } : undefined),
        404,
        "not_found",
      );
      const anonymous = await fetch(`${srv.url}${path}`, {
        method,
        body: method === "POST" ? "{}" : undefined,
      });
      expect([path, anonymous.status]).toEqual([path, 404]);
    }
    const wrongMethod = await srv.api(key, "GET", "/api/v1/zekron-image-1:image-preview");
    expect(wrongMethod.headers.get("allow")).toBe("POST");
    await expectError(wrongMethod, 405, "method_not_allowed");
    const after = (await (await srv.api(key, "GET", "/v1/balance")).json()) as { data: { balance: string } };
    expect(after.data.balance).toBe(before.data.balance);
  });

  it("reports balance and history consistently", async () => {
    const bal = (await (await srv.api(key, "GET", "/v1/balance")).json()) as {
      data: Record<string, unknown>;
    };
    const hist = (await (await srv.api(key, "GET", "/v1/generations?limit=100")).json()) as {
      data: { generations: Record<string, any>[]; pagination: Record<string, unknown> };
    };
    const gens = hist.data.generations;
    expect(bal.data.currency).toBe("USD");
    expect(bal.data.total_generations).toBe(gens.filter((g) => g.status === "completed").length);
    const spent = gens.reduce((a, g) => a + Number(g.cost), 0);
    expect(Number(bal.data.total_spent)).toBeCloseTo(spent, 4);
    expect(Number(bal.data.balance)).toBeCloseTo(10 - spent, 4);
    const ids = gens.map((g) => g.id as number);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    expect(gens[0]).toMatchObject({ status: "completed" });
    expect(Object.keys(gens[0]!)).toEqual(
      expect.arrayContaining([
        "id",
        "token",
        "prompt",
        "model",
        "size",
        "cost",
        "status",
        "type",
        "image_url",
        "expires_at",
        "created_at",
      ]),
    );
    const page = (await (await srv.api(key, "GET", "/v1/generations?limit=2&offset=1")).json()) as {
      data: { generations: { id: number }[]; pagination: Record<string, unknown> };
    };
    expect(page.data.generations.map((g) => g.id)).toEqual(ids.slice(1, 3));
    expect(page.data.pagination).toEqual({ total: gens.length, limit: 2, offset: 1, has_more: true });
    const edits = (await (await srv.api(key, "GET", "/v1/generations?type=edit")).json()) as {
      data: { generations: { type: string }[] };
    };
    expect(edits.data.generations.length).toBe(2);
    await expectError(await srv.api(key, "GET", "/v1/generations?limit=101"), 400, "invalid_parameter");
    await expectError(await srv.api(key, "GET", "/v1/generations?status=bogus"), 400, "invalid_parameter");
  });

  it("keeps zero-data-retention images out of storage", async () => {
    const res = await srv.api(
      key,
      "POST",
      "/v1/generate",
      { prompt: "a red car", size: "256x256" },
      { "x-zekron-store": "0" },
    );
    const body = (await res.json()) as { data: { token: null; image: { url: null; b64_json: string } } };
    expect(res.status).toBe(200);
    expect(body.data.image.url).toBeNull();
    expect(body.data.token).toBeNull();
    expect(body.data.image.b64_json.length).toBeGreaterThan(100);
  });

  describe("errors", () => {
    const gen = (body: unknown, headers?: Record<string, string>) =>
      srv.api(key, "POST", "/v1/generate", body, headers);

    it("invalid_json", async () => {
      await expectError(await gen("{not json"), 400, "invalid_json");
      await expectError(await gen("[1,2]"), 400, "invalid_json");
      await expectError(await srv.api(key, "POST", "/v1/generate", undefined), 400, "invalid_json");
    });
    it("missing_prompt and prompt_too_long", async () => {
      await expectError(await gen({ size: "256x256" }), 400, "missing_prompt");
      await expectError(await gen({ prompt: "   " }), 400, "missing_prompt");
      const e = await expectError(await gen({ prompt: "x".repeat(2001) }), 400, "prompt_too_long");
      expect(e.message).toContain("2000");
    });
    it("invalid_model and invalid_size", async () => {
      await expectError(await gen({ prompt: "x", model: "dall-e-9" }), 400, "invalid_model");
      await expectError(await gen({ prompt: "x", size: "1000x1000" }), 400, "invalid_size");
      const e = await expectError(
        await gen({ prompt: "x", model: "zekron-xl", size: "2048x2048" }),
        400,
        "invalid_size",
      );
      expect(e.message).toContain("1024x1024");
    });
    it("too_many_images, invalid_base64, invalid_image", async () => {
      const png = (await samplePng()).toString("base64");
      const img = { data: png, mime_type: "image/png" };
      await expectError(await gen({ prompt: "x", images: [img, img, img] }), 400, "too_many_images");
      await expectError(
        await gen({ prompt: "x", images: [{ data: "not base64!!" }] }),
        400,
        "invalid_base64",
      );
      await expectError(
        await gen({ prompt: "x", images: [{ data: Buffer.from("GIF89a....").toString("base64") }] }),
        400,
        "invalid_image",
      );
      const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>').toString(
        "base64",
      );
      await expectError(
        await gen({ prompt: "x", images: [{ data: svg, mime_type: "image/png" }] }),
        400,
        "invalid_image",
      );
      const truncated = (await samplePng(300, 300)).subarray(0, 200).toString("base64");
      await expectError(await gen({ prompt: "x", images: [{ data: truncated }] }), 400, "invalid_image");
    });
    it("invalid_parameter names the field", async () => {
      expect(
        (await expectError(await gen({ prompt: "x", seed: -1 }), 400, "invalid_parameter")).message,
      ).toContain("seed");
      expect(
        (await expectError(await gen({ prompt: "x", output_format: "gif" }), 400, "invalid_parameter"))
          .message,
      ).toContain("output_format");
      expect(
        (await expectError(await gen({ prompt: "x", images: "abc" }), 400, "invalid_parameter")).message,
      ).toContain("images");
    });
    it("payload_too_large", async () => {
      const big = "A".repeat(14 * 1024 * 1024);
      await expectError(await gen({ prompt: "x", images: [{ data: big }] }), 413, "payload_too_large");
    });
    it("unauthorized and invalid_api_key; a key in the query string does not count", async () => {
      await expectError(await fetch(`${srv.url}/v1/balance`), 401, "unauthorized");
      await expectError(await fetch(`${srv.url}/v1/balance?api_key=${key}`), 401, "unauthorized");
      await expectError(
        await srv.api("zk_live_" + "a".repeat(38), "GET", "/v1/balance"),
        401,
        "invalid_api_key",
      );
      const ok = await fetch(`${srv.url}/v1/balance`, { headers: { "x-api-key": key } });
      expect(ok.status).toBe(200);
    });
    it("insufficient_balance leaves the balance alone", async () => {
      const poor = await srv.tenant("0.01");
      const e = await expectError(
        await srv.api(poor.key, "POST", "/v1/generate", { prompt: "x", size: "256x256" }),
        402,
        "insufficient_balance",
      );
      expect(e.message).toMatch(/costs 0\.0\d{3} and the balance is 0\.0100/);
      const bal = (await (await srv.api(poor.key, "GET", "/v1/balance")).json()) as {
        data: { balance: string };
      };
      expect(bal.data.balance).toBe("0.0100");
    });
    it("access_denied for a tenant key on admin routes", async () => {
      await expectError(await srv.api(key, "GET", "/admin/v1/tenants"), 403, "access_denied");
      await expectError(await fetch(`${srv.url}/admin/v1/tenants`), 401, "unauthorized");
    });
    it("not_found and method_not_allowed", async () => {
      await expectError(await srv.api(key, "GET", "/v1/nothing-here"), 404, "not_found");
      const e = await srv.api(key, "GET", "/v1/generate");
      expect(e.headers.get("allow")).toBe("POST");
      await expectError(e, 405, "method_not_allowed");
      await expectError(await srv.api(key, "DELETE", "/v1/balance"), 405, "method_not_allowed");
      await expectError(await srv.api(key, "GET", "/v1/images/doesnotexist"), 404, "not_found");
    });
    it("ignores cost, status and tenant_id sent by the client", async () => {
      const res = await gen({
        prompt: "a tree",
        size: "256x256",
        cost: "0.0000",
        status: "failed",
        tenant_id: "ten_other",
      });
      const body = (await res.json()) as { data: { cost: string } };
      expect(res.status).toBe(200);
      expect(Number(body.data.cost)).toBeGreaterThanOrEqual(0.025);
    });
  });
});

describe("admin routes", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer();
  });
  afterAll(() => srv.stop());

  it("creates, lists, reads, patches and credits tenants", async () => {
    const created = await srv.admin("POST", "/admin/v1/tenants", { name: "Acme", balance: "5.00" });
    expect(created.status).toBe(201);
    const c = (await created.json()) as {
      success: boolean;
      data: { tenant: Record<string, any>; api_key: string; key: { display: string } };
    };
    expect(c.data.api_key).toMatch(/^zk_live_[0-9A-Za-z]{38}$/);
    expect(c.data.key.display).toBe(`zk_live_...${c.data.api_key.slice(-4)}`);
    expect(c.data.tenant).toMatchObject({ name: "Acme", balance: "5.0000", suspended: false });
    const id = c.data.tenant.id as string;

    const list = (await (await srv.admin("GET", "/admin/v1/tenants")).json()) as {
      data: { tenants: { id: string }[] };
    };
    expect(list.data.tenants.map((t) => t.id)).toContain(id);
    const one = (await (await srv.admin("GET", `/admin/v1/tenants/${id}`)).json()) as {
      data: { keys: Record<string, unknown>[] };
    };
    expect(JSON.stringify(one)).not.toContain(c.data.api_key);
    expect(JSON.stringify(one)).not.toContain("hash");

    const patched = await srv.admin("PATCH", `/admin/v1/tenants/${id}`, {
      rate_limit_per_minute: 10,
      max_concurrent: 2,
      daily_image_allowance: 3,
    });
    expect(
      ((await patched.json()) as { data: { tenant: Record<string, unknown> } }).data.tenant,
    ).toMatchObject({
      rate_limit_per_minute: 10,
      max_concurrent: 2,
      daily_image_allowance: 3,
    });
    const bad = await srv.admin("PATCH", `/admin/v1/tenants/${id}`, { max_concurrent: -1 });
    expect(bad.status).toBe(400);

    const credit = await srv.admin("POST", `/admin/v1/tenants/${id}/credits`, {
      amount: "2.50",
      reason: "promo",
    });
    expect(((await credit.json()) as { data: { balance: string } }).data.balance).toBe("7.5000");
    const neg = await srv.admin("POST", `/admin/v1/tenants/${id}/credits`, { amount: "-100" });
    expect(neg.status).toBe(400);
    expect((await srv.admin("GET", "/admin/v1/tenants/ten_nope")).status).toBe(404);
  });
});
