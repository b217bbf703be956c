import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Validator } from "@seriousme/openapi-schema-validator";
import { startTestServer, samplePng, type TestServer } from "../helpers/server.js";
import { startReceiver, type Receiver } from "../webhooks/servers.js";
import {
  accountOps,
  adminOps,
  allOperations,
  generateOps,
  healthOps,
  imageOps,
  jobOps,
  keyOps,
  modelOps,
  openaiOps,
  previewOps,
  webhookOps,
  type Operation,
} from "../../src/http/schemas/index.js";
import { errorSchemaOf, errorStatusesOf } from "../../src/http/schemas/fastify.js";

type Doc = { openapi: string; paths: Record<string, Record<string, any>> };
const METHODS = ["get", "put", "post", "delete", "patch"];

/** `METHOD /path/{param}` for every route Fastify registered, from its route tree; HEAD and /docs left out. */
function registeredRoutes(tree: string): string[] {
  const segments: string[] = [];
  const out: string[] = [];
  for (const line of tree.split("\n")) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    segments.length = depth;
    segments.push(m[2]!);
    const path = segments.join("").replace(/:(\w+)/g, "{$1}");
    if (!m[3] || path === "/docs" || path.startsWith("/docs/")) continue;
    for (const method of m[3].split(", ")) if (method !== "HEAD") out.push(`${method} ${path}`);
  }
  return out;
}

function missingFromDocument(routes: string[], doc: Doc): string[] {
  return routes.filter((r) => {
    const [method, path] = r.split(" ") as [string, string];
    return !doc.paths[path]?.[method.toLowerCase()];
  });
}

function operationsOf(doc: Doc): [string, any][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => [`${m.toUpperCase()} ${path}`, item[m]] as [string, any]),
  );
}

