// The re-scan side of a cycle: plan the bands the request budget affords (src/window/rescan-tiers.ts), hand
// the collector one chunk at a time within what this cycle may spend (src/window/rescan-schedule.ts), measure
// what reads cost, and report lateness: per-tier rows, status changes and requests, the covered horizon, and
// one log line per cycle. The collector stays in charge of reading, dedupe, sending and committing.
import type { State } from "../cursor/store.js";
import type { Logger } from "../log/logger.js";
import type { Window } from "../types.js";
import { chunkDone, ewma, nextChunk, scheduleFrom, type RescanChunk, type RescanSchedule } from "../window/rescan-schedule.js";
import { bandsFor, planRescans, type RescanPlan } from "../window/rescan-tiers.js";
import { wholeSecond } from "../window/time.js";
import type { PipelineMetrics } from "./metrics.js";

const MIN = 60_000;

/** What the request budget can tell the planner: slots free right now. */
export interface BudgetView {
  readonly limit: number;
  readonly windowMs: number;
  available(now?: number): number;
}

export interface RescanOptions {
  horizonMinutes: number;
  /** Re-scan only every N-th cycle (legacy knob; 1 = the planner decides). */
  every: number;
  windowMinutes: number;
  frequencySeconds: number;
  /** Rows per list page the source returns (Graph page_size, RWS 2000). */
  pageSize: number;
  maxSpanMinutes: number;
  budgetLimit: number;
  budgetWindowSeconds: number;
  /** Upper bound of detail requests per hour, planned as normal collection. */
  detailsPerHour: number;
  /** Share of the budget kept free of re-scans. */
  reserve?: number;
}

/** What a read reported: requests spent and rows returned inside its window. */
export interface ReadStats {
  pages: number;
  rows: number;
  /** Seconds between receivedDateTime and the read, of each newly delivered row. */
  lateSeconds: LateSeconds;
  statusChanges: number;
}

/**
 * The lateness of every newly delivered row of one read, kept per whole minute of lateness (rounded up) as a
 * count and an exact sum instead of one number per row: a list grew with the rows (40 MB for 5 M rows in a
 * 24 h window), a count per second with the window (86 400 entries for a day); this holds at most one entry
 * per minute of lateness. The histogram's bucket bounds are whole minutes, so each row is replayed as its
 * minute's mean, which lies in the same bucket as every row of that minute: bucket counts and the sum are
 * exact.
 */
export class LateSeconds implements Iterable<number> {
  private readonly counts = new Map<number, number>();
  private readonly sums = new Map<number, number>();
  length = 0;

  push(seconds: number): void {
    const s = Math.max(0, seconds);
    const m = Math.ceil(s / 60);
    this.counts.set(m, (this.counts.get(m) ?? 0) + 1);
    this.sums.set(m, (this.sums.get(m) ?? 0) + s);
    this.length++;
  }

  *[Symbol.iterator](): Iterator<number> {
    for (const [m, n] of this.counts) {
      // Clamped into the minute, in case rounding of the sum nudged the mean out of it.
      const mean = m === 0 ? 0 : Math.min(m * 60, Math.max((m - 1) * 60 + 1e-6, this.sums.get(m)! / n));
      for (let i = 0; i < n; i++) yield mean;
    }
  }
}

export function emptyReadStats(): ReadStats {
  return { pages: 0, rows: 0, lateSeconds: new LateSeconds(), statusChanges: 0 };
}

interface TierTally {
  rows: number;
  statusChanges: number;
  requests: number;
}

export class RescanRunner {
  private schedule: RescanSchedule = { lastDone: [] };
  private plan?: RescanPlan;
  private cycle = 5;
  private anchor = Infinity;
  private floor?: number;
  private readonly tally = new Map<string, TierTally>();
  /** Whether the short-coverage warning was logged (once per process; every cycle's line has the number). */
  private warnedShort = false;
  private short = false;

  constructor(
    private readonly o: RescanOptions,
    private readonly logger: Logger,
    private readonly metrics: PipelineMetrics,
    private readonly budget?: BudgetView,
  ) {}

