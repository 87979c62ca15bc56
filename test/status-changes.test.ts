// Issue 12: status changes are records too. The simulator shows a share of rows first as gettingStatus or
// pending and later with their final status; identity is (trace_id, recipient, status), so a re-scan that
// finds a changed status delivers it as a new record. Counted against the truth's state sequence: every
// status a row showed at some poll that read its window is delivered exactly once, nothing else, nothing twice.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identity } from "../src/schema/mapper.js";
import { Rng } from "../src/sim/prng.js";
import { statusAt, statusTimeline, TRANSIENT_STATUSES } from "../src/sim/status-changes.js";
import { startSimulator, type Simulator, type TruthItem } from "../src/sim/index.js";
import { captureRuntime, compare, HOUR, MIN, recordIds, simConfig, tempDir } from "./helpers/harness.js";

const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const SPAN = 4 * HOUR;
const WINDOW = 15;
const MAX_CHANGE = 120; // minutes
let sim: Simulator;

beforeAll(async () => {
  const statusChanges = { fraction: 0.3, minMinutes: 5, maxMinutes: MAX_CHANGE };
  sim = await startSimulator({ seed: 33, ratePerHour: 120, maxRecipients: 3, statusChanges });
});
afterAll(async () => {
  await sim?.close();
});

describe("the status-change model", () => {
  it("is deterministic, changes only non-transient finals, orders states in time", () => {
    const opts = { fraction: 1, minMinutes: 1, maxMinutes: 60 };
    const a = statusTimeline(new Rng(7), "quarantined", 1000, opts);
    expect(statusTimeline(new Rng(7), "quarantined", 1000, opts)).toEqual(a);
    expect(a.length).toBeGreaterThanOrEqual(2);
    expect((TRANSIENT_STATUSES as readonly string[]).includes(a[0]!.status)).toBe(true);
    expect(a[0]!.at).toBe(1000);
    expect(a[a.length - 1]!.status).toBe("quarantined");
    for (let k = 1; k < a.length; k++) expect(a[k]!.at).toBeGreaterThan(a[k - 1]!.at);
    expect(a[a.length - 1]!.at - 1000).toBeLessThanOrEqual(60 * MIN);
    expect(statusTimeline(new Rng(7), "pending", 1000, opts)).toEqual([{ status: "pending", at: 1000 }]);
    expect(statusTimeline(new Rng(7), "quarantined", 1000, { fraction: 0 })).toEqual([{ status: "quarantined", at: 1000 }]);
    expect(statusAt(a, 999)).toBe(a[0]!.status);
    expect(statusAt(a, a[1]!.at)).toBe(a[1]!.status);
  });

  it("shows the state current at the clock in the list APIs, and the whole sequence in the truth", async () => {
    const truth = sim.truth(new Date(T0), new Date(T0 + SPAN));
    expect(truth.filter((t) => t.states).every((t) => t.states!.length > 1)).toBe(true);
    const changing = truth.filter((t) => t.states).map((t) => ({ ...t, states: t.states! }));
    // About 30 % of the rows whose final status is not itself transient.
    expect(changing.length / truth.length).toBeGreaterThan(0.2);
    expect(changing.length / truth.length).toBeLessThan(0.35);
    expect(changing.some((t) => t.states.length === 3)).toBe(true);
    const one = changing[0]!;
    const at = (k: number) => Date.parse(one.states[k]!.at);
    sim.setNow(at(0));
    const first = sim.truth(new Date(T0), new Date(T0 + SPAN)).find((t) => t.id === one.id && t.recipientAddress === one.recipientAddress)!;
    expect(first.status).toBe(one.states[0]!.status);
    const before = sim.details(one.id, one.recipientAddress);
    sim.setNow(at(one.states.length - 1));
    const last = sim.truth(new Date(T0), new Date(T0 + SPAN)).find((t) => t.id === one.id && t.recipientAddress === one.recipientAddress)!;
    expect(last.status).toBe(one.states[one.states.length - 1]!.status);
    // The detail list only grows: the events seen before are still there, in order, at its start.
    const after = sim.details(one.id, one.recipientAddress);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.length).toBeGreaterThan(before.length);
  });
});

/** A truth row's states; rows that never change carry none (no lateness here: visible once received). */
function states(t: TruthItem): Array<{ status: string; at: string }> {
  return t.states ?? [{ status: t.status, at: t.receivedDateTime }];
}

