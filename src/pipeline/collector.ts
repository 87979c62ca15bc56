// One poll cycle: plan windows after the cursor (and re-scan windows before it), deliver each, and commit the
// cursor only after the sink confirms the whole window. Delivering a window is the data path: read pages,
// drop rows outside the window and identities already delivered, map, send, and tell the delivery ledger
// what the sink confirmed. Nothing here knows which API, which sink or which config file is in use: the
// composition root (runtime.ts) gives it narrow options, the source's query limit among them.
import type { State } from "../cursor/store.js";
import { DeliveryLedger, type Entry } from "../dedupe/ledger.js";
import { CollectorError } from "../errors.js";
import { identity } from "../schema/mapper.js";
import type { Envelope, TraceRow, Window } from "../types.js";
import { defaultStart, planWindowsSkipping, type PlanOptions } from "../window/planner.js";
import { forgottenSpans, skipForgotten, type Span } from "../cursor/coverage.js";
import { parseTime } from "../window/time.js";
import { noopMetrics, type PipelineMetrics } from "./metrics.js";
import { statusDropper } from "./drop-status.js";
import { planningNow, refuseFutureCursor } from "./clock-guard.js";
import { readAhead } from "./read-ahead.js";
import { emptyReadStats, RescanRunner, type ReadStats } from "./rescans.js";
import { Bookkeeping, type Book, type WindowKind } from "./bookkeeping.js";
import type { CollectorDeps, CollectorOptions, CycleResult, WindowResult } from "./collector-contract.js";

export type { CollectorDeps, CollectorOptions, CycleResult, WindowResult } from "./collector-contract.js";

/**
 * Rows first seen with a provisional status get a marker too; a later row of the same recipient with a new
 * identity (a changed status) is then counted as a status change in the lateness metrics.
 */
const openMark = (row: TraceRow) => `${row.traceId ?? ""}|${(row.recipient ?? "").toLowerCase()}|status-open`;
const PROVISIONAL = new Set(["gettingstatus", "pending"]);

type Fresh = { row: TraceRow; entry: Entry };

/** Which rows' detail events to fetch in this window, within details_max_per_window. */
class DetailPlan {
  readonly rows: TraceRow[] = [];
  /** Rows passed over because of the bound: their details are settled without fetching. */
  private settled: Entry[] = [];

  constructor(
    readonly enabled: boolean,
    private readonly max: number,
    private readonly ledger: DeliveryLedger,
  ) {}

  /** A row delivered before whose details never were (the window failed in between): fetch them now. */
  redelivered(row: TraceRow, e: Entry): void {
    if (this.enabled && this.ledger.enabled && !this.ledger.detailsSettled(e.id, e.time) && this.rows.length < this.max)
      this.rows.push(row);
  }

  fresh(list: Fresh[]): void {
    if (!this.enabled) return;
    for (const f of list) {
      if (this.rows.length < this.max) this.rows.push(f.row);
      else this.settled.push(this.ledger.settledMark(f.entry.id, f.entry.time));
    }
  }

  takeSettled(): Entry[] {
    return this.settled.splice(0);
  }
}

export class Collector {
  readonly options: CollectorOptions;
  private readonly clock: () => number;
  private readonly metrics: PipelineMetrics;
  private readonly dropped?: (row: TraceRow) => boolean;
  private book?: Book;
  readonly rescans: RescanRunner;
  private readonly bookkeeping: Bookkeeping;

