// The budget-driven re-scan planner: bands by age, what they cost, what the budget affords (youngest first),
// and the cycle-by-cycle schedule (merged due bands, chunks within the cycle's allowance, resumable).
import { describe, expect, it } from "vitest";
import { bandCost, bandsFor, DEFAULT_TIERS, guaranteedHorizon, planRescans } from "../src/window/rescan-tiers.js";
import { chunkDone, dueGroups, emptySchedule, nextChunk, scheduleFrom, type ChunkContext } from "../src/window/rescan-schedule.js";

const MIN = 60_000;
const H = 60;

describe("bandsFor / guaranteedHorizon", () => {
  it("default 24 h: last hour every cycle, 1–6 h hourly, older every 4 h, guaranteeing exactly 24 h", () => {
    const bands = bandsFor(24 * H, 5);
    expect(bands).toEqual([
      { start: 0, end: 60, period: 5 },
      { start: 60, end: 360, period: 60 },
      { start: 360, end: 24 * H + 240 + 5, period: 240 },
    ]);
    expect(guaranteedHorizon(bands, 5)).toBe(24 * H);
  });

  it("short horizons use fewer bands; slow cycles widen bands so each is read once while a row is in it", () => {
    expect(bandsFor(30, 5)).toEqual([{ start: 0, end: 40, period: 5 }]);
    expect(guaranteedHorizon(bandsFor(390, 30), 30)).toBe(390);
    for (const b of bandsFor(1440, 90)) expect(b.end - b.start).toBeGreaterThanOrEqual(b.period + 90);
    expect(bandsFor(0, 5)).toEqual([]);
  });
});

describe("planRescans: only what the budget leaves, youngest first", () => {
  const base = { horizon: 24 * H, cycle: 5, budgetPerHour: 1200 };

  it("100 k rows/hour fits the whole horizon inside the budget with its reserve", () => {
    const p = planRescans({ ...base, normalPerHour: 12 + 20, pagesPerHour: 20 });
    expect(p.covered).toBe(24 * H);
    expect(p.bands).toHaveLength(3);
    expect(p.costPerHour).toBeLessThanOrEqual(p.allowancePerHour);
    expect(p.allowancePerHour).toBeCloseTo(1200 * 0.9 - 32);
  });

  it("2.5 M rows/hour cannot: nothing is promised (coverage 0), the allowance still re-reads the youngest hour", () => {
    const p = planRescans({ ...base, normalPerHour: 512, pagesPerHour: 500 });
    expect(p.covered).toBe(0);
    expect(p.bands).toHaveLength(1);
    expect(p.bands[0]!.end).toBeGreaterThan(30);
    expect(p.costPerHour).toBeLessThanOrEqual(p.allowancePerHour + 1e-9);
    expect(p.bands[0]!.start).toBe(0);
  });

  it("a small tenant re-reads the whole horizon every cycle (cheap); a larger one gets tiers", () => {
    const small = planRescans({ ...base, normalPerHour: 24, pagesPerHour: 0.2 });
    expect(small.bands).toEqual([{ start: 0, end: 24 * H + 10, period: 5 }]);
    expect(small.covered).toBe(24 * H);
    const mid = planRescans({ ...base, normalPerHour: 24, pagesPerHour: 4 });
    expect(mid.bands.map((b) => b.period)).toEqual([5, 15, 60]);
    expect(planRescans({ ...base, normalPerHour: 32, pagesPerHour: 20 }).bands.map((b) => b.period)).toEqual([5, 60, 240]);
  });

  it("no budget left: nothing planned, coverage 0", () => {
    const p = planRescans({ ...base, normalPerHour: 1200, pagesPerHour: 500 });
    expect(p.bands).toEqual([]);
    expect(p.covered).toBe(0);
  });

  it("whatever the budget, the plan costs no more than the allowance; enough budget covers everything", () => {
    for (const budget of [600, 1200, 2400, 4800, 9600]) {
      const p = planRescans({ ...base, budgetPerHour: budget, normalPerHour: 100, pagesPerHour: 100 });
      expect(p.costPerHour).toBeLessThanOrEqual(p.allowancePerHour + 1e-9);
      expect(p.covered).toBeGreaterThan(0);
      if (budget === 9600) expect(p.covered).toBe(24 * H);
    }
  });

  it("a band costs its pages plus one partial page per query, per read", () => {
    expect(bandCost({ start: 0, end: 60, period: 5 }, 20)).toBeCloseTo((20 + 1) * 12);
  });
});

