// Issue 19: dedupe memory is bounded by a small cap, not by the window or the volume. With a tiny cap (4 KB,
// two or three ten-minute segments of this traffic) nearly every minute of identities lives on disk and
// comes back only when a read reaches it. Delivery must still be exact against the simulator's truth: a long
// window read once, then cycles whose re-scans find late rows in spilled minutes, restarts (state file +
// journal + spill files), and a failure late in a long window (the journal replayed under the cap).
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { captureRuntime, compare, HOUR, recordIds, simConfig, tempDir, truthIds } from "./helpers/harness.js";
import { driveCycles, failingAfter, MIN } from "./helpers/reliability.js";

const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const LAG = 90; // minutes
const TINY = { dedupeMemoryBytes: 4 * 1024 };
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ seed: 19, ratePerHour: 240, maxRecipients: 3, late: { fraction: 0.2, maxLagMinutes: LAG } });
});
afterAll(async () => {
  await sim?.close();
});

const base = {
  delay: 0,
  page_size: 50,
  dedupe: true,
  rescan: { horizon: LAG + 30, every: 1 },
  request_budget: { limit: 100000, window_seconds: 1 },
};

/** Segment files beside the state file, and the minutes the state file itself holds. */
function spillShape(stateDir: string, tenant: string) {
  const seenDir = readdirSync(stateDir).find((f) => f.endsWith(".seen"));
  const segments = seenDir ? readdirSync(`${stateDir}/${seenDir}`).filter((f) => f.endsWith(".seg")).length : 0;
  const stateFile = readdirSync(stateDir).find((f) => f.startsWith(tenant) && f.endsWith(".state.json"));
  const resident = Object.keys(JSON.parse(readFileSync(`${stateDir}/${stateFile}`, "utf8")).seen ?? {}).length;
  return { segments, resident };
}

describe("dedupe under a tiny identity budget (spilling on every page)", () => {
  it("a 12 h window read once, then cycles with re-scans and restarts: exact against the truth", async () => {
    const dir = tempDir();
    const start = new Date(T0).toISOString();
    // Phase 1: one long window, newest first (a `once` over half a day).
    const long = simConfig(sim, dir, { ...base, start, window: 720, max_windows_per_run: 1 });
    const first = await driveCycles(sim, long, { from: T0 + 12 * HOUR, to: T0 + 12 * HOUR, step: 1, collector: TINY });
    expect(first.cursor).toBe(new Date(T0 + 12 * HOUR).toISOString());
    const spilled = spillShape(long.state_dir, long.tenant_id);
    expect(spilled.segments).toBeGreaterThan(50);
    expect(spilled.resident).toBeLessThan(30);

    // Phase 2: 30-minute windows; every cycle re-reads the horizon (its minutes are mostly on disk), restarts.
    const short = simConfig(sim, dir, { ...base, start, window: 30, max_windows_per_run: 4 });
    const to = T0 + 12 * HOUR + (LAG + 90) * MIN;
    const rest = await driveCycles(sim, short, { from: T0 + 12 * HOUR + 30 * MIN, to, step: 30 * MIN, restartEvery: 2, collector: TINY });
    const delivered = [...first.delivered, ...rest.delivered];
    const cursor = Date.parse(rest.cursor!);

    // Everything received before the cursor and visible an hour before the end is delivered once; nothing
    // that is not visible at the end is delivered at all.
    sim.setNow(to - 60 * MIN);
    const settled = truthIds(sim.truth(new Date(T0), new Date(cursor), { visibleOnly: true }));
    sim.setNow(to);
    const visible = truthIds(sim.truth(new Date(T0), new Date(cursor), { visibleOnly: true }));
    const r = compare(settled, delivered);
    expect(settled.length).toBeGreaterThan(4000);
    expect({ lost: r.lost, duplicates: r.duplicates, extra: compare(visible, delivered).extra }).toEqual({
      lost: 0,
      duplicates: 0,
      extra: 0,
    });
    // The re-scans found late rows of the long window, in minutes that were on disk when they were read.
    const inLong = new Set(truthIds(sim.truth(new Date(T0), new Date(T0 + 12 * HOUR))));
    const lateInLong = rest.delivered.filter((id) => inLong.has(id));
    expect(lateInLong.length).toBeGreaterThan(50);
    expect(spillShape(short.state_dir, short.tenant_id).resident).toBeLessThan(30);
  });

  it("a failure late in a long window: the journal replays under the budget, at most one page re-sent, none lost", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, { ...base, start: new Date(T0).toISOString(), window: 720, max_windows_per_run: 1 });
    const now = T0 + 12 * HOUR;
    sim.setNow(now);
    // Most of the window is delivered (and journaled, page by page) before the receiver dies.
    const a = captureRuntime(config, sim, { clock: () => now, wrapSink: failingAfter(4000) }, TINY);
    try {
      await expect(a.rt.collector.runCycle()).rejects.toThrow(/receiver died/);
    } finally {
      await a.rt.close();
    }
    const b = captureRuntime(config, sim, { clock: () => now }, TINY);
    try {
      await b.rt.collector.runCycle();
    } finally {
      await b.rt.close();
    }
    const delivered = [...recordIds(a.records()), ...recordIds(b.records())];
    const truth = truthIds(sim.truth(new Date(T0), new Date(now), { visibleOnly: true }));
    const r = compare(truth, delivered);
    expect(a.records()).toHaveLength(4000);
    expect(truth.length).toBeGreaterThan(4500);
    expect({ lost: r.lost, extra: r.extra }).toEqual({ lost: 0, extra: 0 });
    expect(r.duplicates).toBeLessThanOrEqual(base.page_size);
  });
});
