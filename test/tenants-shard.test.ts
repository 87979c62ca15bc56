// Issue 17: tenants spread over replicas by rendezvous hashing. Every tenant has exactly one owner, growing
// from 3 to 4 replicas moves about a quarter of them (only to the new replica), and moving the moved
// tenants' state directories to their new owner loses and doubles nothing.
import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFleet } from "../src/config/tenants.js";
import { TenantFleet } from "../src/fleet/fleet.js";
import { ownerOf, owns } from "../src/fleet/shard.js";
import { createLogger } from "../src/log/logger.js";
import { startSimFleet, type SimFleet } from "../src/sim/index.js";
import { writeFleetConfig } from "./helpers/fleet-config.js";
import { compare, HOUR, recordIds, tempDir, truthIds } from "./helpers/harness.js";

const names = (n: number) => Array.from({ length: n }, (_, i) => `tenant-${i}.onmicrosoft.com`);

describe("rendezvous shards", () => {
  it("every tenant is owned by exactly one of count replicas", () => {
    for (const count of [1, 2, 3, 4, 5, 7, 16]) {
      for (const t of names(300)) {
        const owners = Array.from({ length: count }, (_, index) => owns({ index, count }, t)).filter(Boolean).length;
        expect(owners).toBe(1);
      }
      // And the load is spread: no replica gets more than twice its share.
      const load = new Array(count).fill(0);
      for (const t of names(1000)) load[ownerOf(t, count)]++;
      expect(Math.max(...load)).toBeLessThan((2 * 1000) / count);
    }
  });

  it("3 → 4 replicas moves about a quarter of the tenants, all to the new replica", () => {
    const all = names(2000);
    const moved = all.filter((t) => ownerOf(t, 3) !== ownerOf(t, 4));
    expect(moved.length / all.length).toBeGreaterThan(0.2);
    expect(moved.length / all.length).toBeLessThan(0.3);
    for (const t of moved) expect(ownerOf(t, 4)).toBe(3);
  });
});

describe("changing the replica count with state directories moved", () => {
  const N = 8;
  const T0 = Date.UTC(2026, 10, 20, 6, 0, 0);
  let sims: SimFleet;
  beforeAll(async () => {
    sims = await startSimFleet(
      Array.from({ length: N }, (_, i) => ({
        seed: 300 + i,
        ratePerHour: 60,
        tenantId: `00000000-0000-4000-8000-${String(3000 + i).padStart(12, "0")}`,
        organization: `shard${i}.onmicrosoft.com`,
        apps: [{ clientId: `11111111-2222-4333-8444-${String(4000 + i).padStart(12, "0")}`, clientSecret: `s-${i}` }],
      })),
    );
  }, 60_000);
  afterAll(async () => {
    await sims?.close();
  });

  it("loses and doubles nothing", async () => {
    const dir = tempDir();
    const file = writeFleetConfig(dir, sims, {
      start: T0,
      shared: { state_dir: "${STATE}" },
      tenant: (_s, i) => ({
        name: `tenant-${i}`,
        auth: { client_id: `11111111-2222-4333-8444-${String(4000 + i).padStart(12, "0")}`, client_secret: `s-${i}` },
      }),
    });
    let text = "";
    // One replica: its own state volume (state-r<index>), its share of the tenants, one cycle.
    const replica = async (index: number, count: number, now: number) => {
      const env = { STATE: join(dir, `state-r${index}`), O365_SHARD_INDEX: String(index), O365_SHARD_COUNT: String(count) };
      const fleet = loadFleet(file, { env });
      const out = new PassThrough();
      out.on("data", (c: Buffer) => (text += c.toString("utf8")));
      const tf = new TenantFleet(fleet, { logger: createLogger({ level: "error", write: () => {} }), clock: () => now, stdout: out });
      const outcomes = await tf.runOnce();
      await tf.close();
      expect(outcomes.every((o) => o.ok)).toBe(true);
      return fleet.tenants.map((t) => t.name);
    };
    const before: string[][] = [];
    for (let i = 0; i < 3; i++) before.push(await replica(i, 3, T0 + HOUR));
    expect(before.flat().sort()).toEqual(sims.sims.map((_, i) => `tenant-${i}`).sort());
    // The runbook: stop, move each moved tenant's directory to its new owner's volume, start with count 4.
    let moved = 0;
    for (let i = 0; i < N; i++) {
      const from = ownerOf(`tenant-${i}`, 3);
      const to = ownerOf(`tenant-${i}`, 4);
      if (from === to) continue;
      mkdirSync(join(dir, `state-r${to}`), { recursive: true });
      renameSync(join(dir, `state-r${from}`, `tenant-${i}`), join(dir, `state-r${to}`, `tenant-${i}`));
      moved++;
    }
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThanOrEqual(N / 2);
    for (let i = 0; i < 4; i++) await replica(i, 4, T0 + 2 * HOUR);

    const byTenant = new Map<string, Array<Record<string, unknown>>>();
    for (const line of text.split("\n").filter(Boolean)) {
      const r = JSON.parse(line) as Record<string, unknown>;
      byTenant.set(String(r["o365.message.tenant_id"]), [...(byTenant.get(String(r["o365.message.tenant_id"])) ?? []), r]);
    }
    for (const s of sims.sims) {
      const truth = truthIds(s.truth(new Date(T0), new Date(T0 + 2 * HOUR)));
      expect(compare(truth, recordIds(byTenant.get(s.tenantId) ?? []))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    }
  }, 120_000);
});
