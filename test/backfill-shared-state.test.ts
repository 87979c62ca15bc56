// Issue 11: backfill and live collection of one tenant+source share one state: one lock, one set of delivered
// identities. A span both read costs requests, never duplicates, in either order; a span delivered so long
// ago that its identities are forgotten is skipped instead of read again. Counted against the simulator's
// truth through the real CLI (subprocesses).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../src/cursor/store.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import {
  compare,
  HOUR,
  lastLogMessage,
  parseNdjson,
  recordIds,
  runCli,
  simConfigInput,
  tempDir,
  truthIds,
  writeConfig,
} from "./helpers/harness.js";

let sim: Simulator;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const env = { O365MT_NOW: new Date(T0 + 4 * HOUR).toISOString() };
const iso = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  sim = await startSimulator({ seed: 31, ratePerHour: 240, maxRecipients: 4 });
});
afterAll(async () => {
  await sim?.close();
});

function setup(extra: Record<string, unknown> = {}) {
  const dir = tempDir();
  const file = writeConfig(dir, simConfigInput(sim, dir, { window: 60, max_windows_per_run: 100, ...extra }));
  return { dir, file };
}

const backfill = (file: string, from: number, to: number, ...more: string[]) =>
  runCli(["backfill", "--config", file, "--from", iso(from), "--to", iso(to), "--window", "60", ...more], { env });

function expectExact(from: number, to: number, ...outputs: string[]) {
  const delivered = recordIds(outputs.flatMap((o) => parseNdjson(o)));
  const truth = truthIds(sim.truth(new Date(from), new Date(to)));
  expect(truth.length).toBeGreaterThan(100);
  expect(compare(truth, delivered)).toEqual({ lost: 0, duplicates: 0, extra: 0 });
}

/** Graph list queries in a request trace (log.requests) whose window starts in [from, to). */
function listQueriesIn(traceFile: string, from: number, to: number): number {
  const lines = readFileSync(traceFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { request: { url: string } });
  return lines.filter((l) => {
    const m = /receivedDateTime ge (\S+)/.exec(new URL(l.request.url).searchParams.get("$filter") ?? "");
    const start = m ? Date.parse(m[1]!) : NaN;
    return start >= from && start < to;
  }).length;
}

