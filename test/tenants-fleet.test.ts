// Issue 17: twenty simulated tenants in one process. Each tenant's output equals its own truth (0 lost,
// 0 duplicates); a tenant with a wrong secret, one throttled hard and one whose API hangs fail on their own,
// marked unhealthy, without delaying the others; once healed, a tenant catches up on its own schedule.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFleet } from "../src/config/tenants.js";
import { STATUS_FILE, TenantFleet } from "../src/fleet/fleet.js";
import { createLogger } from "../src/log/logger.js";
import { startSimFleet, type SimFleet } from "../src/sim/index.js";
import { writeFleetConfig } from "./helpers/fleet-config.js";
import { compare, HOUR, recordIds, tempDir, truthIds } from "./helpers/harness.js";

const N = 20;
const T0 = Date.UTC(2026, 10, 20, 6, 0, 0);
const SPAN = 2 * HOUR;
const WRONG_SECRET = 0;
const THROTTLED = 1;
const HANGING = 2;
const BAD = new Set([WRONG_SECRET, THROTTLED, HANGING]);

let fleetSim: SimFleet;
const tenantId = (i: number) => `00000000-0000-4000-8000-${String(1000 + i).padStart(12, "0")}`;
const clientId = (i: number) => `11111111-2222-4333-8444-${String(2000 + i).padStart(12, "0")}`;
const secret = (i: number) => `sim-secret-tenant-${i}-Zq8`;

beforeAll(async () => {
  fleetSim = await startSimFleet(
    Array.from({ length: N }, (_, i) => ({
      seed: 100 + i,
      ratePerHour: 40 + 5 * i,
      tenantId: tenantId(i),
      organization: `tenant${i}.onmicrosoft.com`,
      apps: [{ clientId: clientId(i), clientSecret: secret(i) }],
      throttle: i === THROTTLED ? { limit: 2, windowMs: 60_000 } : false,
    })),
  );
}, 60_000);
afterAll(async () => {
  await fleetSim?.close();
});

function fleetConfig(dir: string): { file: string; env: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = {};
  const file = writeFleetConfig(dir, fleetSim, {
    start: T0,
    // Shared defaults for every tenant.
    shared: {
      http: { ca_file: "ca.pem", timeout: 30 },
      retry: { count: 3, backoff: { initial: 0.05, max: 0.2, jitter: 0.2 }, error_retry_span: 1, error_retry_count: 3 },
      log: { level: "warn" },
      tenant_concurrency: 8,
      tenant_cycle_timeout: 25, // well above a healthy cycle on a loaded machine, so "finished before the timeout" means "did not wait"
    },
    tenant: (_sim, i) => {
      env[`O365_SECRET_T${i}`] = i === WRONG_SECRET ? "not-the-secret" : secret(i);
      return { auth: { client_id: clientId(i), client_secret: `\${O365_SECRET_T${i}}` } };
    },
  });
  return { file, env };
}

function byTenant(text: string): Map<string, Array<Record<string, unknown>>> {
  const out = new Map<string, Array<Record<string, unknown>>>();
  for (const line of text.split("\n").filter(Boolean)) {
    const r = JSON.parse(line) as Record<string, unknown>;
    const t = String(r["o365.message.tenant_id"]);
    out.set(t, [...(out.get(t) ?? []), r]);
  }
  return out;
}

describe("20 tenants in one process", () => {
  it("each healthy tenant delivers exactly its truth; the broken ones fail alone and are reported", async () => {
    const dir = tempDir();
    const { file, env } = fleetConfig(dir);
    const fleet = loadFleet(file, { env });
    expect(fleet.multi).toBe(true);
    expect(fleet.tenants.map((t) => t.name)).toEqual(Array.from({ length: N }, (_, i) => `t${i}`));
    expect(fleet.tenants[5]!.config.state_dir).toBe(join(dir, "state", "t5"));

    fleetSim.sims[HANGING]!.inject({ route: "graph", kind: "slow", delayMs: 120_000, count: 1000 });
    const out = new PassThrough();
    let text = "";
    out.on("data", (c: Buffer) => (text += c.toString("utf8")));
    const finished = new Map<string, number>();
    const started = Date.now();
    const tf = new TenantFleet(fleet, {
      logger: createLogger({ level: "error", write: () => {} }),
      clock: () => T0 + SPAN,
      stdout: out,
      onCycle: (t) => finished.set(t, Date.now() - started),
    });
    const outcomes = await tf.runOnce();
    const statuses = tf.statuses();

    expect(
      outcomes
        .filter((o) => !o.ok)
        .map((o) => o.tenant)
        .sort(),
    ).toEqual(["t0", "t1", "t2"]);
    expect(outcomes[WRONG_SECRET]!.error).toMatch(/auth/i);
    expect(outcomes[HANGING]!.error).toMatch(/tenant_cycle_timeout/);
    expect(
      statuses
        .filter((s) => !s.healthy)
        .map((s) => s.tenant)
        .sort(),
    ).toEqual(["t0", "t1", "t2"]);
    expect(JSON.stringify(statuses)).not.toContain("not-the-secret");

    // Healthy tenants: exactly their truth, and none waited for the hanging tenant's timeout.
    const got = byTenant(text);
    for (let i = 0; i < N; i++) {
      const sim = fleetSim.sims[i]!;
      const truth = truthIds(sim.truth(new Date(T0), new Date(T0 + SPAN)));
      const delivered = recordIds(got.get(sim.tenantId) ?? []);
      if (BAD.has(i)) {
        // A failed tenant may have delivered part of its span, but never a record twice or a foreign one.
        expect(compare(truth, delivered).duplicates).toBe(0);
        expect(compare(truth, delivered).extra).toBe(0);
        continue;
      }
      expect(truth.length).toBeGreaterThan(50);
      expect(compare(truth, delivered), `tenant t${i}`).toEqual({ lost: 0, duplicates: 0, extra: 0 });
      expect(finished.get(`t${i}`)!).toBeLessThan(finished.get(`t${HANGING}`)!);
      const status = JSON.parse(readFileSync(join(dir, "state", `t${i}`, STATUS_FILE), "utf8"));
      expect(status).toMatchObject({ tenant: `t${i}`, healthy: true, cursor: new Date(T0 + SPAN).toISOString() });
    }
    expect(existsSync(join(dir, "state", "t1", STATUS_FILE))).toBe(true);

    // Healed: the hanging tenant catches up on its next turn, from where it stood, without duplicates.
    fleetSim.sims[HANGING]!.clearFaults();
    text = "";
    const again = await tf.runOnce();
    await tf.close();
    expect(again.find((o) => o.tenant === `t${HANGING}`)!.ok).toBe(true);
    const hang = fleetSim.sims[HANGING]!;
    const all = recordIds([...(got.get(hang.tenantId) ?? []), ...(byTenant(text).get(hang.tenantId) ?? [])]);
    expect(compare(truthIds(hang.truth(new Date(T0), new Date(T0 + SPAN))), all)).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    // Healthy tenants had nothing new: nothing sent twice.
    for (let i = 3; i < N; i++) expect(byTenant(text).get(fleetSim.sims[i]!.tenantId)).toBeUndefined();
  }, 120_000);
});