describe("OpenAPI document and reference", () => {
  let srv: TestServer;
  let key: string;
  let doc: Doc;
  beforeAll(async () => {
    srv = await startTestServer({ env: { ZEKRON_WEBHOOK_ALLOW_PRIVATE: "true" } });
    ({ key } = await srv.tenant("10.00"));
    const res = await fetch(`${srv.url}/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Doc;
  });
  afterAll(() => srv.stop());

  /**
   * The drift guard: the request went to the route the operation documents, the status is one the
   * operation documents, and the body parses with the zod schema documented for that status (strict
   * objects: an undocumented field fails).
   */
  async function expectDocumented(res: Response, op: Operation, status: number): Promise<any> {
    const [route] = operationsOf(doc).filter(([, o]) => o.operationId === op.operationId);
    expect(route, `${op.operationId} is not in the document`).toBeDefined();
    const template = route![0].split(" ")[1]!.replace(/\{\w+\}/g, "[^/]+");
    expect(new URL(res.url).pathname).toMatch(new RegExp(`^${template}$`));
    const text = await res.text();
    expect({ status: res.status, body: res.status === status ? "" : text }).toEqual({ status, body: "" });
    const reply = op.responses[status];
    if (reply && !reply.schema) return expect(text).toBe("");
    const schema = reply ? reply.schema! : errorSchemaOf(op, status);
    return schema.parse(JSON.parse(text));
  }

  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(doc.openapi).toBe("3.1.0");
  });

  it("documents every route the server registered, with its method", () => {
    const routes = registeredRoutes(srv.app.printRoutes({ commonPrefix: false }));
    expect(routes).toContain("POST /v1/generate");
    expect(routes).toContain("DELETE /v1/jobs/{id}");
    expect(routes).toContain("DELETE /admin/v1/tenants/{id}/keys/{keyId}");
    expect(routes).toContain("POST /v1/images/edits");
    expect(routes.length).toBeGreaterThanOrEqual(35);
    expect(missingFromDocument(routes, doc)).toEqual([]);
    expect(operationsOf(doc).length).toBe(routes.length);
  });

  it("notices a route missing from the document", () => {
    const routes = registeredRoutes(srv.app.printRoutes({ commonPrefix: false }));
    const cut = structuredClone(doc);
    delete cut.paths["/v1/jobs/{id}/events"];
    delete cut.paths["/v1/keys/{id}"]!.delete;
    expect(missingFromDocument(routes, cut)).toEqual(["GET /v1/jobs/{id}/events", "DELETE /v1/keys/{id}"]);
  });

  it("gives every operation an id, a summary, tags, examples and its error responses", () => {
    const ids = new Set<string>();
    for (const [name, op] of operationsOf(doc)) {
      expect(op.operationId, name).toMatch(/^\w+$/);
      expect(ids.has(op.operationId), `${name}: duplicate operationId`).toBe(false);
      ids.add(op.operationId);
      expect(op.summary, name).toBeTruthy();
      expect(op.description, name).toBeTruthy();
      expect(op.tags?.length, name).toBeGreaterThan(0);
      expect(Array.isArray(op.security), name).toBe(true);
      const media = [op.requestBody, ...Object.values(op.responses)].flatMap((r: any) =>
        Object.values(r?.content ?? {}),
      ) as any[];
      expect(
        media.some((m) => m.example !== undefined || m.examples !== undefined),
        `${name}: no example`,
      ).toBe(true);
      const source = allOperations.find((o) => o.operationId === op.operationId);
      expect(source, `${name}: no Operation`).toBeDefined();
      for (const [status, codes] of errorStatusesOf(source!)) {
        const r = op.responses[status];
        expect(Object.keys(r.content["application/json"].examples), `${name} ${status}`).toEqual(codes);
        for (const code of codes) expect(r.description, `${name} ${status}`).toContain(`\`${code}\``);
      }
    }
  });

  it("has examples that parse with their own schemas", () => {
    for (const op of allOperations) {
      for (const [status, reply] of Object.entries(op.responses)) {
        const example = reply.example ?? (reply.schema && reply.schema.meta()?.example);
        if (reply.schema && example !== undefined && reply.contentTypes === undefined) {
          expect(() => reply.schema!.parse(example), `${op.operationId} ${status}`).not.toThrow();
        }
      }
      const body = op.body?.meta()?.example;
      if (body !== undefined) expect(() => op.body!.parse(body), op.operationId).not.toThrow();
    }
    for (const [name, op] of operationsOf(doc)) {
      const source = allOperations.find((o) => o.operationId === op.operationId)!;
      expect(source, name).toBeDefined();
      for (const status of errorStatusesOf(source).keys()) {
        const { examples } = op.responses[status].content["application/json"];
        for (const ex of Object.values(examples) as any[]) errorSchemaOf(source, status).parse(ex.value);
      }
    }
  });

  it("documents the edits route as multipart/form-data, and the public URL as its server", async () => {
    const edits = doc.paths["/v1/images/edits"]!.post;
    expect(Object.keys(edits.requestBody.content)).toEqual(["multipart/form-data"]);
    expect(edits.requestBody.content["multipart/form-data"].schema.properties.image.format).toBe("binary");
    expect(edits.responses["400"].content["application/json"].examples.missing_prompt.value.error).toEqual({
      message: "The prompt field is required",
      type: "invalid_request_error",
      param: "prompt",
      code: "missing_prompt",
    });
    expect((doc as any).servers).toBeUndefined();
    const other = await startTestServer({ env: { ZEKRON_PUBLIC_URL: "https://images.example.com" } });
    try {
      const body = (await (await fetch(`${other.url}/openapi.json`)).json()) as any;
      expect(body.servers).toEqual([{ url: "https://images.example.com" }]);
    } finally {
      await other.stop();
    }
  });

  it("renders the reference at /docs from assets served here, with no CDN", async () => {
    const res = await fetch(`${srv.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    const assets = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith("swagger-ui-bundle.js"))).toBe(true);
    expect(assets.some((a) => a.endsWith("swagger-ui.css"))).toBe(true);
    for (const asset of assets) {
      expect(asset, "an asset from elsewhere").not.toMatch(/^(https?:)?\/\//);
      const got = await fetch(new URL(asset, `${srv.url}/docs/`));
      expect(`${asset} ${got.status}`).toBe(`${asset} 200`);
      expect((await got.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
    const spec = await fetch(`${srv.url}/docs/json`);
    expect(spec.status).toBe(200);
    expect(await spec.json()).toEqual(doc);
  });

  describe("drift guard: real answers parse with the documented schemas", () => {
    const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
      srv.api(key, method, path, body, headers);

    it("generation, account, models and images", async () => {
      const gen = await expectDocumented(
        await api("POST", "/v1/generate", { prompt: "A red bicycle", size: "256x256" }),
        generateOps.generate,
        200,
      );
      await expectDocumented(
        await api(
          "POST",
          "/v1/generate",
          { prompt: "A blue bicycle", size: "256x256" },
          { "X-Zekron-Store": "0" },
        ),
        generateOps.generate,
        200,
      );
      const edit = await api("POST", "/v1/generate", {
        prompt: "Make it winter",
        size: "256x256",
        images: [{ data: (await samplePng()).toString("base64"), mime_type: "image/png" }],
      });
      expect((await expectDocumented(edit, generateOps.generate, 200)).data.type).toBe("edit");
      await expectDocumented(await api("POST", "/v1/generate", { prompt: "  " }), generateOps.generate, 400);
      await expectDocumented(await api("POST", "/v1/generate", "{nope"), generateOps.generate, 400);
      const preview = await api("POST", "/api/v1/zekron-image-1:image-preview", {
        prompt: "A city at night",
        options: { size: "256x256" },
      });
      await expectDocumented(preview, previewOps.preview, 200);

      const image = await api("GET", `/v1/images/${gen.data.token}`);
      expect(image.status).toBe(200);
      expect(imageOps.get.responses[200].contentTypes).toContain(image.headers.get("content-type"));
      await expectDocumented(await api("GET", "/v1/images/nope"), imageOps.get, 404);

      await expectDocumented(await api("GET", "/v1/balance"), accountOps.balance, 200);
      await expectDocumented(await fetch(`${srv.url}/v1/balance`), accountOps.balance, 401);
      const history = await expectDocumented(
        await api("GET", "/v1/generations?limit=10"),
        accountOps.generations,
        200,
      );
      expect(history.data.generations.length).toBeGreaterThanOrEqual(3);
      await expectDocumented(await api("GET", "/v1/generations?limit=500"), accountOps.generations, 400);
      await expectDocumented(await api("GET", "/v1/usage"), accountOps.usage, 200);
      await expectDocumented(await api("GET", "/v1/models"), modelOps.list, 200);
      await expectDocumented(await api("GET", "/v1/models/zekron-flash"), modelOps.get, 200);
      await expectDocumented(await api("GET", "/v1/models/nope"), modelOps.get, 404);
    });

    it("jobs", async () => {
      const accepted = await expectDocumented(
        await api("POST", "/v1/images/generate", { prompt: "A neon alley", width: 256, height: 256 }),
        jobOps.submit,
        202,
      );
      let job = await expectDocumented(await api("GET", `/v1/jobs/${accepted.job_id}`), jobOps.get, 200);
      for (let i = 0; i < 100 && job.status !== "completed"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        job = await expectDocumented(await api("GET", `/v1/jobs/${accepted.job_id}`), jobOps.get, 200);
      }
      expect(job.status).toBe("completed");
      expect(job.result_url).toMatch(/signature=/);
      const waited = await api(
        "POST",
        "/v1/images/generate",
        { prompt: "A quiet harbour", width: 256, height: 256 },
        { Prefer: "wait=30" },
      );
      await expectDocumented(waited, jobOps.submit, 200);
      const list = await expectDocumented(await api("GET", "/v1/jobs?limit=1"), jobOps.list, 200);
      expect(list.next_cursor).toEqual(expect.any(String));
      await expectDocumented(await api("GET", "/v1/jobs?status=done"), jobOps.list, 400);
      await expectDocumented(await api("GET", "/v1/jobs/job_nope"), jobOps.get, 404);
      await expectDocumented(await api("DELETE", `/v1/jobs/${accepted.job_id}`), jobOps.cancel, 204);
    });

    it("webhooks", async () => {
      let receiver: Receiver | undefined;
      try {
        receiver = await startReceiver((_req, res) => res.writeHead(204).end());
        const created = await expectDocumented(
          await api("POST", "/v1/webhooks", { url: `${receiver.url}/hook`, events: ["job.completed"] }),
          webhookOps.create,
          201,
        );
        await expectDocumented(await api("POST", "/v1/webhooks", { url: 42 }), webhookOps.create, 400);
        await expectDocumented(await api("GET", "/v1/webhooks"), webhookOps.list, 200);
        await expectDocumented(
          await api("POST", "/v1/webhooks/default/secret"),
          webhookOps.defaultSecret,
          201,
        );
        const test = await expectDocumented(
          await api("POST", `/v1/webhooks/${created.id}/test`),
          webhookOps.test,
          200,
        );
        expect(test.ok).toBe(true);
        await expectDocumented(
          await api("GET", `/v1/webhooks/${created.id}/deliveries`),
          webhookOps.deliveries,
          200,
        );
        await expectDocumented(await api("DELETE", `/v1/webhooks/${created.id}`), webhookOps.delete, 204);
        await expectDocumented(await api("DELETE", `/v1/webhooks/${created.id}`), webhookOps.delete, 404);
      } finally {
        await receiver?.close();
      }
    });

    it("keys", async () => {
      const { key: own } = await srv.tenant("1.00");
      const call = (method: string, path: string, body?: unknown, as = own) =>
        srv.api(as, method, path, body);
      await expectDocumented(await call("GET", "/v1/keys"), keyOps.list, 200);
      const made = await expectDocumented(
        await call("POST", "/v1/keys", { name: "ci", scopes: ["read"] }),
        keyOps.create,
        201,
      );
      await expectDocumented(await call("POST", "/v1/keys", { scopes: ["nope"] }), keyOps.create, 400);
      const readOnly = made.data.api_key as string;
      await expectDocumented(
        await call("POST", "/v1/generate", { prompt: "x" }, readOnly),
        generateOps.generate,
        403,
      );
      await expectDocumented(await call("GET", "/v1/keys", undefined, readOnly), keyOps.list, 403);
      const rotated = await expectDocumented(
        await call("POST", "/v1/keys/rotate", { grace_seconds: 60 }),
        keyOps.rotate,
        201,
      );
      // In its grace the old key no longer manages keys: its replacement does.
      const successor = rotated.data.api_key as string;
      await expectDocumented(
        await call("DELETE", `/v1/keys/${made.data.key.id}`, undefined, successor),
        keyOps.revoke,
        204,
      );
    });

    it("administration", async () => {
      const created = await expectDocumented(
        await srv.admin("POST", "/admin/v1/tenants", { name: "Acme", balance: "25.00" }),
        adminOps.createTenant,
        201,
      );
      const id = created.data.tenant.id as string;
      await expectDocumented(
        await srv.admin("POST", "/admin/v1/tenants", { name: "" }),
        adminOps.createTenant,
        400,
      );
      await expectDocumented(await srv.admin("GET", `/admin/v1/tenants/${id}`), adminOps.getTenant, 200);
      await expectDocumented(await srv.admin("GET", "/admin/v1/tenants/ten_nope"), adminOps.getTenant, 404);
      await expectDocumented(await srv.admin("GET", "/admin/v1/tenants?limit=2"), adminOps.list, 200);
      await expectDocumented(
        await srv.admin("PATCH", `/admin/v1/tenants/${id}`, { daily_image_allowance: 500 }),
        adminOps.patchTenant,
        200,
      );
      await expectDocumented(
        await srv.admin("POST", `/admin/v1/tenants/${id}/credits`, { amount: "5.00" }),
        adminOps.credit,
        200,
      );
      const added = await expectDocumented(
        await srv.admin("POST", `/admin/v1/tenants/${id}/keys`),
        adminOps.addKey,
        201,
      );
      await expectDocumented(
        await srv.admin("DELETE", `/admin/v1/tenants/${id}/keys/${added.data.key.id}`),
        adminOps.revokeKey,
        204,
      );
      await expectDocumented(await srv.admin("GET", "/admin/v1/engines?probe=1"), adminOps.engines, 200);
      await expectDocumented(await api("GET", "/admin/v1/engines"), adminOps.engines, 403);
    });

    it("operations", async () => {
      await expectDocumented(await fetch(`${srv.url}/healthz`), healthOps.healthz, 200);
      await expectDocumented(await fetch(`${srv.url}/readyz`), healthOps.readyz, 200);
      await expectDocumented(await fetch(`${srv.url}/openapi.json`), healthOps.openapi, 200);
    });

    it("the OpenAI-compatible routes, in OpenAI's envelopes", async () => {
      await expectDocumented(
        await api("POST", "/v1/images/generations", { prompt: "A watercolor fox", size: "256x256" }),
        openaiOps.generations,
        200,
      );
      await expectDocumented(
        await api("POST", "/v1/images/generations", { n: 2 }),
        openaiOps.generations,
        400,
      );
      const form = new FormData();
      form.append("prompt", "Make it winter");
      form.append("size", "256x256");
      form.append("response_format", "url");
      form.append("image", new Blob([new Uint8Array(await samplePng())], { type: "image/png" }), "in.png");
      const edit = await fetch(`${srv.url}/v1/images/edits`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}` },
        body: form,
      });
      const body = await expectDocumented(edit, openaiOps.edits, 200);
      expect(body.data[0].url).toMatch(/signature=/);
      const noImage = new FormData();
      noImage.append("prompt", "Make it winter");
      await expectDocumented(
        await fetch(`${srv.url}/v1/images/edits`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}` },
          body: noImage,
        }),
        openaiOps.edits,
        400,
      );
    });
  });
});
