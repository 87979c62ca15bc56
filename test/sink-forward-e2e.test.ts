// Issue 4: simulator → collector → forward sink → real forward receiver. The cursor of a window moves only
// after every record of it is acknowledged; withheld acks or a dropped connection commit nothing, and after
// recovery every record arrives (duplicates only from the page that was never acknowledged).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../src/cursor/store.js";
import { createLogger } from "../src/log/logger.js";
import { createRuntime, type Runtime } from "../src/runtime.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { ForwardReceiver, ReceivedTime } from "./helpers/forward-receiver.js";
import { compare, HOUR, lostAndExtra, MIN, recordIds, simConfig, tempDir, truthIds } from "./helpers/harness.js";

let sim: Simulator;
const T0 = Date.UTC(2026, 10, 20, 6, 0, 0);
const SPAN = 3 * HOUR;

beforeAll(async () => {
  sim = await startSimulator({ seed: 11, ratePerHour: 120, maxRecipients: 4 });
});
afterAll(async () => {
  await sim?.close();
});

function runtime(dir: string, r: ForwardReceiver, extra: Record<string, unknown> = {}): Runtime {
  const config = simConfig(sim, dir, {
    start: new Date(T0).toISOString(),
    max_windows_per_run: 100,
    page_size: 20,
    request_budget: { limit: 100000, window_seconds: 1 }, // no pacing: not what is tested here
    sink: { type: "forward", forward: { host: "127.0.0.1", port: r.port, ack_timeout: 1, tag: "o365.message_trace" } },
    ...extra,
  });
  return createRuntime(config, { logger: createLogger({ level: "error", write: () => {} }), caPem: sim.ca, clock: () => T0 + SPAN });
}

function cursorOf(dir: string): string | undefined {
  return new StateStore(dir + "/state", sim.tenantId, "graph").load().state.cursor;
}

const truth = () => truthIds(sim.truth(new Date(T0), new Date(T0 + SPAN)));

describe("forward sink end to end", () => {
  it("the receiver gets exactly the simulator's truth, event time = o365.message.received", async () => {
    const r = await ForwardReceiver.start();
    const dir = tempDir();
    const rt = runtime(dir, r);
    try {
      const res = await rt.collector.runCycle();
      expect(res.windows).toBe(12);
    } finally {
      await rt.close();
      await r.close();
    }
    expect(truth().length).toBeGreaterThan(300);
    expect(compare(truth(), recordIds(r.records))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    for (const e of r.events) {
      expect(e.tag).toBe("o365.message_trace");
      expect((e.time as ReceivedTime).ms).toBe(Date.parse(e.record["o365.message.received"] as string));
    }
    expect(r.modes).toEqual(new Set(["PackedForward"]));
    expect(cursorOf(dir)).toBe(new Date(T0 + SPAN).toISOString());
  });

  for (const fault of ["withheld acks", "dropped connection"] as const) {
    it(`${fault} mid-window: nothing of that window is committed; after recovery every record arrives`, async () => {
      const r = await ForwardReceiver.start();
      const dir = tempDir();
      // No in-cycle reconnects (sink-forward-recovery.test.ts covers them): the fault must reach the collector.
      const rt = runtime(dir, r, { retry: { count: 0 } });
      try {
        // Two windows go through normally.
        await cycleLimited(rt, 2);
        const committed = new Date(T0 + 30 * MIN).toISOString();
        expect(cursorOf(dir)).toBe(committed);
        const before = r.events.length;

        // Window 3: its first page is acknowledged, the second is not (or its connection is cut).
        if (fault === "withheld acks") r.withholdAcks(1);
        else r.dropConnection(1);
        const err = await rt.collector.runCycle().then(
          () => undefined,
          (e: unknown) => e as Error,
        );
        expect(err?.message).toMatch(fault === "withheld acks" ? /did not acknowledge/ : /closed the connection/);
        expect(cursorOf(dir)).toBe(committed);
        expect(r.events.length).toBeGreaterThan(before);

        // The receiver recovers; the same runtime (as the daemon would) carries on from the cursor.
        r.resumeAcks();
        const res = await rt.collector.runCycle();
        expect(res.cursor).toBe(new Date(T0 + SPAN).toISOString());
      } finally {
        await rt.close();
        await r.close();
      }
      const got = recordIds(r.records);
      const c = compare(truth(), got);
      expect(lostAndExtra(truth(), got)).toEqual({ lost: 0, extra: 0 });
      // Repeats are exactly the records of the unacknowledged page (kept by the receiver, never acked);
      // a cut connection kept nothing, so nothing repeats. The first page of window 3 was acked and journaled.
      const seen = new Map<string, number>();
      for (const id of got) seen.set(id, (seen.get(id) ?? 0) + 1);
      const repeated = r.records.filter((x, i) => seen.get(got[i]!)! > 1);
      if (fault === "withheld acks") {
        expect(c.duplicates).toBeGreaterThan(0);
        expect(c.duplicates).toBeLessThanOrEqual(20);
        for (const x of repeated) {
          const t = Date.parse(x["o365.message.received"] as string);
          expect(t >= T0 + 30 * MIN && t < T0 + 45 * MIN).toBe(true);
        }
      } else {
        expect(c.duplicates).toBe(0);
      }
    });
  }
});

/** One cycle limited to `n` windows on an existing runtime (the config object is the runtime's own). */
async function cycleLimited(rt: Runtime, n: number): Promise<void> {
  const saved = rt.collector.options.maxWindows;
  rt.collector.options.maxWindows = n;
  try {
    await rt.collector.runCycle();
  } finally {
    rt.collector.options.maxWindows = saved;
  }
}
