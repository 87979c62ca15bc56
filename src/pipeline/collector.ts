// The collector's poll cycle: plan the windows after the cursor (new data first, stepping over spans a backfill
// delivered whose identities are forgotten), then the re-scan bands the request budget allows, and deliver
// each; a window's cursor is committed only after the sink confirmed all of it. Its parts, one idea a file:
// window-delivery.ts (one window's data path), bookkeeping.ts (the state and which delivered identities it
// keeps), collector-contract.ts (options, deps, results). Nothing here knows which API, which sink or which
// config file is in use: the composition root (runtime.ts) gives it narrow options, the source's query limit
// among them.
import type { State } from "../cursor/store.js";
import { CollectorError } from "../errors.js";
import type { Window } from "../types.js";
import { defaultStart, planWindowsSkipping, type PlanOptions } from "../window/planner.js";
import { forgottenSpans, skipForgotten, type Span } from "../cursor/coverage.js";
import { parseTime, wholeSecond } from "../window/time.js";
import { noopMetrics, type PipelineMetrics } from "./metrics.js";
import { planningNow, refuseFutureCursor } from "./clock-guard.js";
import { emptyReadStats, RescanRunner, type ReadStats } from "./rescans.js";
import { Bookkeeping, type Book, type WindowKind } from "./bookkeeping.js";
import type { CollectorDeps, CollectorOptions, CycleResult, WindowResult } from "./collector-contract.js";
import { WindowDelivery } from "./window-delivery.js";

export type { CollectorDeps, CollectorOptions, CycleResult, WindowResult } from "./collector-contract.js";

export class Collector {
  readonly options: CollectorOptions;
  private readonly clock: () => number;
  private readonly metrics: PipelineMetrics;
  private book?: Book;
  readonly rescans: RescanRunner;
  private readonly bookkeeping: Bookkeeping;
  private readonly delivery: WindowDelivery;

  constructor(private readonly deps: CollectorDeps) {
    this.options = deps.options;
    this.clock = deps.clock ?? Date.now;
    this.metrics = deps.metrics ?? noopMetrics;
    const o = deps.options;
    this.rescans = new RescanRunner(
      {
        horizonMinutes: o.dedupe ? o.rescanHorizonMinutes : 0,
        every: o.rescanEvery,
        windowMinutes: o.windowMinutes,
        frequencySeconds: o.frequencySeconds ?? 300,
        pageSize: o.pageSize ?? 5000,
        maxSpanMinutes: o.maxSpanMinutes ?? 14_400,
        budgetLimit: o.budget?.limit ?? 100,
        budgetWindowSeconds: o.budget?.windowSeconds ?? 300,
        detailsPerHour: o.details ? o.detailsMaxPerWindow * (60 / o.windowMinutes) : 0,
      },
      deps.logger,
      this.metrics,
      deps.budget,
    );
    this.bookkeeping = new Bookkeeping(deps, this.rescans);
    this.delivery = new WindowDelivery(deps, this.clock, this.metrics, this.bookkeeping);
  }

  planOptions(): PlanOptions {
    const o = this.options;
    return {
      delayMinutes: o.delayMinutes,
      windowMinutes: o.windowMinutes,
      maxWindows: o.maxWindows,
      rescanMinutes: o.rescanHorizonMinutes,
      maxSpanMinutes: o.maxSpanMinutes,
    };
  }

  /** Where a state without a cursor starts: on a whole second, like every window edge. */
  initialCursor(now: number): Date {
    return this.options.start ? wholeSecond(parseTime(this.options.start, now, "start").getTime()) : defaultStart(now, this.planOptions());
  }

  /**
   * A first start inside a span a backfill delivered and whose identities are forgotten moves to its end (read
   * again, it would be delivered twice). Where identities are still known, the live collector reads the span
   * again and they drop what was delivered: an overlap costs requests, not duplicates.
   */
  private firstCursor(start: Date, forgotten: Span[]): Date {
    const at = skipForgotten(start.getTime(), forgotten);
    if (at === start.getTime()) return start;
    this.deps.logger.info("a backfill delivered the start and its identities are no longer kept; the live cursor begins after it", {
      start: start.toISOString(),
      begins: new Date(at).toISOString(),
    });
    return new Date(at);
  }

