// Issue 5: late-arriving records. The simulator delays 20 % of records by up to 6 hours; a collector that
// re-scans a horizon covering that delay and dedupes by (trace_id, recipient) must deliver exactly the
// truth, cycle by cycle, across restarts, with a bounded state file. Without re-scan it must lose records
// (proof that this test can fail).
import { statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../src/cursor/store.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { compare, HOUR, simConfig, tempDir, truthIds } from "./helpers/harness.js";
import { driveCycles, findSecrets, MIN } from "./helpers/reliability.js";

const LAG = 6 * 60; // minutes
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const SPAN = 8 * HOUR;
const STEP = 30 * MIN; // one cycle per window
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ seed: 21, ratePerHour: 120, maxRecipients: 3, late: { fraction: 0.2, maxLagMinutes: LAG } });
});
afterAll(async () => {
  await sim?.close();
});

/** Delivered vs the truth visible at the end: every record received in [from, cursor) that exists by now. */
function check(from: number, run: { delivered: string[]; cursor?: string }) {
  const cursor = Date.parse(run.cursor!);
  const visible = truthIds(sim.truth(new Date(from), new Date(cursor), { visibleOnly: true }));
  return { expected: visible.length, ...compare(visible, run.delivered) };
}

describe("late arrivals: re-scan + persisted dedupe", () => {
  const base = {
    window: 30,
    delay: 0,
    page_size: 100,
    max_windows_per_run: 100,
    dedupe: true,
    request_budget: { limit: 100000, window_seconds: 1 },
  };

  it("delivers exactly the truth with rescan covering the lag (every cycle), across restarts", async () => {
    const dir = tempDir();
    // A record received at t and visible at t+lag is first seen by the first cycle after t+lag, whose
    // cursor is at most one cycle later: the horizon must cover lag + one cycle.
    const config = simConfig(sim, dir, { ...base, start: new Date(T0).toISOString(), rescan: { horizon: LAG + 30, every: 1 } });
    const run = await driveCycles(sim, config, { from: T0 + STEP, to: T0 + SPAN + (LAG + 60) * MIN, step: STEP, restartEvery: 5 });
    const r = check(T0, run);
    expect(r.expected).toBeGreaterThan(2000);
    expect({ lost: r.lost, duplicates: r.duplicates, extra: r.extra }).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    expect(run.delivered.length).toBe(r.expected);
    // Only the newest `lag` of history can still hold records that are not visible yet.
    const cursor = Date.parse(run.cursor!);
    expect(sim.truth(new Date(T0), new Date(cursor - LAG * MIN)).length).toBe(
      sim.truth(new Date(T0), new Date(cursor - LAG * MIN), { visibleOnly: true }).length,
    );
    expect(findSecrets(run.stdout + run.logs.join(""), [sim.clientSecret])).toEqual([]);

    // Bounded state: the dedupe set holds only identities inside the horizon (plus the minute bucket edge).
    const store = new StateStore(config.state_dir, config.tenant_id, config.source.type);
    const { seen } = store.load();
    const inHorizon = sim.truth(new Date(cursor - (LAG + 30 + 1) * MIN), new Date(cursor)).length;
    expect(seen.size).toBeGreaterThan(0);
    expect(seen.size).toBeLessThanOrEqual(inHorizon);
    // ≈ 12 bytes per identity plus bucket keys; far below the ~2 KB per record of the output.
    expect(statSync(store.file).size).toBeLessThan(seen.size * 14 + 20 * (LAG + 31) + 1024);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
  });

  it("re-scan every 3rd cycle with a horizon of lag + 3 cycles: still exact", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, { ...base, start: new Date(T0).toISOString(), rescan: { horizon: LAG + 90, every: 3 } });
    // 33 cycles: the last one re-scans, so everything visible at the end has been looked at.
    const run = await driveCycles(sim, config, { from: T0 + STEP, to: T0 + SPAN + (LAG + 150) * MIN, step: STEP });
    const r = check(T0, run);
    expect({ lost: r.lost, duplicates: r.duplicates, extra: r.extra }).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });

  it("without `start` (cursor begins at now − delay − window) the re-scan still covers the horizon", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, { ...base, rescan: { horizon: LAG + 30, every: 1 } });
    const first = T0 + 4 * HOUR;
    const run = await driveCycles(sim, config, { from: first, to: first + SPAN + (LAG + 60) * MIN, step: STEP, restartEvery: 7 });
    const r = check(first - 30 * MIN, run);
    expect({ lost: r.lost, duplicates: r.duplicates, extra: r.extra }).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });

  it("control: without re-scan the late records are lost (the check above can fail)", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, { ...base, start: new Date(T0).toISOString(), rescan: { horizon: 0, every: 1 } });
    const run = await driveCycles(sim, config, { from: T0 + STEP, to: T0 + SPAN + (LAG + 60) * MIN, step: 2 * STEP });
    const r = check(T0, run);
    expect(r.duplicates).toBe(0);
    expect(r.lost).toBeGreaterThan(100);
  });
});