describe("backfill and the live collector share one state", () => {
  it("live once, then a backfill over a span reaching into it: the overlap is read again and nothing is sent twice", async () => {
    const { dir, file } = setup({ start: iso(T0) });
    const live = await runCli(["once", "--config", file], { env });
    expect(live.code, live.stderr).toBe(0);
    const back = await backfill(file, T0 - 2 * HOUR, T0 + 3 * HOUR);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stderr).toContain(`backfill of [${iso(T0 - 2 * HOUR)}, ${iso(T0 + 3 * HOUR)}) complete`);
    expectExact(T0 - 2 * HOUR, T0 + 4 * HOUR, live.stdout, back.stdout);
    // One state file: the backfill is recorded in the live state, beside the live cursor.
    const files = readdirSync(join(dir, "state"));
    expect(files.filter((f) => f.endsWith(".json"))).toEqual([`${sim.tenantId}.graph.state.json`]);
    const state = JSON.parse(
      readFileSync(
        join(
          dir,
          "state",
          files.find((f) => f.endsWith(".state.json"))!,
        ),
        "utf8",
      ),
    );
    expect(state.cursor).toBe(iso(T0 + 4 * HOUR));
    expect(state.backfill).toEqual({ from: iso(T0 - 2 * HOUR), to: iso(T0 + 3 * HOUR), cursor: iso(T0 + 3 * HOUR) });
  });

  it("a backfill, then a live collector starting before it: the live collector reads through it, nothing twice", async () => {
    const { file } = setup({ start: iso(T0 - HOUR) });
    const back = await backfill(file, T0, T0 + 2 * HOUR);
    expect(back.code, back.stderr).toBe(0);
    const live = await runCli(["once", "--config", file], { env });
    expect(live.stderr).not.toMatch(/"level":"error"/);
    expect(live.code, live.stderr).toBe(0);
    expectExact(T0 - HOUR, T0 + 4 * HOUR, back.stdout, live.stdout);
  });

  it("a live collector started inside a backfilled span: nothing twice", async () => {
    const { file } = setup({ start: iso(T0 + HOUR) });
    const back = await backfill(file, T0, T0 + 2 * HOUR);
    expect(back.code).toBe(0);
    const live = await runCli(["once", "--config", file], { env });
    expect(live.code, live.stderr).toBe(0);
    expectExact(T0, T0 + 4 * HOUR, back.stdout, live.stdout);
  });

  it("a second backfill over a wider range than a finished one: nothing twice", async () => {
    const { file } = setup();
    const first = await backfill(file, T0, T0 + 2 * HOUR);
    expect(first.code).toBe(0);
    const second = await backfill(file, T0 - HOUR, T0 + 3 * HOUR);
    expect(second.code, second.stderr).toBe(0);
    expectExact(T0 - HOUR, T0 + 3 * HOUR, first.stdout, second.stdout);
  });

  it("a backfill wholly inside what the live collector delivered sends nothing and succeeds", async () => {
    const { file } = setup({ start: iso(T0) });
    const live = await runCli(["once", "--config", file], { env });
    expect(live.code).toBe(0);
    const back = await backfill(file, T0 + HOUR, T0 + 2 * HOUR);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toBe("");
    expectExact(T0, T0 + 4 * HOUR, live.stdout);
  });

  it("a span whose identities are forgotten (no re-scans: they are kept about a window) is skipped, not read again", async () => {
    const dir = tempDir();
    const trace = join(dir, "requests.jsonl");
    const input = simConfigInput(sim, dir, {
      window: 60,
      max_windows_per_run: 1,
      start: iso(T0),
      rescan: { horizon: 0 },
      log: { level: "warn", requests: trace },
    });
    const file = writeConfig(dir, input);
    let live = "";
    for (let i = 0; i < 4; i++) {
      const r = await runCli(["once", "--config", file], { env });
      expect(r.code).toBe(0);
      live += r.stdout;
    }
    const stateFile = join(dir, "state", `${sim.tenantId}.graph.state.json`);
    const seenFrom = Date.parse(JSON.parse(readFileSync(stateFile, "utf8")).seen_from);
    expect(seenFrom).toBe(T0 + 2 * HOUR);
    const before = listQueriesIn(trace, T0, T0 + 2 * HOUR);
    expect(before).toBe(2);
    const back = await backfill(file, T0 - 2 * HOUR, T0 + 4 * HOUR);
    expect(back.code, back.stderr).toBe(0);
    expectExact(T0 - 2 * HOUR, T0 + 4 * HOUR, live, back.stdout);
    // [T0, T0 + 2 h) was delivered and its identities are gone: not one more query for it. The rest is read:
    // before the live start, and the span whose identities are kept (dedupe drops all of it).
    expect(listQueriesIn(trace, T0, T0 + 2 * HOUR)).toBe(before);
    expect(listQueriesIn(trace, T0 - 2 * HOUR, T0)).toBe(2);
    expect(listQueriesIn(trace, T0 + 2 * HOUR, T0 + 4 * HOUR)).toBe(4);
  });

  it("a backfill that failed mid-window, a live once in between, then the resumed backfill: nothing lost, nothing twice", async () => {
    // Small pages so the failure falls inside a window: its delivered pages are journaled, and the live
    // collector's commit in between must keep those identities (the unfinished backfill holds them).
    // No re-scans: the live collector keeps identities only about a window behind its cursor, far less than
    // the backfill's window needs.
    const { file } = setup({ start: iso(T0), page_size: 25, retry: { count: 0 }, rescan: { horizon: 0 } });
    sim.inject({ route: "graph", kind: "500", count: 1, after: 3 });
    const failed = await backfill(file, T0 - 3 * HOUR, T0);
    sim.clearFaults();
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/HTTP 500/);
    // Some pages of the one window went out before the failure, not all of it.
    const partial = parseNdjson(failed.stdout).length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(sim.truth(new Date(T0 - 3 * HOUR), new Date(T0)).length);
    const live = await runCli(["once", "--config", file], { env });
    expect(live.code, live.stderr).toBe(0);
    const resumed = await runCli(["backfill", "--config", file], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expectExact(T0 - 3 * HOUR, T0 + 4 * HOUR, failed.stdout, live.stdout, resumed.stdout);
  });

  it("refuses to start, with one line and exit 1, while the live collector holds the state", async () => {
    const { dir, file } = setup({ start: iso(T0) });
    const store = new StateStore(join(dir, "state"), sim.tenantId, "graph");
    store.lock();
    try {
      const back = await backfill(file, T0 - 2 * HOUR, T0);
      expect(back.code).toBe(1);
      expect(back.stdout).toBe("");
      expect(lastLogMessage(back.stderr)).toMatch(
        /^state error: cannot backfill now: already running .* — backfill shares the live collector's state/,
      );
    } finally {
      store.close();
    }
  });
});
