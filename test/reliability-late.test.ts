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

/**
 * Delivered vs the truth: every record received in [from, cursor) that was visible `settle` minutes before the
 * end must be delivered (re-scans of older history run every few hours, so a record that turned visible in
 * the last hours may still be waiting for its band), none twice, and nothing that is not visible by the end.
 */
function check(from: number, run: { delivered: string[]; cursor?: string; end?: number }, settle = 0) {
  const cursor = Date.parse(run.cursor!);
  const end = run.end!;
  sim.setNow(end - settle * MIN);
  const settled = truthIds(sim.truth(new Date(from), new Date(cursor), { visibleOnly: true }));
  sim.setNow(end);
  const visible = truthIds(sim.truth(new Date(from), new Date(cursor), { visibleOnly: true }));
  const r = compare(settled, run.delivered);
  return { expected: settled.length, lost: r.lost, duplicates: r.duplicates, extra: compare(visible, run.delivered).extra };
}
/** The planner's oldest band is re-read every 4 hours: allow that plus two cycles for a record to be found. */
const SETTLE = 240 + 60;

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
    const to = T0 + SPAN + (LAG + 60) * MIN;
    const run = { ...(await driveCycles(sim, config, { from: T0 + STEP, to, step: STEP, restartEvery: 5 })), end: to };
    const r = check(T0, run, SETTLE);
    expect(r.expected).toBeGreaterThan(2000);
    expect({ lost: r.lost, duplicates: r.duplicates, extra: r.extra }).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    expect(run.delivered.length).toBeGreaterThanOrEqual(r.expected);
    // Only the newest `lag` of history can still hold records that are not visible yet.
    const cursor = Date.parse(run.cursor!);
    expect(sim.truth(new Date(T0), new Date(cursor - LAG * MIN)).length).toBe(
      sim.truth(new Date(T0), new Date(cursor - LAG * MIN), { visibleOnly: true }).length,
    );
    expect(findSecrets(run.stdout + run.logs.join(""), [sim.clientSecret])).toEqual([]);

    // Bounded state: the dedupe set holds only identities the re-scan bands can still meet: the horizon,
    // plus the oldest band's period (4 h) and two cycles, plus a window and the cursor's last step (and the
    // minute bucket edge); rows first seen with a provisional status (pending, gettingStatus) add a marker.
    const store = new StateStore(config.state_dir, config.tenant_id, config.source.type);
    const { seen } = store.load();
    const keep = LAG + 30 + 240 + 2 * 30 + 30 + 30 + 1;
    const inWindow = sim.truth(new Date(cursor - keep * MIN), new Date(cursor));
    const inHorizon = inWindow.length + inWindow.filter((t) => /^(pending|gettingstatus)$/i.test(t.status)).length;
    expect(seen.size).toBeGreaterThan(0);
    expect(seen.size).toBeLessThanOrEqual(inHorizon);
    // ≈ 12 bytes per identity plus bucket keys; far below the ~2 KB per record of the output.
    expect(statSync(store.file).size).toBeLessThan(seen.size * 14 + 20 * keep + 1024);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
  });

  it("re-scan every 3rd cycle with a horizon of lag + 3 cycles: still exact", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, { ...base, start: new Date(T0).toISOString(), rescan: { horizon: LAG + 90, every: 3 } });
    // 33 cycles: the last one re-scans, so everything visible at the end has been looked at.
    const to = T0 + SPAN + (LAG + 150) * MIN;
    const run = { ...(await driveCycles(sim, config, { from: T0 + STEP, to, step: STEP })), end: to };
    const r = check(T0, run, SETTLE + 90);
    expect({ lost: r.lost, duplicates: r.duplicates, extra: r.extra }).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });

  it("without `start` (cursor begins at now − delay − window) the re-scan still covers the horizon", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, { ...base, rescan: { horizon: LAG + 30, every: 1 } });
    const first = T0 + 4 * HOUR;
    const to = first + SPAN + (LAG + 60) * MIN;
    const run = { ...(await driveCycles(sim, config, { from: first, to, step: STEP, restartEvery: 7 })), end: to };
    const r = check(first - 30 * MIN, run, SETTLE);
    expect({ lost: r.lost, duplicates: r.duplicates, extra: r.extra }).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });

  it("control: without re-scan the late records are lost (the check above can fail)", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, { ...base, start: new Date(T0).toISOString(), rescan: { horizon: 0, every: 1 } });
    const to = T0 + SPAN + (LAG + 60) * MIN;
    const run = { ...(await driveCycles(sim, config, { from: T0 + STEP, to, step: 2 * STEP })), end: to };
    const r = check(T0, run, SETTLE);
    expect(r.duplicates).toBe(0);
    expect(r.lost).toBeGreaterThan(100);
  });
});
