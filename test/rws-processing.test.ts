// Issue 12: the legacy report's StartDate/EndDate are tied to a message's processing steps, not Received
// (docs §5). With the simulator filtering on each row's last processing time, a row received just before a
// window's end comes only with the next window's answer. The legacy source keeps every row the report
// returns (dedupe removes the overlap): nothing is lost. The control shows the old Received filter losing rows.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { captureRuntime, compare, HOUR, MIN, recordIds, simConfig, tempDir, truthIds } from "./helpers/harness.js";

const T0 = Math.floor(Date.now() / HOUR) * HOUR - 30 * HOUR; // inside the report's 10 days
const SPAN = 4 * HOUR;
const WINDOW = 15;
const MAX_STEP = 3 * MIN; // the simulator's longest receipt-to-last-step time for rows that do not change
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ seed: 8, ratePerHour: 240, maxRecipients: 3, rwsFilter: "processing", rwsPageSize: 150 });
});
afterAll(async () => {
  await sim?.close();
});

async function collect(receivedFilter: boolean) {
  const dir = tempDir("o365mt-rws-proc-");
  const config = simConfig(sim, dir, {
    source: "rws",
    format: "json",
    window: WINDOW,
    delay: 0,
    start: new Date(T0).toISOString(),
    max_windows_per_run: 100,
    dedupe: true,
    rescan: { horizon: 0, every: 1 },
  });
  let now = T0 + WINDOW * MIN;
  const { rt, records } = captureRuntime(config, sim, { clock: () => now });
  // The control: what the collector did before, dropping rows whose Received lies outside the window.
  if (receivedFilter) Object.defineProperty(rt.source, "windowSelection", { value: { by: "received" } });
  let duplicates = 0;
  try {
    for (; now <= T0 + SPAN; now += WINDOW * MIN) {
      sim.setNow(now);
      duplicates += (await rt.collector.runCycle()).duplicates;
    }
  } finally {
    await rt.close();
  }
  return { delivered: recordIds(records()), duplicates };
}

describe("legacy report filtering on processing time", () => {
  it("loses nothing: every row received in the span is delivered once (rows still processing at the end come next cycle)", async () => {
    const run = await collect(false);
    const end = T0 + SPAN;
    // Everything whose last step is inside the span has been returned; rows of the span's last minutes may not be yet.
    const must = truthIds(sim.truth(new Date(T0), new Date(end - MAX_STEP)));
    const may = truthIds(sim.truth(new Date(T0 - MAX_STEP), new Date(end)));
    expect(must.length).toBeGreaterThan(1500);
    const r = compare(must, run.delivered);
    expect(r.lost).toBe(0);
    expect(r.duplicates).toBe(0);
    expect(compare(may, run.delivered).extra).toBe(0);
    // Rows received before T0 and processed after it came with the first window: kept, not dropped.
    expect(run.delivered.length).toBeGreaterThan(must.length);
  });

  it("control: dropping rows by Received loses the ones processed after their window", async () => {
    const run = await collect(true);
    const must = truthIds(sim.truth(new Date(T0), new Date(T0 + SPAN - MAX_STEP)));
    expect(compare(must, run.delivered).lost).toBeGreaterThan(10);
  });
});
