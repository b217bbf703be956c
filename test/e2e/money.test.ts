import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { DIALECTS } from "../helpers/db.js";
import { ledgerSums } from "../../src/domain/ledger.js";
import { priceOf, DEFAULT_MODELS } from "../../src/domain/catalog.js";
import { formatMoney } from "../../src/domain/money.js";

describe.each(DIALECTS)("money under concurrency on %s", (dialect) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ dialect });
  });
  afterAll(() => srv.stop());

  it("100 concurrent generations on a balance for exactly 10: 10 succeed, balance ends at 0, ledger sums match", async () => {
    const prompt = "a tiny red robot";
    const price = priceOf(DEFAULT_MODELS[0]!, { width: 256, height: 256, prompt, edit: false });
    const t = await srv.tenant(formatMoney(price * 10), { max_concurrent: 1000 });
    const results = await Promise.all(
      Array.from({ length: 100 }, () => srv.api(t.key, "POST", "/v1/generate", { prompt, size: "256x256" })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 402)).toHaveLength(90);
    const bodies = await Promise.all(
      results.map((r) => r.json() as Promise<{ data?: { remaining_balance: string } }>),
    );
    for (const b of bodies) if (b.data) expect(Number(b.data.remaining_balance)).toBeGreaterThanOrEqual(0);

    const tenant = (await srv.services.tenants.get(t.id))!;
    expect(tenant).toMatchObject({ available: 0, held: 0, total_spent: price * 10, total_generations: 10 });
    expect(await ledgerSums(srv.services.db.kysely, t.id)).toEqual({ available: 0, held: 0 });
    const bal = (await (await srv.api(t.key, "GET", "/v1/balance")).json()) as { data: { balance: string } };
    expect(bal.data.balance).toBe("0.0000");
  });

  it("40 concurrent job submissions on a daily allowance of 3: exactly 3 are accepted and held", async () => {
    const t = await srv.tenant("10.00", { daily_image_allowance: 3, max_concurrent: 1000 });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        srv.api(t.key, "POST", "/v1/images/generate", { prompt: `a kite ${i}`, width: 256, height: 256 }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(37);
    const jobs = await srv.services.db.kysely
      .selectFrom("jobs")
      .select("id")
      .where("tenant_id", "=", t.id)
      .execute();
    expect(jobs).toHaveLength(3);
  });
});
