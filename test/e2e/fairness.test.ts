import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { GatedEngine } from "../helpers/engines.js";

describe("fair scheduling across tenants", () => {
  let srv: TestServer;
  const engine = new GatedEngine();
  beforeAll(async () => {
    srv = await startTestServer({ engine });
  });
  afterAll(async () => {
    engine.release();
    await srv.stop();
  });

  it("a tenant's single job starts among the next few, not after another tenant's 200", async () => {
    const a = await srv.tenant("50.00", { max_concurrent: 1000 });
    const b = await srv.tenant("1.00");
    for (let i = 0; i < 200; i++) {
      const r = await srv.api(a.key, "POST", "/v1/images/generate", {
        prompt: `a-${i}`,
        width: 256,
        height: 256,
      });
      expect(r.status).toBe(202);
    }
    const r = await srv.api(b.key, "POST", "/v1/images/generate", {
      prompt: "b-only",
      width: 256,
      height: 256,
    });
    expect(r.status).toBe(202);
    engine.release();
    await expect.poll(() => engine.order.includes("b-only"), { timeout: 20_000 }).toBe(true);
    const position = engine.order.indexOf("b-only");
    // The workers (2) were busy with A's first jobs; B's job is next in turn.
    expect(position).toBeLessThanOrEqual(3);
    await expect
      .poll(
        async () =>
          (
            await srv.services.db.kysely
              .selectFrom("jobs")
              .select("id")
              .where("status", "in", ["queued", "running"])
              .execute()
          ).length,
        {
          timeout: 60_000,
        },
      )
      .toBe(0);
  });
});
