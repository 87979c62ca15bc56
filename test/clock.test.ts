// Issue 11: a local clock that is ahead of the service's. The simulator's clock (its Date header and what
// its data shows) is the service's time; O365MT_NOW pins ours. The cursor must never move past what the
// service has served: windows are planned and committed by the service's clock, a cursor or start in its
// future is an error line (not an idle exit 0 forever), and the skew is reported.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../src/cursor/store.js";
import { createLogger } from "../src/log/logger.js";
import { ServerClock } from "../src/net/server-clock.js";
import { refuseCommitAhead } from "../src/pipeline/clock-guard.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import {
  captureRuntime,
  compare,
  HOUR,
  MIN,
  parseNdjson,
  recordIds,
  runCli,
  simConfig,
  simConfigInput,
  storedCursor,
  tempDir,
  truthIds,
  writeConfig,
  writeStoredCursor,
} from "./helpers/harness.js";

const DAY = 24 * HOUR;
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ seed: 21, ratePerHour: 120 });
});
afterAll(async () => {
  await sim?.close();
});

describe("clock ahead of the service (subprocess once, simulator on real time)", () => {
  it("a first run with the clock 30 days ahead is an error line, not a cursor parked in the future", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir));
    const r = await runCli(["once", "--config", file], { env: { O365MT_NOW: new Date(Date.now() + 30 * DAY).toISOString() } });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/the local clock is 30 days ahead of the service's clock/);
    expect(r.stderr).toMatch(
      /config error: the first window would start at .*, 30 days ahead of the service's clock .* — this host's clock is ahead: fix it/,
    );
    expect(storedCursor(sim, dir)).toBeUndefined();
  });

  it("a clock that jumps 2 days forward never moves the cursor past the service's time", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { start: "3 hours ago", delay: 0, window: 15, max_windows_per_run: 1000 }));
    const first = await runCli(["once", "--config", file]);
    expect(first.code).toBe(0);
    const before = Date.parse(storedCursor(sim, dir)!);
    expect(before).toBeLessThanOrEqual(Date.now());
    const jumped = await runCli(["once", "--config", file], { env: { O365MT_NOW: new Date(Date.now() + 2 * DAY).toISOString() } });
    expect(jumped.code).toBe(0);
    expect(jumped.stderr, jumped.stderr).toMatch(/the local clock is 2 days ahead of the service.s clock/);
    expect(Date.parse(storedCursor(sim, dir)!)).toBeLessThanOrEqual(Date.now());
  });

  it("with the clock ahead and only the token's iat known, no window is planned past the service's time (it would be refused at commit)", async () => {
    // The cursor 12 min back: a 15 min window ends 3 min after the service's now. iat (+ Entra's slack) put
    // it inside the plan, the first Date header then made the commit guard refuse it, and `once` exited 1.
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { delay: 0, window: 15, rescan: { horizon: 0 } }));
    const cursor = new Date(Math.floor((Date.now() - 12 * MIN) / 1000) * 1000).toISOString();
    writeStoredCursor(sim, dir, cursor);
    const r = await runCli(["once", "--config", file], { env: { O365MT_NOW: new Date(Date.now() + 2 * DAY).toISOString() } });
    expect(r.stderr).not.toMatch(/not committing/);
    expect(r.code, r.stderr).toBe(0);
    expect(storedCursor(sim, dir)).toBe(cursor);
  });

  it("with delay 0 the newest window ends at the service's now, not a moment past it (Date headers have whole seconds)", async () => {
    // The first window starts at our now minus whole windows, so the newest one ends within milliseconds of
    // now: planned by our clock it may end after the service's time as its Date header tells it.
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { start: "1 hour ago", delay: 0, window: 15, max_windows_per_run: 1000 }));
    const begin = Date.now();
    const r = await runCli(["once", "--config", file]);
    expect(r.stderr).not.toMatch(/not committing|cannot be later than/);
    expect(r.code, r.stderr).toBe(0);
    const cursor = Date.parse(storedCursor(sim, dir)!);
    expect(cursor).toBeLessThanOrEqual(Date.now());
    // At most the newest window waits for the next run (its end was past the service's whole second).
    expect(cursor).toBeGreaterThanOrEqual(begin - 15 * MIN - 2000);
    // From a little after the first window's start (set by the CLI's clock, a moment after `begin`).
    const truth = truthIds(sim.truth(new Date(begin - HOUR + 10_000), new Date(cursor)));
    expect(compare(truth, recordIds(parseNdjson(r.stdout)))).toMatchObject({ lost: 0, duplicates: 0 });
  });

  it("a stored cursor in the service's future is refused with one line, the state left as it is", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir));
    const store = new StateStore(join(dir, "state"), sim.tenantId, "graph");
    mkdirSync(join(dir, "state"), { mode: 0o700 });
    const future = new Date(Math.floor((Date.now() + 30 * DAY) / HOUR) * HOUR).toISOString();
    const text = JSON.stringify({
      version: 1,
      tenant_id: sim.tenantId,
      source: "graph",
      cursor: future,
      windows_done: 5,
      records_delivered: 9,
      cycles: 5,
    });
    writeFileSync(store.file, text, { mode: 0o600 });
    const r = await runCli(["once", "--config", file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      /state error: the cursor .* is 30 days ahead of the service's clock .* — fix the clock \(NTP\), then restore the state file/,
    );
    expect(readFileSync(store.file, "utf8")).toBe(text);
  });
});

