// One window's delivery, the data path: read the window's pages, keep the rows inside it that were not
// delivered before, map them, send them, and record each identity the sink confirms; then the rows' detail
// events, then the commit (bookkeeping.ts). Page by page, so a crash re-sends at most one page (or one grouped
// batch). Lateness and delivery metrics are taken here, where rows are first found and confirmed. The cycle
// that decides which windows to deliver is collector.ts.
import type { DeliveryLedger, Entry } from "../dedupe/ledger.js";
import { FingerprintSet } from "../dedupe/seen.js";
import { identity } from "../schema/mapper.js";
import type { Envelope, TraceRow, Window } from "../types.js";
import { wholeSecond } from "../window/time.js";
import type { Book, Bookkeeping, WindowKind } from "./bookkeeping.js";
import type { CollectorDeps, CollectorOptions, WindowResult } from "./collector-contract.js";
import { statusDropper } from "./drop-status.js";
import type { PipelineMetrics } from "./metrics.js";
import { readAhead } from "./read-ahead.js";
import type { ReadStats } from "./rescans.js";

/**
 * Rows first seen with a provisional status get a marker too; a later row of the same recipient with a new
 * identity (a changed status) is then counted as a status change in the lateness metrics.
 */
const openMark = (row: TraceRow) => `${row.traceId ?? ""}|${(row.recipient ?? "").toLowerCase()}|status-open`;
const PROVISIONAL = new Set(["gettingstatus", "pending"]);

type Fresh = { row: TraceRow; entry: Entry };
/** The identities of a page so far: fingerprints in a table when dedupe is on (no object per row), else the ids. */
class PageIds {
  private readonly fps: FingerprintSet;
  private readonly ids = new Set<string>();

  constructor(rows: number) {
    this.fps = new FingerprintSet(rows);
  }

  has(e: Entry): boolean {
    return e.fp !== undefined ? this.fps.has(e.fp) : this.ids.has(e.id);
  }

  add(e: Entry): void {
    if (e.fp !== undefined) this.fps.add(e.fp);
    else this.ids.add(e.id);
  }
}

/** A page's rows worth a warning, counted over its slices. */
type OddRows = { collisions: number; untimed: number };

/**
 * Rows of a page filtered, mapped and sent at a time (at most; a sink's batchHint may ask for fewer). Small
 * enough that a slice's per-record objects die before the next young-generation collection (1 MB semi-spaces:
 * one every ~400 records), large enough that the per-slice costs (an await, one write) stay negligible.
 */
const SLICE = 256;

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

/** Delivers one window at a time for the collector (new, re-scan or backfill: the kind only matters at the commit). */
export class WindowDelivery {
  private readonly options: CollectorOptions;
  private readonly dropped?: (row: TraceRow) => boolean;

  constructor(
    private readonly deps: CollectorDeps,
    private readonly clock: () => number,
    private readonly metrics: PipelineMetrics,
    private readonly bookkeeping: Bookkeeping,
  ) {
    this.options = deps.options;
    this.dropped = statusDropper(deps.options.dropStatus ?? []);
  }

