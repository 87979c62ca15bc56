// Issue 14: complete and fresh by default. Against the simulator's truth, time-scaled (the simulated clock
// moves 5 minutes per cycle, the default `frequency`), with the field lateness model (most rows within
// minutes, a tail to 24 hours) and the tenant's real throttle (100 requests per 5-minute running window,
// counted on the simulated clock): the default configuration loses nothing that turns visible within 24 hours,
// delivers nothing twice, never sees a 429, across restarts and a kill -9. With a budget too small for the
// horizon, the youngest history is covered first and the coverage metric and log line say how much.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../src/cursor/store.js";
import { PromMetrics } from "../src/metrics/prometheus.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import {
  captureRuntime,
  compare,
  HOUR,
  parseNdjson,
  recordIds,
  simConfig,
  simConfigInput,
  tempDir,
  truthIds,
  writeConfig,
} from "./helpers/harness.js";
import { captureLogger, driveCycles, MIN, onceProcess } from "./helpers/reliability.js";

const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const CYCLE = 5 * MIN;
/** The defaults under test, restored over the harness's test-friendly overrides (no budget, delay 0, 15-minute windows). */
const DEFAULTS = { request_budget: { limit: 100, window_seconds: 300 }, delay: 5, window: 5, page_size: 500 };
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({
    seed: 14,
    ratePerHour: 60,
    maxRecipients: 3,
    lateness: { model: "field" },
    throttle: { limit: 100, windowMs: 300_000 },
    throttleClock: "sim",
  });
});
afterAll(async () => {
  await sim?.close();
});

describe("default configuration with lateness up to 24 h", () => {
  it("0 lost, 0 duplicates, 0 responses of 429 over 30 simulated hours, across restarts and a kill -9", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, { ...DEFAULTS, log: { level: "info" } });
    expect(config.rescan.horizon).toBe(1440);
    const throttled0 = sim.stats().throttled;
    const first = T0 + 10 * MIN;
    const crashAt = first + 10 * HOUR;
    const end = first + 30 * HOUR;
    // 10 hours of cycles (a restart every 40), a `once` killed in the middle of its re-scan, then 20 hours more.
    const before = await driveCycles(sim, config, { from: first, to: crashAt - CYCLE, step: CYCLE, restartEvery: 40 });
    const file = writeConfig(dir, simConfigInput(sim, dir, { ...DEFAULTS, log: { level: "debug" } }));
    sim.setNow(crashAt);
    const crash = await onceProcess(file, crashAt, { onStderr: /window delivered/ });
    expect(crash.killed).toBe(true);
    const after = await driveCycles(sim, config, { from: crashAt + CYCLE, to: end, step: CYCLE, restartEvery: 60 });
    // Complete lines only: a line cut by the kill never reached a reader.
    const crashed = recordIds(parseNdjson(crash.stdout.slice(0, crash.stdout.lastIndexOf("\n") + 1)));
    const delivered = [...before.delivered, ...crashed, ...after.delivered];

    const { state } = new StateStore(config.state_dir, config.tenant_id, config.source.type).load();
    const from = new Date(state.origin!);
    const cursor = new Date(state.cursor!);
    // Promised: every row received in [origin, cursor) that was visible one cycle before the end (the whole
    // horizon is re-read every cycle at this volume). Nothing may be delivered that is not visible at the end.
    sim.setNow(end - CYCLE);
    const promised = truthIds(sim.truth(from, cursor, { visibleOnly: true }));
    sim.setNow(end);
    const visible = truthIds(sim.truth(from, cursor, { visibleOnly: true }));
    const r = compare(promised, delivered);
    expect(promised.length).toBeGreaterThan(3000);
    // The tail was exercised: rows received in the first 8 hours that were still invisible 8 hours later.
    sim.setNow(from.getTime() + 16 * HOUR);
    const by16h = new Set(truthIds(sim.truth(from, new Date(from.getTime() + 8 * HOUR), { visibleOnly: true })));
    sim.setNow(end);
    const tail = truthIds(sim.truth(from, new Date(from.getTime() + 8 * HOUR))).filter((id) => !by16h.has(id));
    expect(tail.length).toBeGreaterThan(0);
    expect({ lost: r.lost, duplicates: r.duplicates, extra: compare(visible, delivered).extra }).toEqual({
      lost: 0,
      duplicates: 0,
      extra: 0,
    });
    expect(sim.stats().throttled - throttled0).toBe(0);
    // Rows found by re-scans, and how late: the per-cycle log line says it.
    const lines = [...before.logs, ...after.logs].join("");
    expect(lines).toMatch(/"msg":"cycle freshness"/);
    expect(lines).toMatch(/"rescan_1":\{"rows":[1-9]/);
  }, 300_000);
});

