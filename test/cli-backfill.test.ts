// Issue 6: backfill through the real CLI — exact records, non-TTY progress lines, its state, resume after
// a failure without loss or duplicates, refusal of a different range, --restart.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import {
  compare,
  HOUR,
  parseNdjson,
  recordIds,
  runCli,
  simConfigInput,
  tempDir,
  truthIds,
  writeConfig,
  logEntries,
  logMessages,
  lastLogMessage,
  type LogEntry,
} from "./helpers/harness.js";

let sim: Simulator;
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const env = { O365MT_NOW: new Date(NOW).toISOString() };
// "30 hours ago" → "6 hours ago" at NOW: 24 h in 4 windows of 6 h.
const FROM = NOW - 30 * HOUR;
const TO = NOW - 6 * HOUR;

beforeAll(async () => {
  sim = await startSimulator({ seed: 21, ratePerHour: 40 });
});
afterAll(async () => {
  await sim?.close();
});

function setup(extra: Record<string, unknown> = {}) {
  const dir = tempDir();
  const file = writeConfig(dir, simConfigInput(sim, dir, { retry: { count: 0 }, ...extra }));
  return { dir, file };
}

describe("backfill", () => {
  it("delivers exactly the span, prints plain progress lines when stderr is not a TTY, and records its progress", async () => {
    const { dir, file } = setup();
    const r = await runCli(
      ["backfill", "--config", file, "--from", "30 hours ago", "--to", "6 hours ago", "--window", "360", "--progress-every", "0"],
      { env },
    );
    expect(r.code).toBe(0);
    const truth = sim.truth(new Date(FROM), new Date(TO));
    expect(truth.length).toBeGreaterThan(500);
    expect(compare(truthIds(truth), recordIds(parseNdjson(r.stdout)))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    // Off a terminal, progress is a JSON line like every other stderr line (logEntries fails on any other).
    const progress = logEntries(r.stderr).filter((e) => e.progress) as Array<LogEntry & { progress: Record<string, unknown> }>;
    expect(progress.map((e) => e.progress.percent)).toEqual([25, 50, 75, 100]);
    expect(progress[0]).toMatchObject({
      msg: "backfill 25.0%",
      position: "up to 2026-11-21T12:00:00.000Z",
      progress: { windows_done: 1, windows_total: 4, done: false },
    });
    expect(progress[0]!.progress.eta_s).toBeTypeOf("number");
    expect(progress[0]!.progress.rate_per_s).toBeTypeOf("number");
    expect(progress[3]!.progress).toMatchObject({ percent: 100, windows_done: 4, done: true, eta_s: 0 });
    expect(progress.reduce((n, e) => Math.max(n, e.progress.records as number), 0)).toBe(truth.length);
    expect(r.stderr).not.toContain("\r"); // no redraw codes in a pipe
    expect(logMessages(r.stderr)).toContain(
      `backfill of [${new Date(FROM).toISOString()}, ${new Date(TO).toISOString()}) complete, ${truth.length} record(s)`,
    );
    // Recorded in the live collector's state (one state, one set of identities: test/backfill-shared-state.test.ts),
    // which has no live cursor yet.
    const files = readdirSync(join(dir, "state"));
    expect(files.some((f) => f.endsWith(".graph.backfill.json"))).toBe(false);
    const state = JSON.parse(
      readFileSync(
        join(
          dir,
          "state",
          files.find((f) => f.endsWith(".graph.state.json"))!,
        ),
        "utf8",
      ),
    );
    expect(state.cursor).toBeUndefined();
    const [from, to] = [new Date(FROM).toISOString(), new Date(TO).toISOString()];
    expect(state.backfill).toEqual({ from, to, cursor: to });

    const again = await runCli(["backfill", "--config", file, "--from", "30 hours ago", "--to", "6 hours ago"], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("");
    expect(again.stderr).toMatch(/is already complete/);
  });

  it("resumes after a failed window with no loss and no duplicates; refuses another range until --restart", async () => {
    const { file } = setup();
    const args = [
      "backfill",
      "--config",
      file,
      "--from",
      new Date(FROM).toISOString(),
      "--to",
      new Date(TO).toISOString(),
      "--window",
      "360",
      "--progress-every",
      "0",
    ];
    sim.inject({ route: "graph", kind: "500", count: 1, after: 2 });
    const first = await runCli(args, { env });
    sim.clearFaults();
    expect(first.code).toBe(1);
    expect(logMessages(first.stderr)).toMatch(/^transient error: Graph .* answered HTTP 500/m);
    expect(first.stderr).toMatch(/backfill 50\.0%/);

    const other = await runCli(["backfill", "--config", file, "--from", "40 hours ago", "--to", "now"], { env });
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(
      /config error: an unfinished backfill of \[.*\) is stored \(done up to .*\); this asks for .* — run `backfill` without --from\/--to to resume it, or add --restart/,
    );

    const resumed = await runCli(["backfill", "--config", file, "--progress-every", "0"], { env });
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(
      `resuming the backfill of [${new Date(FROM).toISOString()}, ${new Date(TO).toISOString()}) at ${new Date(FROM + 12 * HOUR).toISOString()}`,
    );
    const truth = truthIds(sim.truth(new Date(FROM), new Date(TO)));
    const delivered = [...recordIds(parseNdjson(first.stdout)), ...recordIds(parseNdjson(resumed.stdout))];
    expect(compare(truth, delivered)).toEqual({ lost: 0, duplicates: 0, extra: 0 });

    // A finished backfill gives way to a new range; --restart discards an unfinished one.
    sim.inject({ route: "graph", kind: "500", count: 1, after: 0 });
    const failing = await runCli(["backfill", "--config", file, "--from", "50 hours ago", "--to", "40 hours ago"], { env });
    sim.clearFaults();
    expect(failing.code).toBe(1);
    const restarted = await runCli(["backfill", "--config", file, "--from", "3 hours ago", "--to", "2 hours ago", "--restart"], { env });
    expect(restarted.code).toBe(0);
    expect(
      compare(truthIds(sim.truth(new Date(NOW - 3 * HOUR), new Date(NOW - 2 * HOUR))), recordIds(parseNdjson(restarted.stdout))),
    ).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });

  it("refuses spans the API cannot serve, with one line", async () => {
    const { file } = setup();
    const old = await runCli(["backfill", "--config", file, "--from", "100 days ago"], { env });
    expect(old.code).toBe(2);
    expect(logEntries(old.stderr)).toHaveLength(1);
    expect(lastLogMessage(old.stderr)).toMatch(
      /^config error: --from .* is older than the 90 days of history the Graph API keeps — use --from "90 days ago" or later$/,
    );
    const wide = await runCli(["backfill", "--config", file, "--from", "2 days ago", "--window", "20000"], { env });
    expect(wide.code).toBe(2);
    expect(wide.stderr).toMatch(/--window 20000 is not a whole number of minutes from 1 to 14400/);
    const none = await runCli(["backfill", "--config", file], { env });
    expect(none.stderr).toMatch(/backfill needs --from \(no unfinished backfill to resume\)/);
    expect(existsSync(file)).toBe(true);
  });
});