  /**
   * Read, filter, map and send one window, page by page, each page's identities journaled once the sink
   * confirmed it; then its details; then the commit. The caller (Collector.deliverWindow) checked the window.
   */
  async processWindow(
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

    // Both APIs return rows newest first, so after each page everything after the oldest row seen has been
    // read. A re-scan stopped early resumes from the end of that row's second: the service orders by finer
    // times than the whole seconds Graph shows, so the next page may hold more rows of it (dedupe drops those
    // delivered).
    let oldest = w.end.getTime();
    const slice = Math.max(1, Math.min(SLICE, sink.batchHint ?? SLICE));
    for await (const page of readAhead(source.readWindow(w, signal))) {
      stats.pages++;
      // Checked before this page is used: the pages so far are delivered, and the one in hand is dropped.
      if (stopEarly?.()) {
        out.readFrom = Math.min(w.end.getTime(), wholeSecond(oldest).getTime() + 1000);
        break;
      }
      for (const row of page) {
        const t = row.receivedMs ?? Date.parse(row.received);
        if (t < oldest) oldest = Math.max(t, w.start.getTime());
      }
      // The page in slices: each slice's rows are filtered, mapped, expected and sent before the next slice is
      // looked at, so its Fresh list, entries' keys, envelopes and records die young (before the next
      // young-generation collection) instead of living, copied and promoted, until the page's flush (issue 19).
      // What outlives a slice until the page's journal: the entries (in the checkpoints), the page's identity
      // set (in-page duplicates) and one number per record (delivery latency).
      const inPage = new PageIds(page.length);
      const marks: Entry[] = [];
      const times = new Float64Array(page.length);
      const odd = { collisions: 0, untimed: 0 };
      let sent = 0;
      for (let from = 0; from < page.length; from += slice) {
        const fresh = this.fresh(page, from, from + slice, inPage, odd, w, ledger, details, out, dropped, stats);
        this.lateness(fresh, ledger, stats, marks);
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
        const envelopes = new Array<Envelope>(fresh.length);
        for (let k = 0; k < fresh.length; k++) envelopes[k] = mapper.mapRow(fresh[k]!.row, w);
        // Nothing goes out before the previous page's identities are durable: a crash re-sends at most one page.
        await durable;
        for (let k = 0; k < envelopes.length; k++) {
          const entry = fresh[k]!.entry;
          checkpoints.expect(envelopes[k]!, entry);
          times[sent + k] = entry.time;
        }
        await sink.send(envelopes);
        sent += fresh.length;
      }
      this.oddRows(odd, w);
      if (o.groupBy === "message" || sent === 0) continue;
      out.records += sent;
      if (ledger.enabled) {
        // Each confirmation inside the page was recorded as it came, so a receiver failure later repeats only
        // unconfirmed chunks; the flush confirms the rest, and the page's identities become durable.
        await sink.flush();
        durable = checkpoints.settle([...details.takeSettled(), ...dropped.splice(0), ...marks]);
        this.bookkeeping.trim(seen, Date.parse(state.cursor ?? w.end.toISOString()));
      }
      this.delivered(times, sent);
      this.metrics.recordsEmitted(sent);
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

  /**
   * Rows `page[from, to)` inside the half-open window and not delivered before (nor earlier on the page: `inPage`
   * holds the page's fingerprints). Rows `drop_status` names go to `settled` instead: never sent, but recorded
   * like delivered ones, so a re-scan neither sends nor counts them again and never fetches their details.
   */
  private fresh(
    page: TraceRow[],
    from: number,
    to: number,
    inPage: PageIds,
    odd: OddRows,
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
    // Only sources that select by received time promise rows inside the window (see WindowSelection).
    const inWindowOnly = this.deps.source.windowSelection?.by !== "processing";
    for (let i = from; i < to && i < page.length; i++) {
      const row = page[i]!;
      const time = row.receivedMs ?? Date.parse(row.received);
      if (Number.isNaN(time)) odd.untimed++;
      // Half-open window: a row at exactly `end` belongs to the next window.
      if (inWindowOnly && !(time >= start && time < end)) continue;
      stats.rows++;
      const id = identity(row.traceId, row.recipient, row.status);
      const entry = ledger.entry(id, time);
      const again = inPage.has(entry);
      if (again || ledger.delivered(entry)) {
        if (again) odd.collisions++;
        else details.redelivered(row, entry);
        out.duplicates++;
        this.metrics.duplicatesDropped(1);
        continue;
      }
      inPage.add(entry);
      if (this.dropped?.(row)) {
        settled.push(entry);
        if (details.enabled) settled.push(ledger.settledMark(id, time));
        this.metrics.recordsDropped("status", 1);
        continue;
      }
      fresh.push({ row, entry });
    }
    return fresh;
  }

  /** Never silent: rows the window cannot place, and rows sharing one identity on one page (only the first is sent). */
  private oddRows({ collisions, untimed }: OddRows, w: Window): void {
    const at = { window_start: w.start.toISOString() };
    if (untimed > 0) this.deps.logger.warn("rows without a usable received time were skipped", { count: untimed, ...at });
    if (collisions > 0)
      this.deps.logger.warn("rows with the same identity on one page: only the first was sent", { count: collisions, ...at });
  }

  /** Lateness of newly found rows and status changes; adds the provisional-status markers to record to `marks`. */
  private lateness(fresh: Fresh[], ledger: DeliveryLedger, stats: ReadStats, marks: Entry[]): void {
    if (!ledger.enabled) return;
    const foundAt = this.clock();
    for (const f of fresh) {
      stats.lateSeconds.push(Math.max(0, (foundAt - f.entry.time) / 1000));
      const mark = openMark(f.row);
      if (ledger.deliveredId(mark, f.entry.time)) stats.statusChanges++;
      else if (PROVISIONAL.has((f.row.status ?? "").toLowerCase())) marks.push({ id: mark, time: f.entry.time });
    }
  }

  /** Delivery latency: the sink has confirmed the rows of these `n` event times now. */
  private delivered(times: Float64Array, n: number): void {
    if (n === 0) return;
    const now = this.clock();
    const seconds = new Array<number>(n);
    for (let i = 0; i < n; i++) seconds[i] = Math.max(0, (now - times[i]!) / 1000);
    this.metrics.deliveryLatency(seconds);
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
