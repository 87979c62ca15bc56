// Components loaded lazily (src/lazy.ts) must still say up front everything the collector reads from them
// before the first window: the legacy report's window selection (rows outside the window are kept — dropping
// them loses rows, issue 12) and a sink's per-confirmation checkpoints (issue 13).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lazySink } from "../src/lazy.js";
import { open } from "../src/runtime.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import type { ConfirmListener, Envelope, Sink } from "../src/types.js";
import { simConfig, tempDir } from "./helpers/harness.js";
import { silentLogger } from "../src/log/logger.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ seed: 3, ratePerHour: 10 });
});
afterAll(async () => {
  await sim?.close();
});

describe("lazy components keep what the collector reads up front", () => {
  it("the legacy source built through its descriptor selects rows by processing time", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, { source: "rws" });
    const rt = open(config, { source: true }, { logger: silentLogger, caPem: sim.ca });
    try {
      expect(rt.source.windowSelection).toEqual({ by: "processing", slackMinutes: 360 });
    } finally {
      await rt.close();
    }
  });

  it("a lazily loaded sink passes its confirmations to the listener registered before it loaded", async () => {
    let inner: ConfirmListener | undefined;
    const impl: Sink = {
      name: "fake",
      send: async (batch) => inner?.(batch),
      flush: async () => {},
      close: async () => {},
      onConfirm: (l) => {
        inner = l;
      },
    };
    const sink = lazySink("fake", async () => impl);
    const confirmed: Array<Pick<Envelope, "id">> = [];
    sink.onConfirm!((records) => confirmed.push(...records));
    const e: Envelope = { id: "a", time: 0, record: {} };
    await sink.send([e]);
    expect(confirmed).toEqual([e]);
  });
});
