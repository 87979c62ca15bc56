// Issue 19: V8's young generation for a sidecar (src/heap.ts). By default the semi-spaces stay at V8's initial
// 1 MB (--semi-space-growth-factor=1, set by the launcher before the bundle loads); O365_YOUNG_GENERATION=v8
// gives V8's own growth back; a young-generation flag given to node itself (command line or NODE_OPTIONS)
// always wins. Unit tests of the decision, then real `once` runs over a window of records, whose new space is
// read at exit by a preload (test/fixtures/heap-report.mjs). Memory and CPU are measured in bench/, not here.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_GC_THREADS,
  DEFAULT_YOUNG_GENERATION,
  gcThreadsWanted,
  nodeGaveFlag,
  sidecarYoungGeneration,
  youngGenerationWanted,
} from "../src/heap.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { HOUR, parseNdjson, runCli, simConfigInput, tempDir, writeConfig } from "./helpers/harness.js";

const REPORT = fileURLToPath(new URL("./fixtures/heap-report.mjs", import.meta.url));
const MB = 1024 * 1024;

describe("the young generation's setting (decision)", () => {
  it("is small by default; O365_YOUNG_GENERATION=v8 gives V8's own growth; anything else is ignored (V8's own)", () => {
    expect(DEFAULT_YOUNG_GENERATION).toBe("small");
    expect(youngGenerationWanted({}, [])).toBe("small");
    expect(youngGenerationWanted({ O365_YOUNG_GENERATION: "" }, [])).toBe("small");
    expect(youngGenerationWanted({ O365_YOUNG_GENERATION: " Small " }, [])).toBe("small");
    expect(youngGenerationWanted({ O365_YOUNG_GENERATION: "v8" }, [])).toBe("v8");
    // Not a reason to fail a start (as O365_HEAP_GROWTH): V8's own growth, the behaviour without this tool.
    expect(youngGenerationWanted({ O365_YOUNG_GENERATION: "tiny" }, [])).toBe("v8");
  });

  it("stays out when node was given a young-generation flag, on its command line or in NODE_OPTIONS", () => {
    for (const flag of ["--max-semi-space-size=4", "--max_semi_space_size=4", "--min-semi-space-size=2", "--semi-space-growth-factor=3"]) {
      expect(youngGenerationWanted({}, [flag]), flag).toBeUndefined();
      expect(youngGenerationWanted({ O365_YOUNG_GENERATION: "small" }, [flag]), flag).toBeUndefined();
    }
    expect(youngGenerationWanted({ NODE_OPTIONS: "--import=x.mjs --max-semi-space-size=8" }, [])).toBeUndefined();
    expect(youngGenerationWanted({ NODE_OPTIONS: "--max-semi-space-size 8" }, [])).toBeUndefined();
    // Other heap flags do not decide the young generation.
    expect(youngGenerationWanted({ NODE_OPTIONS: "--max-old-space-size=256" }, ["--heap-growing-percent=50"])).toBe("small");
    expect(nodeGaveFlag(["--heap-growing-percent"], ["--heap_growing_percent=30"])).toBe(true);
    expect(nodeGaveFlag(["--heap-growing-percent"], ["--heap-growing-percent-x"])).toBe(false);
  });

  it("returns what is in effect", () => {
    try {
      expect(sidecarYoungGeneration({}, [])).toBe("small");
      expect(sidecarYoungGeneration({ O365_YOUNG_GENERATION: "v8" }, [])).toBeUndefined();
      expect(sidecarYoungGeneration({}, ["--max-semi-space-size=4"])).toBeUndefined();
    } finally {
      sidecarYoungGeneration({ O365_YOUNG_GENERATION: "v8" }, []); // V8's default (factor 2) back for this worker
    }
  });
});

describe("the GC threads' setting (decision)", () => {
  it("is V8's own by default; O365_GC_THREADS=main keeps collections on the main thread; anything else is V8's own", () => {
    expect(DEFAULT_GC_THREADS).toBe("v8");
    expect(gcThreadsWanted({}, [])).toBe("v8");
    expect(gcThreadsWanted({ O365_GC_THREADS: " Main " }, [])).toBe("main");
    expect(gcThreadsWanted({ O365_GC_THREADS: "v8" }, [])).toBe("v8");
    expect(gcThreadsWanted({ O365_GC_THREADS: "two" }, [])).toBe("v8");
  });

  it("stays out when node was given a GC-thread flag of either polarity, on its command line or in NODE_OPTIONS", () => {
    for (const flag of [
      "--single-threaded-gc",
      "--single-threaded",
      "--parallel-scavenge",
      "--no-concurrent-marking",
      "--concurrent_sweeping",
    ]) {
      expect(gcThreadsWanted({}, [flag]), flag).toBeUndefined();
      expect(gcThreadsWanted({ NODE_OPTIONS: `--import=x.mjs ${flag}` }, []), flag).toBeUndefined();
    }
    expect(gcThreadsWanted({ NODE_OPTIONS: "--max-semi-space-size=8", O365_GC_THREADS: "main" }, ["--trace-gc-nvp"])).toBe("main");
  });
});