/** The status a truth row shows at `now`. */
function statusOf(t: TruthItem, now: number): string {
  let s = states(t)[0]!.status;
  for (const x of states(t)) if (Date.parse(x.at) <= now) s = x.status;
  return s;
}

interface Poll {
  now: number;
  /** Received times this cycle read: re-scan windows plus new windows. */
  from: number;
  to: number;
}

/** Cycles every `step`, restarting the runtime every `restartEvery` cycles; returns delivered ids and what each poll read. */
async function drive(source: "graph" | "rws", horizon: number, cycles: number, restartEvery = 4) {
  const dir = tempDir("o365mt-status-");
  const config = simConfig(sim, dir, {
    source,
    format: "json",
    window: WINDOW,
    delay: 0,
    page_size: 200,
    start: new Date(T0).toISOString(),
    max_windows_per_run: 100,
    dedupe: true,
    rescan: { horizon, every: 1 },
  });
  let now = T0 + WINDOW * MIN;
  const clock = () => now;
  const delivered: string[] = [];
  const polls: Poll[] = [];
  let cursor = T0;
  let cur = captureRuntime(config, sim, { clock });
  for (let k = 1; k <= cycles; k++, now += WINDOW * MIN) {
    sim.setNow(now);
    const r = await cur.rt.collector.runCycle();
    const after = Date.parse(r.cursor!);
    polls.push({ now, from: k === 1 || horizon === 0 ? cursor : Math.max(T0, cursor - horizon * MIN), to: after });
    cursor = after;
    if (k % restartEvery === 0 || k === cycles) {
      await cur.rt.close();
      delivered.push(...recordIds(cur.records()));
      if (k < cycles) cur = captureRuntime(config, sim, { clock });
    }
  }
  return { delivered, polls, cursor };
}

/** Every (row, status) a poll could see: the row's window was read and the row was visible then. */
function expectedStates(polls: Poll[], end: number): { ids: string[]; changed: number } {
  const truth = sim.truth(new Date(T0), new Date(end));
  const ids = new Set<string>();
  let changed = 0;
  for (const t of truth) {
    const ms = Date.parse(t.receivedDateTime);
    const statuses = new Set<string>();
    for (const p of polls) {
      if (ms < p.from || ms >= p.to || Date.parse(states(t)[0]!.at) > p.now) continue;
      statuses.add(statusOf(t, p.now));
    }
    if (statuses.size > 1) changed++;
    for (const s of statuses) ids.add(identity(t.id, t.recipientAddress, s));
  }
  return { ids: [...ids], changed };
}

describe("a collector polling every window with a re-scan horizon over the longest change", () => {
  it("Graph: delivers every status each row showed while we polled, each exactly once", async () => {
    const cycles = SPAN / (WINDOW * MIN) + (MAX_CHANGE + 30) / WINDOW;
    const run = await drive("graph", MAX_CHANGE + 2 * WINDOW, cycles);
    const want = expectedStates(run.polls, run.cursor);
    expect(want.changed).toBeGreaterThan(50);
    expect(compare(want.ids, run.delivered)).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    // Rows that changed delivered their transient and their final status; the final is what the truth shows now.
    const final = sim.truth(new Date(T0), new Date(T0 + SPAN)).filter((t) => t.states);
    const got = new Set(run.delivered);
    for (const t of final) {
      const all = states(t);
      expect(got.has(identity(t.id, t.recipientAddress, all[all.length - 1]!.status)), `${t.id} final`).toBe(true);
    }
  });

  it("legacy report: the same, with every row it returns kept", async () => {
    const cycles = SPAN / (WINDOW * MIN) + (MAX_CHANGE + 30) / WINDOW;
    const run = await drive("rws", MAX_CHANGE + 2 * WINDOW, cycles);
    // The report's bounds are inclusive: a row received exactly at a poll's cursor is read one poll early.
    const polls = run.polls.map((p) => ({ ...p, to: p.to + 1 }));
    const want = expectedStates(polls, run.cursor + 1);
    expect(compare(want.ids, run.delivered)).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });

  it("control: without re-scan the later statuses are never seen (the checks above can fail)", async () => {
    const run = await drive("graph", 0, SPAN / (WINDOW * MIN));
    const every = new Set<string>();
    for (const t of sim.truth(new Date(T0), new Date(run.cursor))) {
      for (const s of states(t)) every.add(identity(t.id, t.recipientAddress, s.status));
    }
    const r = compare([...every], run.delivered);
    expect(r.duplicates).toBe(0);
    expect(r.lost).toBeGreaterThan(50);
  });
});