describe("status changes over time (the simulator's model, issue 12)", () => {
  it("every status a row showed for at least a cycle is delivered once, and the changes are counted per tier", async () => {
    const sc = await startSimulator({
      seed: 16,
      ratePerHour: 60,
      maxRecipients: 3,
      lateness: { model: "field" },
      statusChanges: { fraction: 0.3 },
      throttle: { limit: 100, windowMs: 300_000 },
      throttleClock: "sim",
    });
    try {
      const dir = tempDir();
      const config = simConfig(sc, dir, { ...DEFAULTS, log: { level: "info" } });
      const first = T0 + 10 * MIN;
      const end = first + 10 * HOUR;
      const run = await driveCycles(sc, config, { from: first, to: end, step: CYCLE, restartEvery: 30 });
      const { state } = new StateStore(config.state_dir, config.tenant_id, config.source.type).load();
      const rows = sc.truth(new Date(state.origin!), new Date(state.cursor!));
      // Every state shown from before the last cycle and for at least one cycle (a shorter one may fall between
      // two reads: no collector can see it), and every row's current status.
      const expected: string[] = [];
      let changing = 0;
      for (const r of rows) {
        const states = r.states ?? [];
        if (states.length > 1) changing++;
        states.forEach((st, i) => {
          const from = Date.parse(st.at);
          const to = i + 1 < states.length ? Date.parse(states[i + 1]!.at) : Infinity;
          if (from <= end - CYCLE && to - from > CYCLE + MIN) expected.push(truthIds([{ ...r, status: st.status }])[0]!);
        });
      }
      const counts = new Map<string, number>();
      for (const id of run.delivered) counts.set(id, (counts.get(id) ?? 0) + 1);
      expect(changing).toBeGreaterThan(50);
      expect(expected.filter((id) => !counts.has(id))).toEqual([]);
      expect([...counts.values()].filter((n) => n > 1)).toEqual([]);
      expect(sc.stats().throttled).toBe(0);
      const found = run.logs
        .filter((l) => l.includes('"msg":"cycle freshness"'))
        .map((l) => JSON.parse(l) as { tiers: Record<string, { statusChanges: number }> });
      const changes = found.reduce((n, l) => n + Object.values(l.tiers).reduce((m, t) => m + t.statusChanges, 0), 0);
      expect(changes).toBeGreaterThan(0);
    } finally {
      await sc.close();
    }
  }, 300_000);
});

describe("a budget too small for the horizon", () => {
  it("covers the youngest history first; the coverage metric and one log line tell the truth", async () => {
    const big = await startSimulator({
      seed: 15,
      ratePerHour: 4000,
      maxRecipients: 3,
      lateness: { model: "field" },
      throttle: { limit: 30, windowMs: 300_000 },
      throttleClock: "sim",
    });
    try {
      const dir = tempDir();
      // ≈ 10 000 rows/hour at 500 rows a page against 30 requests per 5 minutes: 360 requests/hour, of which
      // new windows need ≈ 240. Re-reading 24 hours is far out of reach.
      const config = simConfig(big, dir, { ...DEFAULTS, request_budget: { limit: 30, window_seconds: 300 }, log: { level: "info" } });
      const metrics = new PromMetrics({ toleranceMs: 60_000 }, { defaultMetrics: false });
      const { logger, lines } = captureLogger("info");
      let now = T0 + 10 * MIN;
      const cap = captureRuntime(config, big, { clock: () => now, logger, metrics });
      const windows: Array<{ start: string; end: string; tier: string }> = [];
      for (let k = 0; k < 36; k++, now += CYCLE) {
        big.setNow(now);
        await cap.rt.collector.runCycle();
      }
      await cap.rt.close();
      for (const l of lines) {
        const j = JSON.parse(l) as { msg: string; start?: string; end?: string; tier?: string };
        if (j.msg === "re-scan window done") windows.push({ start: j.start!, end: j.end!, tier: j.tier! });
      }
      const text = await metrics.registry.metrics();
      const covered = Number(/^o365mt_rescan_covered_horizon_seconds (\S+)$/m.exec(text)![1]);
      const horizon = Number(/^o365mt_rescan_horizon_seconds (\S+)$/m.exec(text)![1]);
      expect(horizon).toBe(1440 * 60);
      expect(covered).toBeLessThan(horizon);
      // Said once, with the numbers, not once per cycle.
      const warned = lines.filter((l) => l.includes("re-scans cannot cover the whole horizon"));
      expect(warned).toHaveLength(1);
      expect(Number(/"covered_minutes":(\d+)/.exec(warned[0]!)![1])).toBeLessThan(1440);
      // Every cycle's line carries the coverage; the last one agrees with the metric.
      const perCycle = lines.filter((l) => l.includes('"msg":"cycle freshness"'));
      expect(perCycle).toHaveLength(36);
      expect(Number(/"covered_minutes":(\d+)/.exec(perCycle[35]!)![1])).toBe(Math.round(covered / 60));
      // Nothing older than the covered horizon was claimed: every re-scan read lies inside it (plus the
      // cursor's movement during the run), youngest first within each job.
      const cursor = Date.parse(cap.rt.store.load().state.cursor!);
      for (const w of windows) expect(Date.parse(w.start)).toBeGreaterThanOrEqual(cursor - (covered / 60 + 60 + 3 * 60) * MIN);
      expect(big.stats().throttled).toBe(0);
    } finally {
      await big.close();
    }
  }, 300_000);
});