describe("commit guard (in-process, simulator clock frozen behind ours)", () => {
  it("windows read before the service reached their end are not committed; nothing is lost once it does", async () => {
    const T = Date.UTC(2026, 10, 21, 12, 0, 0);
    sim.setNow(T);
    const dir = tempDir();
    // Our clock is 2 hours ahead; no token at start here, so the first plan cannot know the service's time.
    const config = simConfig(sim, dir, { start: new Date(T - 2 * HOUR).toISOString(), delay: 0, window: 30, max_windows_per_run: 100 });
    const lines: string[] = [];
    const logger = createLogger({ level: "warn", write: (l) => void lines.push(l) });
    const a = captureRuntime(config, sim, { clock: () => T + 2 * HOUR, logger });
    try {
      const err = await a.rt.collector.runCycle().then(
        () => undefined,
        (e: Error) => e,
      );
      // Either our guard refuses the commit, or (Graph, and the simulator since issue 12) the service itself
      // refuses a query end later than its clock: both leave the cursor where the service's time is.
      expect(err?.message).toMatch(
        /not committing the window ending 2026-11-21T12:30:00\.000Z: the service's clock says 2026-11-21T12:00:00|Graph rejected the query for \[2026-11-21T12:00:00/,
      );
      expect(a.rt.store.load().state.cursor).toBe(new Date(T).toISOString());
      expect(lines.join("")).toMatch(/the local clock is 2 h ahead of the service's clock/);
    } finally {
      await a.rt.close();
    }
    // The service's time moves on; the same state, our clock now right: every record exactly once.
    sim.setNow(T + 2 * HOUR);
    const b = captureRuntime(config, sim, { clock: () => T + 2 * HOUR });
    try {
      await b.rt.collector.runCycle();
    } finally {
      await b.rt.close();
    }
    const truth = truthIds(sim.truth(new Date(T - 2 * HOUR), new Date(T + 2 * HOUR)));
    expect(compare(truth, recordIds([...a.records(), ...b.records()]))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });

  it("ServerClock: Date headers rule, token iat is a fallback, skew is reported once per jump", () => {
    let local = Date.UTC(2026, 0, 1);
    const lines: string[] = [];
    const c = new ServerClock(() => local, createLogger({ level: "warn", write: (l) => void lines.push(l) }));
    expect(c.now()).toBeUndefined();
    c.observeIssuedAt(local / 1000 - 120); // a token issued 2 min "ago": within Entra's iat slack, no warning
    expect(lines).toHaveLength(0);
    c.observeDate(new Date(local - 10 * MIN).toUTCString());
    expect(c.now()).toBe(local - 10 * MIN);
    expect(c.skewMs()).toBe(10 * MIN);
    c.observeDate(new Date(local - 10 * MIN + 1000).toUTCString());
    expect(lines).toHaveLength(1);
    local += 60_000;
    expect(c.now()).toBe(local - 10 * MIN + 1000);
    // The commit guard itself: a window ending after the service's time is never committed.
    const end = c.now()! + 1000;
    expect(() => refuseCommitAhead({ start: new Date(end - HOUR), end: new Date(end) }, c)).toThrow(/not committing the window ending/);
    expect(() => refuseCommitAhead({ start: new Date(end - HOUR), end: new Date(end - 2000) }, c)).not.toThrow();
  });
});