  constructor(private readonly deps: CollectorDeps) {
    this.options = deps.options;
    this.clock = deps.clock ?? Date.now;
    this.metrics = deps.metrics ?? noopMetrics;
    this.dropped = statusDropper(deps.options.dropStatus ?? []);
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

  /** Where a state without a cursor starts. */
  initialCursor(now: number): Date {
    return this.options.start ? parseTime(this.options.start, now, "start") : defaultStart(now, this.planOptions());
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
    const cursor = state.cursor ? new Date(state.cursor) : this.firstCursor(this.initialCursor(local), forgotten);
    // Plan by the earlier of our clock and the service's: a local clock that jumped ahead must not make us
    // read (and commit) windows the service has not finished.
    const server = this.deps.serverClock?.now();
    refuseFutureCursor(cursor, state.cursor !== undefined, server, o.start);
    const now = planningNow(local, server);
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
        this.deps.logger.info("skipping a span a backfill delivered (its identities are no longer kept)", { from: state.cursor, to: w.start.toISOString() });
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
    if (kind === "backfill" && !book.state.backfill) throw new CollectorError("internal", "a backfill window without a backfill recorded in the state");
    if (kind === "new" && cursor !== undefined && Date.parse(cursor) !== w.start.getTime()) {
      throw new CollectorError(
        "internal",
        `window [${w.start.toISOString()}, ${w.end.toISOString()}) does not start at the cursor ${cursor}`,
      );
    }
    const stats = opts.stats ?? emptyReadStats();
    let r: WindowResult;
    try {
      r = await this.processWindow(w, kind, book, stats, opts.signal, opts.beforeCommit, rescan ? opts.stopEarly : undefined);
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

  /**
   * Rows of a page inside the half-open window and not delivered before. Rows `drop_status` names go to
   * `settled` instead: never sent, but recorded like delivered ones, so a re-scan neither sends nor counts them
   * again and never fetches their details.
   */
  private fresh(
    page: TraceRow[],
    w: Window,
    ledger: DeliveryLedger,
    details: DetailPlan,
    out: WindowResult,
    settled: Entry[],
    stats: ReadStats,
  ): Fresh[] {
    const start = w.start.getTime();
    const end = w.end.getTime();
    const fresh: Fresh[] = [];
    const inPage = new Set<string>();
    // Only sources that select by received time promise rows inside the window (see WindowSelection).
    const inWindowOnly = this.deps.source.windowSelection?.by !== "processing";
    let collisions = 0;
    let untimed = 0;
    for (const row of page) {
      const time = row.receivedMs ?? Date.parse(row.received);
      if (Number.isNaN(time)) untimed++;
      // Half-open window: a row at exactly `end` belongs to the next window.
      if (inWindowOnly && !(time >= start && time < end)) continue;
      stats.rows++;
      const id = identity(row.traceId, row.recipient, row.status);
      const entry = ledger.entry(id, time);
      if (inPage.has(id) || ledger.delivered(entry)) {
        if (inPage.has(id)) collisions++;
        else details.redelivered(row, entry);
        out.duplicates++;
        this.metrics.duplicatesDropped(1);
        continue;
      }
      inPage.add(id);
      if (this.dropped?.(row)) {
        settled.push(entry);
        if (details.enabled) settled.push(ledger.settledMark(id, time));
        this.metrics.recordsDropped("status", 1);
        continue;
      }
      fresh.push({ row, entry });
    }
    // Never silent: rows the window cannot place, and rows sharing one identity on one page (only the first is sent).
    const at = { window_start: w.start.toISOString() };
    if (untimed > 0) this.deps.logger.warn("rows without a usable received time were skipped", { count: untimed, ...at });
    if (collisions > 0)
      this.deps.logger.warn("rows with the same identity on one page: only the first was sent", { count: collisions, ...at });
    return fresh;
  }

  /** Lateness of newly found rows and status changes; returns the provisional-status markers to record. */
  private lateness(fresh: Fresh[], ledger: DeliveryLedger, stats: ReadStats): Entry[] {
    const foundAt = this.clock();
    const marks: Entry[] = [];
    if (!ledger.enabled) return marks;
    for (const f of fresh) {
      stats.lateSeconds.push(Math.max(0, (foundAt - f.entry.time) / 1000));
      const mark = openMark(f.row);
      if (ledger.deliveredId(mark, f.entry.time)) stats.statusChanges++;
      else if (PROVISIONAL.has((f.row.status ?? "").toLowerCase())) marks.push({ id: mark, time: f.entry.time });
    }
    return marks;
  }

  /** Delivery latency: the sink has confirmed these rows now. */
  private delivered(fresh: Fresh[]): void {
    if (fresh.length === 0) return;
    const now = this.clock();
    this.metrics.deliveryLatency(fresh.map((f) => Math.max(0, (now - f.entry.time) / 1000)));
  }

  private async processWindow(
    w: Window,
    kind: WindowKind,
    book: Book,
    stats: ReadStats,
    signal?: AbortSignal,
    beforeCommit?: (readFrom?: number) => void,
    stopEarly?: () => boolean,
  ): Promise<WindowResult> {
    const { state, ledger, checkpoints, seen } = book;
    const { source, sink, mapper } = this.deps;
    const o = this.options;
    const details = new DetailPlan(o.details && !!source.readDetails, o.detailsMaxPerWindow, ledger);
    const grouped = new Map<string, Fresh[]>();
    const out: WindowResult = { records: 0, duplicates: 0 };
    // Identities settled without sending (drop_status), recorded with the next checkpoint.
    const dropped: Entry[] = [];
    // The previous page's journal sync, left running while this page is filtered and mapped.
    let durable: Promise<void> | undefined;

    // Both APIs return rows newest first, so after each page everything from the oldest row seen to the
    // window's end has been read: a re-scan stopped early resumes there.
    let oldest = w.end.getTime();
    for await (const page of readAhead(source.readWindow(w, signal))) {
      stats.pages++;
      // Checked before this page is used: the pages so far are delivered, and the one in hand is dropped.
      if (stopEarly?.()) {
        out.readFrom = oldest;
        break;
      }
      for (const row of page) {
        const t = row.receivedMs ?? Date.parse(row.received);
        if (t < oldest) oldest = Math.max(t, w.start.getTime());
      }
      const fresh = this.fresh(page, w, ledger, details, out, dropped, stats);
      const marks = this.lateness(fresh, ledger, stats);
      details.fresh(fresh);
      if (o.groupBy === "message") {
        for (const f of fresh) {
          const key = f.row.traceId ?? f.entry.id;
          let list = grouped.get(key);
          if (!list) grouped.set(key, (list = []));
          list.push(f);
        }
        continue;
      }
      if (fresh.length === 0) continue;
      // Mapped and sent in the sink's batch size: each batch's records are garbage once sent (the stdout sink's
      // are bytes by then), instead of a page's worth of record objects outliving young-generation collections.
      const batch = Math.max(1, sink.batchHint ?? fresh.length);
      for (let i = 0; i < fresh.length; i += batch) {
        const part = fresh.length <= batch ? fresh : fresh.slice(i, i + batch);
        const envelopes = part.map((f) => mapper.mapRow(f.row, w));
        // Nothing goes out before the previous page's identities are durable: a crash re-sends at most one page.
        await durable;
        for (let k = 0; k < envelopes.length; k++) checkpoints.expect(envelopes[k]!, [part[k]!.entry]);
        await sink.send(envelopes);
      }
      out.records += fresh.length;
      if (ledger.enabled) {
        // Each confirmation inside the page was recorded as it came, so a receiver failure later repeats only
        // unconfirmed chunks; the flush confirms the rest, and the page's identities become durable.
        await sink.flush();
        durable = checkpoints.settle([...details.takeSettled(), ...dropped.splice(0), ...marks]);
        this.bookkeeping.trim(seen, Date.parse(state.cursor ?? w.end.toISOString()));
      }
      this.delivered(fresh);
      this.metrics.recordsEmitted(fresh.length);
    }

    await durable;
    // Grouped output goes out in batches of page_size messages, each confirmed and journaled before the next
    // (a message's rows all in one batch): a crash re-sends at most one batch, as in per-recipient mode.
    const groups = [...grouped.values()];
    const batch = Math.max(1, o.groupBatch ?? 1000);
    for (let i = 0; i < groups.length; i += batch) {
      const envelopes: Envelope[] = [];
      for (const members of groups.slice(i, i + batch)) {
        const e = mapper.mapGroup(
          members.map((m) => m.row),
          w,
        );
        envelopes.push(e);
        checkpoints.expect(
          e,
          members.map((m) => m.entry),
        );
      }
      await sink.send(envelopes);
      out.records += envelopes.length;
      this.metrics.recordsEmitted(envelopes.length);
      if (ledger.enabled) {
        await sink.flush();
        await checkpoints.settle(i + batch >= groups.length ? [...details.takeSettled(), ...dropped.splice(0)] : []);
      }
    }

    if (details.rows.length > 0) out.records += await this.sendDetails(details.rows, w, book, signal);
    // Dropped rows no page carried (all of a last page dropped): nothing was sent for them.
    if (ledger.enabled && dropped.length > 0) await ledger.record(dropped.splice(0));

    await sink.flush();
    await this.bookkeeping.commitWindow(w, kind, book, out, beforeCommit);
    return out;
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

  private async sendDetails(rows: TraceRow[], w: Window, { ledger, checkpoints }: Book, signal?: AbortSignal): Promise<number> {
    const { source, sink, mapper } = this.deps;
    let sent = 0;
    for (const row of rows) {
      const details = await source.readDetails!(row, signal);
      const envelopes = mapper.mapDetails(details, w).filter((e) => !ledger.deliveredId(e.id, e.time));
      if (envelopes.length > 0) {
        for (const e of envelopes) checkpoints.expect(e, [{ id: e.id, time: e.time }]);
        await sink.send(envelopes);
        sent += envelopes.length;
        this.metrics.recordsEmitted(envelopes.length);
      }
      if (ledger.enabled) {
        if (envelopes.length > 0) await sink.flush();
        await checkpoints.settle([ledger.settledMark(identity(row.traceId, row.recipient, row.status), Date.parse(row.received))]);
      }
    }
    return sent;
  }
}