  /** Run one cycle. The caller holds the state lock. */
  async runCycle(signal?: AbortSignal): Promise<CycleResult> {
    const o = this.options;
    const book = (this.book = this.bookkeeping.open());
    const { state } = book;
    const local = this.clock();
    const forgotten = forgottenSpans(state, o.dedupe);
    // A cursor stored inside a second (by a version that kept a start's milliseconds) resumes from that second:
    // its rows received after the cursor are read again rather than lost; dedupe drops the ones delivered.
    if (state.cursor !== undefined) state.cursor = wholeSecond(Date.parse(state.cursor)).toISOString();
    const cursor = state.cursor ? new Date(state.cursor) : this.firstCursor(this.initialCursor(local), forgotten);
    // Plan by the earlier of our clock and the service's: a local clock that jumped ahead must not make us
    // read (and commit) windows the service has not finished.
    const server = this.deps.serverClock?.now();
    refuseFutureCursor(cursor, state.cursor !== undefined, server, o.start);
    const now = planningNow(local, this.deps.serverClock?.earliest());
    const plan = this.planOptions();
    const result: CycleResult = { windows: 0, rescanned: 0, records: 0, duplicates: 0, behind: false };
    const add = (r: WindowResult) => {
      result.records += r.records;
      result.duplicates += r.duplicates;
    };
    const hadCursor = state.cursor !== undefined;
    state.cycles++;
    // Band ages count back from the cursor as the cycle found it: windows read in this cycle are not re-read.
    this.rescans.begin(state, now, cursor.getTime());

    // New windows first: re-scans spend only what the budget has left, so they never delay fresh data.
    // Around spans a backfill delivered whose identities are forgotten: the cursor steps over them.
    const windows = planWindowsSkipping(cursor, now, { ...plan, maxWindows: plan.maxWindows + 1 }, forgotten);
    result.behind = windows.length > plan.maxWindows;
    for (const w of windows.slice(0, plan.maxWindows)) {
      if (state.cursor !== undefined && Date.parse(state.cursor) < w.start.getTime()) {
        this.deps.logger.info("skipping a span a backfill delivered (its identities are no longer kept)", {
          from: state.cursor,
          to: w.start.toISOString(),
        });
        state.cursor = w.start.toISOString();
      }
      const stats = emptyReadStats();
      add(await this.deliverWindow(w, { signal, stats }));
      this.rescans.noteNew(w, stats);
      result.windows++;
    }

    // Re-scans: the planner's due bands, youngest first, one chunk at a time within the cycle's allowance.
    // Never before the state's first window (`origin`): the default start moves with the clock.
    if (hadCursor && this.rescans.due(state.cycles)) {
      for (let chunk = this.rescans.next(this.clock()); chunk; chunk = this.rescans.next(this.clock())) {
        const stats = emptyReadStats();
        const c = chunk;
        // The chunk's progress is saved with the window's own commit. A chunk that would overrun the budget
        // stops after the page it is on, keeping the reserve free; its progress is what was read.
        let stopped = false;
        add(
          await this.deliverWindow(c, {
            rescan: true,
            signal,
            stats,
            tier: this.rescans.tierOf(c),
            stopEarly: () => (stopped = this.rescans.allowance(this.clock()) < 2),
            beforeCommit: (readFrom) => this.rescans.done(c, stats, readFrom),
          }),
        );
        result.rescanned++;
        if (stopped) break;
      }
    }
    this.rescans.end(state);
    // Each window committed already (with the schedule); a cycle that read nothing still records its run.
    if (result.windows === 0 && result.rescanned === 0) {
      // Nothing due yet: persist where we start, so a state file always has a cursor (load refuses one without).
      if (state.cursor === undefined) state.origin = state.cursor = cursor.toISOString();
      await this.bookkeeping.commit(book.ledger, state);
    }
    result.cursor = state.cursor ?? cursor.toISOString();
    this.metrics.cursor(Date.parse(result.cursor), now);
    return result;
  }

  /**
   * Read, dedupe and send one window; commit once the sink has all of it. A new window (not a re-scan) must
   * start at the cursor and moves it to the window's end. A backfill window moves the state's backfill cursor
   * instead (the live cursor is left alone), with the same identities. The caller holds the state lock.
   */
  async deliverWindow(
    w: Window,
    opts: {
      rescan?: boolean;
      /** A window of the backfill recorded in the state (src/cli/backfill.ts). */
      backfill?: boolean;
      signal?: AbortSignal;
      stats?: ReadStats;
      tier?: string;
      /** Re-scans only: checked after each page; true ends the read there (see WindowResult.readFrom). */
      stopEarly?: () => boolean;
      beforeCommit?: (readFrom?: number) => void;
    } = {},
  ): Promise<WindowResult> {
    const book = (this.book ??= this.bookkeeping.open());
    const rescan = !!opts.rescan;
    const kind: WindowKind = rescan ? "rescan" : opts.backfill ? "backfill" : "new";
    const cursor = book.state.cursor;
    if (kind === "backfill" && !book.state.backfill)
      throw new CollectorError("internal", "a backfill window without a backfill recorded in the state");
    if (kind === "new" && cursor !== undefined && Date.parse(cursor) !== w.start.getTime()) {
      throw new CollectorError(
        "internal",
        `window [${w.start.toISOString()}, ${w.end.toISOString()}) does not start at the cursor ${cursor}`,
      );
    }
    const stats = opts.stats ?? emptyReadStats();
    let r: WindowResult;
    try {
      r = await this.delivery.processWindow(w, kind, book, stats, opts.signal, opts.beforeCommit, rescan ? opts.stopEarly : undefined);
    } catch (err) {
      book.checkpoints.abandon();
      throw err;
    }
    this.metrics.windowDone(rescan ? "rescan" : "new");
    const span = { start: w.start.toISOString(), end: w.end.toISOString() };
    if (rescan) this.deps.logger.debug("re-scan window done", { ...span, tier: opts.tier, new_records: r.records, requests: stats.pages });
    else this.deps.logger.info("window delivered", { ...span, records: r.records });
    return r;
  }

  /** The state as loaded for this collector's windows (the caller holds the state lock). */
  currentState(): State {
    return (this.book ??= this.bookkeeping.open()).state;
  }

  /**
   * Record or change the state's backfill (src/cli/backfill.ts) and commit it with the identities as they
   * are. The caller holds the state lock.
   */
  updateState(change: (state: State) => void): State {
    const book = (this.book ??= this.bookkeeping.open());
    change(book.state);
    book.ledger.commit(book.state);
    return book.state;
  }
}
