// Issue 11: delivery bounds that did not hold. group_by: message re-sent a whole window after a failure
// mid-window (the README promised one page). Counted against the simulator's truth. (Backfill over a span the
// live collector also covers: test/backfill-shared-state.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { captureRuntime, HOUR, simConfig, tempDir } from "./helpers/harness.js";
import { failingAfter } from "./helpers/reliability.js";

let sim: Simulator;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);

beforeAll(async () => {
  sim = await startSimulator({ seed: 31, ratePerHour: 240, maxRecipients: 4 });
});
afterAll(async () => {
  await sim?.close();
});

describe("group_by: message", () => {
  it("a failure mid-window re-sends at most one batch (page_size messages), not the whole window", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, {
      group_by: "message",
      page_size: 10,
      start: new Date(T0).toISOString(),
      window: 60,
      max_windows_per_run: 1,
    });
    const a = captureRuntime(config, sim, { clock: () => T0 + 2 * HOUR, wrapSink: failingAfter(35) });
    try {
      await expect(a.rt.collector.runCycle()).rejects.toThrow(/receiver died/);
    } finally {
      await a.rt.close();
    }
    const b = captureRuntime(config, sim, { clock: () => T0 + 2 * HOUR });
    try {
      await b.rt.collector.runCycle();
    } finally {
      await b.rt.close();
    }
    const traceIds = [...a.records(), ...b.records()].map((r) => r["o365.message.trace_id"] as string);
    const truth = new Set(sim.truth(new Date(T0), new Date(T0 + HOUR)).map((t) => t.id));
    expect(truth.size).toBeGreaterThan(40);
    expect(new Set(traceIds)).toEqual(truth); // nothing lost
    const duplicates = traceIds.length - new Set(traceIds).size;
    expect(a.records()).toHaveLength(35);
    expect(duplicates).toBeLessThanOrEqual(10); // the batch that was in flight, at most
  });
});