describe("the GC threads of a real `once` (subprocess)", () => {
  let sim: Simulator;
  const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
  beforeAll(async () => {
    sim = await startSimulator({ seed: 2019, ratePerHour: 2000 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  /**
   * `once` over one hour under node's --trace-gc-nvp, which prints one line per collection with the time V8's
   * helper threads spent in its parts (`background.<part>=ms`); the sum over the run of the parts the setting
   * moves to the main thread: scavenges, a full collection's evacuation, and sweeping. Not marking: its final
   * pause may still use helpers (--no-parallel-marking cannot be set while V8 runs), and the lean start's
   * memory-reducing full collection at start has one.
   */
  async function helperMs(env: NodeJS.ProcessEnv): Promise<{ collections: number; helperMs: number }> {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { start: new Date(T0).toISOString(), window: 60, page_size: 1000 }));
    // Unset unless the case sets it (spawn skips undefined values).
    const r = await runCli(["once", "--config", file], {
      nodeArgs: ["--trace-gc-nvp"],
      env: { O365MT_NOW: new Date(T0 + HOUR + 10 * 60_000).toISOString(), O365_GC_THREADS: undefined, ...env },
    });
    expect(r.code, r.stderr).toBe(0);
    // V8 prints to the same stdout as the records: find its lines wherever they start.
    const lines = r.stdout.match(/\[\d+:0x[0-9a-f]+\]\s+\d+ ms: pause=[^\n]*/g) ?? [];
    let helper = 0;
    for (const line of lines)
      for (const m of line.matchAll(/ background\.(?:scavenge\.parallel|evacuate\.[a-z_]+|sweep)=([\d.]+)/g)) helper += Number(m[1]);
    return { collections: lines.length, helperMs: helper };
  }

  it("collects on the main thread only with O365_GC_THREADS=main; by default V8's helper threads work", async () => {
    const main = await helperMs({ O365_GC_THREADS: "main" });
    expect(main.collections).toBeGreaterThan(10);
    expect(main.helperMs).toBe(0);
    // The control: the default run, with V8's helpers, so the measurement above can see helper work when there is any.
    const v8 = await helperMs({});
    expect(v8.collections).toBeGreaterThan(10);
    expect(v8.helperMs).toBeGreaterThan(0);
  });
});

describe("the young generation of a real `once` (subprocess)", () => {
  let sim: Simulator;
  const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
  beforeAll(async () => {
    // About 5000 records in the hour: several pages of 1000, enough for V8 to grow new space if allowed.
    sim = await startSimulator({ seed: 1919, ratePerHour: 2000 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  /** `once` over the hour T0..T0+1h in a fresh state dir, under the heap report; its records and new space. */
  async function onceWith(opts: { env?: NodeJS.ProcessEnv; nodeArgs?: string[] }) {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { start: new Date(T0).toISOString(), window: 60, page_size: 1000 }));
    const report = join(dir, "heap.jsonl");
    const r = await runCli(["once", "--config", file], {
      nodeArgs: opts.nodeArgs,
      env: {
        O365MT_NOW: new Date(T0 + HOUR + 10 * 60_000).toISOString(),
        HEAP_REPORT: report,
        NODE_OPTIONS: `--import=${REPORT}`,
        O365_YOUNG_GENERATION: undefined, // the default, unless the case sets it
        ...opts.env,
      },
    });
    expect(r.code, r.stderr).toBe(0);
    const heap = JSON.parse(readFileSync(report, "utf8").trim()) as { newSpace: number; semiCapacity: number };
    return { records: parseNdjson(r.stdout).length, ...heap };
  }

  it("keeps new space at two 1 MB semi-spaces by default, and V8 grows it with O365_YOUNG_GENERATION=v8", async () => {
    const small = await onceWith({});
    expect(small.records).toBeGreaterThan(3000);
    expect(small.semiCapacity).toBeLessThanOrEqual(1 * MB);
    expect(small.newSpace).toBeLessThanOrEqual(2 * MB);
    // The same run under V8's own growth: new space grows (the default above is the setting, not the run's size).
    const v8 = await onceWith({ env: { O365_YOUNG_GENERATION: "v8" } });
    expect(v8.records).toBe(small.records);
    expect(v8.semiCapacity).toBeGreaterThan(2 * MB);
  });

  it("leaves the young generation to a --max-semi-space-size given to node (NODE_OPTIONS or the command line)", async () => {
    // With 2 MB semi-spaces allowed, V8 grows to them; with ours it would have stayed at 1 MB.
    const viaOptions = await onceWith({ env: { NODE_OPTIONS: `--import=${REPORT} --max-semi-space-size=2` } });
    const viaArgv = await onceWith({ nodeArgs: ["--max-semi-space-size=2"] });
    for (const r of [viaOptions, viaArgv]) {
      expect(r.records).toBeGreaterThan(3000);
      expect(r.semiCapacity).toBeGreaterThan(1 * MB);
      expect(r.semiCapacity).toBeLessThanOrEqual(2 * MB);
    }
  });
});
