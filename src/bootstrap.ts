import type { Services } from "./services.js";
import { MICROS_PER_DOLLAR } from "./domain/money.js";

export interface DemoTenant {
  tenantId: string;
  apiKey: string;
}

/** On a first start with no tenants: a demo tenant with $10.00 and a key, so the API can be tried at once. */
export async function ensureDemoTenant(s: Services): Promise<DemoTenant | null> {
  if (!s.config.demoTenant || (await s.tenants.count()) > 0) return null;
  const now = s.clock.now();
  const tenant = await s.tenants.create("Demo", 10 * MICROS_PER_DOLLAR, now);
  const { key } = await s.tenants.createKey(tenant.id, { name: "demo" }, now);
  return { tenantId: tenant.id, apiKey: key };
}

/** Printed to the terminal, never through the logger: it holds secrets that must stay out of log files. */
export function banner(url: string, adminToken: string, demo: DemoTenant | null, showAdmin: boolean): string {
  const lines = ["", `Zekron is listening on ${url}`];
  if (showAdmin) lines.push(`Admin token (kept in the data dir): ${adminToken}`);
  if (demo) {
    lines.push(
      `Demo tenant ${demo.tenantId} with $10.00. Its API key (shown once): ${demo.apiKey}`,
      "Try it:",
      `  curl -s ${url}/v1/generate -H "Authorization: Bearer ${demo.apiKey}" -H "Content-Type: application/json" -d '{"prompt":"A serene mountain landscape at golden hour","size":"512x512"}' -o response.json && head -c 300 response.json; echo`,
      `  curl -s ${url}/v1/balance -H "Authorization: Bearer ${demo.apiKey}"; echo`,
    );
  }
  return lines.join("\n") + "\n\n";
}
