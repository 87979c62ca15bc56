// Issue 12: never ask for an end later than the present, and a range the API refuses is explained, not fatal
// to `run`. Graph documents that a query's end may not be later than the current time (docs §5); the
// simulator answers such a query with 400.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { daemonLoop } from "../src/cli/run.js";
import { createRuntime } from "../src/runtime.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import {
  compare,
  HOUR,
  MIN,
  parseNdjson,
  recordIds,
  runCli,
  simConfig,
  simConfigInput,
  tempDir,
  truthIds,
  writeConfig,
} from "./helpers/harness.js";
import { captureLogger } from "./helpers/reliability.js";
import { PassThrough } from "node:stream";

let sim: Simulator;
// Not on a whole minute: rounding a range's end up to the minute would reach 25 seconds into the future.
const NOW = Date.UTC(2026, 10, 22, 12, 0, 34, 567);

beforeAll(async () => {
  sim = await startSimulator({ seed: 12, ratePerHour: 60 });
});
afterAll(async () => {
  await sim?.close();
});

describe("query ends", () => {
  it("backfill --to now stays in the present (before, it rounded up into the future and the query was refused)", async () => {
    sim.setNow(NOW);
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { retry: { count: 0 } }));
    const r = await runCli(["backfill", "--config", file, "--from", "2 hours ago", "--to", "now", "--window", "60"], {
      env: { O365MT_NOW: new Date(NOW).toISOString() },
    });
    expect(r.code, r.stderr).toBe(0);
    const from = Math.floor((NOW - 2 * HOUR) / MIN) * MIN;
    const to = Math.floor(NOW / MIN) * MIN;
    expect(r.stderr).toContain(`backfill of [${new Date(from).toISOString()}, ${new Date(to).toISOString()}) complete`);
    const truth = truthIds(sim.truth(new Date(from), new Date(to)));
    expect(compare(truth, recordIds(parseNdjson(r.stdout)))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });

  it("get-events --end now queries up to the present", async () => {
    sim.setNow(NOW + 999);
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { retry: { count: 0 } }));
    const r = await runCli(["get-events", "--config", file, "--start", "30 minutes ago", "--limit", "0"], {
      env: { O365MT_NOW: new Date(NOW + 999).toISOString() },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`, ${new Date(Math.floor((NOW + 999) / 1000) * 1000).toISOString()})`);
  });
});

describe("a range the API refuses", () => {
  it("is explained and does not stop `run`: the window is read again next cycle, nothing lost or doubled", async () => {
    // Our clock runs 20 minutes ahead of Microsoft's: the newest window ends after the service's present.
    const T = Date.UTC(2026, 10, 22, 9, 0, 0);
    sim.setNow(T);
    const dir = tempDir();
    const retry = { count: 1, backoff: { initial: 0, max: 0, jitter: 0 }, error_retry_span: 1, error_retry_count: 5 };
    const start = new Date(T - HOUR).toISOString();
    // Re-scans off: the request count below is the new windows' alone.
    const config = simConfig(sim, dir, {
      start,
      window: 15,
      delay: 0,
      frequency: 1,
      max_windows_per_run: 10,
      retry,
      rescan: { horizon: 0 },
    });
    const { logger, lines } = captureLogger("info");
    const out = new PassThrough();
    let text = "";
    out.on("data", (c: Buffer) => (text += c.toString("utf8")));
    // Our clock moves on as Microsoft's catches up (the collector plans by the service's time once it knows it).
    let now = T + 20 * MIN;
    const clock = () => now;
    const rt = createRuntime(config, { logger, caPem: sim.ca, stdout: out, clock });
    const ac = new AbortController();
    const outcomes: boolean[] = [];
    const graphBefore = sim.stats().requests.graph ?? 0;
    try {
      await daemonLoop(rt, config, logger, ac.signal, clock, {
        onCycle: (ok) => {
          outcomes.push(ok);
          // Microsoft's clock catches up after the first refusal; stop after the next good cycle.
          if (!ok) {
            sim.setNow(T + 20 * MIN);
            now = T + 40 * MIN;
          } else if (outcomes.includes(false)) ac.abort();
        },
      });
    } finally {
      await rt.close();
    }
    expect(outcomes).toEqual([false, true]);
    const failed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "cycle failed")!;
    expect(failed.error).toBe(
      `Graph rejected the query for [${new Date(T).toISOString()}, ${new Date(T + 15 * MIN).toISOString()}] (HTTP 400: BadRequest: The end date ${new Date(T + 15 * MIN).toISOString()} cannot be later than the current date and time.)`,
    );
    expect(String(failed.hint)).toMatch(/ending no later than the current time; .*tries this window again next cycle/);
    // Refused once, not retried at once: the four good windows, the refused one, then that one again.
    expect((sim.stats().requests.graph ?? 0) - graphBefore).toBe(6);
    expect(rt.store.load().state.cursor).toBe(new Date(T + 15 * MIN).toISOString());
    const records = text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const truth = truthIds(sim.truth(new Date(T - HOUR), new Date(T + 15 * MIN)));
    expect(compare(truth, recordIds(records))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });
});
