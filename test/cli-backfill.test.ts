// Issue 6: backfill through the real CLI — exact records, non-TTY progress lines, its own state, resume after
// a failure without loss or duplicates, refusal of a different range, --restart.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { compare, HOUR, parseNdjson, recordIds, runCli, simConfigInput, tempDir, truthIds, writeConfig } from "./helpers/harness.js";

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
  it("delivers exactly the span, prints plain progress lines when stderr is not a TTY, and keeps its own state", async () => {
    const { dir, file } = setup();
    const r = await runCli(["backfill", "--config", file, "--from", "30 hours ago", "--to", "6 hours ago", "--window", "360", "--progress-every", "0"], { env });
    expect(r.code).toBe(0);
    const truth = sim.truth(new Date(FROM), new Date(TO));
    expect(truth.length).toBeGreaterThan(500);
    expect(compare(truthIds(truth), recordIds(parseNdjson(r.stdout)))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    const progress = r.stderr.split("\n").filter((l) => l.includes("backfill ") && l.includes("% "));
    expect(progress.map((l) => /backfill (\d+\.\d)%/.exec(l)![1])).toEqual(["25.0", "50.0", "75.0", "100.0"]);
    expect(progress[0]).toMatch(/^o365-message-trace: backfill 25\.0% \d+ records, \d+s elapsed, ETA \d+s \(up to 2026-11-21T12:00:00\.000Z\)$/);
    expect(progress[3]).toMatch(/100\.0% \d+ records, .* done/);
    expect(r.stderr).not.toContain("\r"); // no redraw codes in a pipe
    expect(r.stderr).toContain(`backfill of [${new Date(FROM).toISOString()}, ${new Date(TO).toISOString()}) complete, ${truth.length} record(s)`);
    const files = readdirSync(join(dir, "state"));
    expect(files.some((f) => f.endsWith(".graph.backfill.json"))).toBe(true);
    expect(files.some((f) => f.endsWith(".graph.state.json"))).toBe(false);
    const state = JSON.parse(readFileSync(join(dir, "state", files.find((f) => f.endsWith(".backfill.json"))!), "utf8"));
    expect(state.cursor).toBe(new Date(TO).toISOString());
    expect(state.extra.backfill).toEqual({ from: new Date(FROM).toISOString(), to: new Date(TO).toISOString() });

    const again = await runCli(["backfill", "--config", file, "--from", "30 hours ago", "--to", "6 hours ago"], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("");
    expect(again.stderr).toMatch(/is already complete/);
  });

  it("resumes after a failed window with no loss and no duplicates; refuses another range until --restart", async () => {
    const { file } = setup();
    const args = ["backfill", "--config", file, "--from", new Date(FROM).toISOString(), "--to", new Date(TO).toISOString(), "--window", "360", "--progress-every", "0"];
    sim.inject({ route: "graph", kind: "500", count: 1, after: 2 });
    const first = await runCli(args, { env });
    sim.clearFaults();
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/^o365-message-trace: transient error: Graph .* answered HTTP 500/m);
    expect(first.stderr).toMatch(/backfill 50\.0%/);

    const other = await runCli(["backfill", "--config", file, "--from", "40 hours ago", "--to", "now"], { env });
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/config error: an unfinished backfill of \[.*\) is stored \(done up to .*\); this asks for .* — run `backfill` without --from\/--to to resume it, or add --restart/);

    const resumed = await runCli(["backfill", "--config", file, "--progress-every", "0"], { env });
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`resuming the backfill of [${new Date(FROM).toISOString()}, ${new Date(TO).toISOString()}) at ${new Date(FROM + 12 * HOUR).toISOString()}`);
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
    expect(old.stderr).toMatch(/^o365-message-trace: config error: --from .* is older than the 90 days of history the Graph API keeps — use --from "90 days ago" or later\n$/);
    const wide = await runCli(["backfill", "--config", file, "--from", "2 days ago", "--window", "20000"], { env });
    expect(wide.code).toBe(2);
    expect(wide.stderr).toMatch(/--window 20000 is not a whole number of minutes from 1 to 14400/);
    const none = await runCli(["backfill", "--config", file], { env });
    expect(none.stderr).toMatch(/backfill needs --from \(no unfinished backfill to resume\)/);
    expect(existsSync(file)).toBe(true);
  });
});

describe("progress rendering", () => {
  it("redraws one bar line with ETA on a terminal, and ends it with a newline", async () => {
    const { Progress } = await import("../src/cli/progress.js");
    let t = 0;
    let out = "";
    const p = new Progress({ total: 100, out: { isTTY: true, write: (s: string) => (out += s) }, now: () => t, label: "backfill" });
    t = 10_000;
    p.update(25, 40);
    expect(out).toBe("\r\x1b[2K[########----------------------] backfill 25.0% 40 records, 10s elapsed, ETA 30s");
    t = 40_000;
    p.update(100, 60);
    p.finish();
    expect(out.endsWith("[##############################] backfill 100.0% 100 records, 40s elapsed, done\n")).toBe(true);
  });

  it("off a terminal, prints at most one line per interval (and always the last)", async () => {
    const { Progress } = await import("../src/cli/progress.js");
    let t = 0;
    const lines: string[] = [];
    const p = new Progress({ total: 4, done: 1, intervalMs: 10_000, out: { write: (s: string) => lines.push(s) }, now: () => t });
    t = 1_000;
    p.update(2, 5); // first line
    t = 5_000;
    p.update(3, 5); // within the interval: silent
    t = 6_000;
    p.update(4, 5); // the end: always
    expect(lines).toEqual([
      "o365-message-trace: 50.0% 5 records, 1s elapsed, ETA 2s\n",
      "o365-message-trace: 100.0% 15 records, 6s elapsed, done\n",
    ]);
  });
});