  /** The cursor as this cycle found it: band ages count back from it. */
  get anchorMs(): number {
    return this.anchor;
  }

  get enabled(): boolean {
    return this.o.horizonMinutes > 0;
  }

  /** Start of a cycle: load the schedule, measure the cycle interval, plan, report coverage. */
  begin(state: State, now: number, anchor: number): void {
    this.tally.clear();
    this.schedule = scheduleFrom(state.rescan);
    const gap = this.schedule.lastCycle !== undefined ? (now - this.schedule.lastCycle) / MIN : 0;
    // The real interval: `frequency`, or longer when cycles are slow, stopped or only every N-th re-scans.
    this.cycle = Math.max(this.o.frequencySeconds / 60, gap > 0 && gap < 24 * 60 ? gap : 0) * Math.max(1, this.o.every);
    this.schedule.lastCycle = now;
    this.anchor = anchor;
    // On a whole second like every edge (an origin stored with milliseconds by an earlier version included).
    this.floor = state.origin ? wholeSecond(Date.parse(state.origin)).getTime() : undefined;
    if (!this.enabled) return;
    const budgetPerHour = (this.o.budgetLimit * 3600) / this.o.budgetWindowSeconds;
    const windowsPerHour = 60 / this.o.windowMinutes;
    const pagesPerHour = (this.schedule.rowsPerHour ?? 0) / this.o.pageSize;
    const normal =
      (this.schedule.normalPerHour ?? windowsPerHour * Math.max(1, Math.ceil(pagesPerHour / windowsPerHour))) + this.o.detailsPerHour;
    this.plan = planRescans({
      horizon: this.o.horizonMinutes,
      cycle: this.cycle,
      budgetPerHour,
      normalPerHour: normal,
      pagesPerHour,
      reserve: this.o.reserve,
      maxSpan: this.o.maxSpanMinutes,
    });
    this.metrics.rescanCoverage(this.plan.covered * 60, this.o.horizonMinutes * 60);
    const short = this.plan.covered < this.o.horizonMinutes;
    const wasShort = this.short;
    this.short = short;
    if (short && !this.warnedShort) {
      this.logger.warn("re-scans cannot cover the whole horizon within the request budget; youngest history first", {
        covered_minutes: Math.round(this.plan.covered),
        horizon_minutes: this.o.horizonMinutes,
        budget_per_hour: Math.round(budgetPerHour),
        new_windows_per_hour: Math.round(normal),
        rescan_allowance_per_hour: Math.round(this.plan.allowancePerHour),
        rows_per_hour: Math.round(this.schedule.rowsPerHour ?? 0),
        hint: "rows later than the covered horizon may be missed: raise request_budget only if Microsoft grants more, or accept the shorter horizon",
      });
      this.warnedShort = true;
    } else if (!short && wasShort) {
      this.logger.info("re-scans cover the whole horizon again", { horizon_minutes: this.o.horizonMinutes });
    }
  }

  /** The cycle's due re-scans may run only every N-th cycle (rescan.every). */
  due(cycles: number): boolean {
    return this.enabled && cycles % Math.max(1, this.o.every) === 0;
  }

  /** A new window was read: learn the tenant's volume and what normal collection costs. */
  noteNew(w: Window, r: ReadStats): void {
    const hours = (w.end.getTime() - w.start.getTime()) / 3_600_000;
    if (hours > 0) {
      this.schedule.rowsPerHour = ewma(this.schedule.rowsPerHour, r.rows / hours);
      this.schedule.normalPerHour = ewma(this.schedule.normalPerHour, Math.max(1, r.pages) * (60 / this.o.windowMinutes));
    }
    this.count("new", r);
  }

  /** Requests this cycle may still spend on re-scans: what the budget has free now, minus the reserve. */
  allowance(_now: number): number {
    if (!this.budget) return Infinity;
    const reserve = Math.ceil(this.budget.limit * (this.o.reserve ?? 0.1));
    // Cycles shorter than the budget's window: what is spent now is still counted when the next cycle's new
    // windows go out, so keep those paid for as well.
    const overlap = this.cycle * MIN < this.budget.windowMs;
    const nextNew = overlap ? Math.ceil(((this.schedule.normalPerHour ?? 1) * this.cycle) / 60) : 0;
    return this.budget.available() - reserve - nextNew;
  }