describe("schedule", () => {
  const T = Date.UTC(2026, 0, 2, 0, 0, 0);
  const plan = planRescans({ horizon: 24 * H, cycle: 5, budgetPerHour: 1200, normalPerHour: 30, pagesPerHour: 1, tiers: DEFAULT_TIERS });
  const ctx = (over: Partial<ChunkContext> = {}): ChunkContext => ({
    now: T,
    anchor: T - 5 * MIN,
    plan,
    allowance: 100,
    pagesPerHour: 1,
    cycle: 5,
    maxSpanMinutes: 14_400,
    ...over,
  });

  it("a fresh schedule merges all due bands into one query over the whole horizon", () => {
    const s = emptySchedule();
    expect(dueGroups(s, plan, T, 5)).toEqual([[0, 1, 2]]);
    const c = nextChunk(s, ctx())!;
    expect(c.end.getTime()).toBe(T - 5 * MIN);
    expect(c.start.getTime()).toBe(T - 5 * MIN - plan.bands[2]!.end * MIN);
    expect(c.last).toBe(true);
    chunkDone(s, c);
    expect(s.job).toBeUndefined();
    expect(s.lastDone).toEqual([T, T, T]);
    // Five minutes later only the youngest band is due: one query over the last hour.
    const c2 = nextChunk(s, ctx({ now: T + 5 * MIN, anchor: T }))!;
    expect(c2.bands).toEqual([0]);
    expect(c2.end.getTime() - c2.start.getTime()).toBe(60 * MIN);
  });

  it("never reads before the floor; a job bigger than the allowance is read in chunks, youngest first, and resumes", () => {
    const s = emptySchedule();
    const floor = T - 10 * H * MIN;
    const first = nextChunk(s, ctx({ floor, allowance: 3, pagesPerHour: 1 }))!;
    expect(first.end.getTime()).toBe(T - 5 * MIN);
    // Sized on 60 % of the allowance and a third more rows than measured:
    // (3 × 0.6 − 1) / 1.33 h ≈ 36 min (37 whole minutes back from the anchor).
    expect(first.end.getTime() - first.start.getTime()).toBe(37 * MIN);
    expect(first.last).toBe(false);
    chunkDone(s, first);
    // Restart: the schedule survives a round trip through JSON (the state file).
    const again = scheduleFrom(JSON.parse(JSON.stringify(s)));
    const next = nextChunk(again, ctx({ floor, allowance: 1000 }))!;
    expect(next.end.getTime()).toBe(first.start.getTime());
    expect(next.start.getTime()).toBe(floor);
    chunkDone(again, next);
    expect(again.job).toBeUndefined();
    expect(nextChunk(again, ctx({ now: T + MIN }))).toBeUndefined();
  });

  it("no allowance, no request", () => {
    expect(nextChunk(emptySchedule(), ctx({ allowance: 0 }))).toBeUndefined();
  });

  it("malformed schedule data is dropped, not trusted", () => {
    expect(scheduleFrom({ lastDone: "x", job: { lo: 5, hi: 1, pos: 3, bands: [0], started: 1 } })).toEqual({ lastDone: [] });
  });
});

describe("planRescans: a narrowed oldest band is not the whole horizon", () => {
  it("reports the guarantee of the narrowed band, not the configured horizon", () => {
    const p = planRescans({ horizon: 24 * 60, cycle: 5, budgetPerHour: 360, normalPerHour: 24, pagesPerHour: 15.6 });
    // The oldest band cannot be read often enough to promise anything beyond the middle band's reach.
    expect(p.bands).toHaveLength(2);
    expect(p.covered).toBeLessThan(24 * 60);
    expect(p.covered).toBe(p.bands[1]!.end - p.bands[1]!.period - 5);
    // With a little more budget the oldest band is narrowed instead, and its slower read counted twice.
    const q = planRescans({ horizon: 24 * 60, cycle: 5, budgetPerHour: 420, normalPerHour: 24, pagesPerHour: 15.6 });
    expect(q.bands).toHaveLength(3);
    expect(q.covered).toBe(q.bands[2]!.end - 2 * q.bands[2]!.period - 5);
    expect(q.covered).toBeLessThan(24 * 60);
  });
});

describe("schedule: never below what dedupe remembers", () => {
  it("a job (or a band stretched by a long pause) is cut at keptFrom", () => {
    const T = Date.UTC(2026, 0, 2);
    const plan = planRescans({ horizon: 120, cycle: 120, budgetPerHour: 1e6, normalPerHour: 1, pagesPerHour: 1 });
    const s = emptySchedule();
    s.keptFrom = T - 200 * MIN;
    const c = nextChunk(s, { now: T, anchor: T, plan, allowance: 1e6, pagesPerHour: 1, cycle: 120, maxSpanMinutes: 14_400 })!;
    expect(plan.bands[0]!.end).toBeGreaterThan(200);
    expect(c.start.getTime()).toBe(T - 200 * MIN);
    // A job saved before the identities were forgotten is cut too.
    const s2 = scheduleFrom({
      lastDone: [],
      job: { lo: T - 600 * MIN, hi: T, pos: T - 100 * MIN, bands: [0], started: T },
      keptFrom: T - 300 * MIN,
    });
    const c2 = nextChunk(s2, { now: T, anchor: T, plan, allowance: 1e6, pagesPerHour: 1, cycle: 120, maxSpanMinutes: 14_400 })!;
    expect(c2.start.getTime()).toBe(T - 300 * MIN);
  });
});
