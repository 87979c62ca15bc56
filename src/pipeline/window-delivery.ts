// One window's delivery, the data path: read the window's pages, keep the rows inside it that were not
// delivered before, map them, send them, and record each identity the sink confirms; then the rows' detail
// events, then the commit (bookkeeping.ts). Page by page, so a crash re-sends at most one page (or one grouped
// batch). Lateness and delivery metrics are taken here, where rows are first found and confirmed. The cycle
// that decides which windows to deliver is collector.ts.
import type { DeliveryLedger, Entry } from "../dedupe/ledger.js";
import { identity } from "../schema/mapper.js";
import type { Envelope, TraceRow, Window } from "../types.js";
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