  /** The next chunk to re-read now, or undefined. */
  next(now: number): RescanChunk | undefined {
    if (!this.plan || this.plan.bands.length === 0) return undefined;
    return nextChunk(this.schedule, {
      now,
      anchor: this.anchor,
      floor: this.floor,
      plan: this.plan,
      allowance: this.allowance(now),
      pagesPerHour: (this.schedule.rowsPerHour ?? 0) / this.o.pageSize,
      cycle: this.cycle,
      maxSpanMinutes: this.o.maxSpanMinutes,
    });
  }

  /** Tier label of a chunk: its youngest band, 1-based ("rescan_1" is the youngest history). */
  tierOf(chunk: RescanChunk): string {
    return `rescan_${(chunk.bands[0] ?? 0) + 1}`;
  }

  /** A chunk was read (down to `readFrom` when it stopped early): move its job on. */
  done(chunk: RescanChunk, r: ReadStats, readFrom?: number): void {
    chunkDone(this.schedule, readFrom === undefined ? chunk : { ...chunk, start: new Date(Math.min(readFrom, chunk.end.getTime())) });
    this.count(this.tierOf(chunk), r);
  }

  private count(tier: string, r: ReadStats): void {
    const t = this.tally.get(tier) ?? { rows: 0, statusChanges: 0, requests: 0 };
    t.rows += r.lateSeconds.length;
    t.statusChanges += r.statusChanges;
    t.requests += r.pages;
    this.tally.set(tier, t);
    this.metrics.rowsFound(tier, r.lateSeconds, r.statusChanges);
    this.metrics.requestsSpent(tier === "new" ? "new" : "rescan", r.pages);
  }

  /** Identities before `before` were just forgotten: re-scans never reach before it again. */
  forgotten(before: number): void {
    const minute = Math.floor(before / MIN) * MIN;
    this.schedule.keptFrom = Math.max(this.schedule.keptFrom ?? -Infinity, minute);
  }

  /** Put the schedule into the state (it is written with the next commit). */
  save(state: State): void {
    state.rescan = this.schedule;
  }

  /** End of a cycle: the schedule into the state, and the cycle's lateness line. */
  end(state: State): void {
    this.save(state);
    if (!this.enabled) return;
    const tiers: Record<string, TierTally> = {};
    let rescanRequests = 0;
    for (const [k, v] of this.tally) {
      tiers[k] = v;
      if (k !== "new") rescanRequests += v.requests;
    }
    this.logger.info("cycle freshness", {
      covered_minutes: Math.round(this.plan?.covered ?? 0),
      horizon_minutes: this.o.horizonMinutes,
      requests_new: this.tally.get("new")?.requests ?? 0,
      requests_rescan: rescanRequests,
      tiers,
      rescan_in_progress: this.schedule.job
        ? { from: new Date(this.schedule.job.lo).toISOString(), at: new Date(this.schedule.job.pos).toISOString() }
        : undefined,
    });
  }

  /**
   * Minutes behind the cursor whose identities must be kept: the oldest band any plan may read (the full
   * wanted horizon, even while the budget covers less, so coverage can grow back without duplicates), plus
   * one cycle of cursor movement.
   */
  keepMinutes(): number {
    if (!this.enabled) return 0;
    const wanted = bandsFor(this.o.horizonMinutes, this.cycle);
    const oldest = Math.max(wanted[wanted.length - 1]?.end ?? 0, ...(this.plan?.bands ?? []).map((b) => b.end));
    return oldest + this.cycle;
  }

  /** Minutes of history the next cycles' reads can meet: older identities may be spilled to disk. */
  hotMinutes(delayMinutes: number): number {
    const young = this.plan?.bands[0]?.end ?? 0;
    return young + this.o.windowMinutes + delayMinutes + this.cycle;
  }
}
