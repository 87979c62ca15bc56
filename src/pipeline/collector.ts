// One poll cycle: plan windows after the cursor (and re-scan windows before it), read each page by page,
// drop rows outside the window and identities already delivered, map, send, and commit the cursor only
// after the sink confirms the whole window. Nothing here knows which API or which sink is in use.
import type { Config } from "../config/schema.js";
import type { StateStore, State } from "../cursor/store.js";
import { fingerprint, type SeenSet } from "../dedupe/seen.js";
import type { Logger } from "../log/logger.js";
import { identity, type RecordMapper } from "../schema/mapper.js";
import type { Envelope, Sink, Source, TraceRow, Window } from "../types.js";
import { defaultStart, planRescan, planWindows, type PlanOptions } from "../window/planner.js";
import { parseTime } from "../window/time.js";
import { noopMetrics, type PipelineMetrics } from "./metrics.js";
import { readAhead } from "./read-ahead.js";

export interface CollectorDeps {
  config: Config;
  source: Source;
  sink: Sink;
  store: StateStore;
  mapper: RecordMapper;
  logger: Logger;
  clock?: () => number;
  metrics?: PipelineMetrics;
}

export interface CycleResult {
  windows: number;
  rescanned: number;
  records: number;
  duplicates: number;
  cursor?: string;
  /** True when more complete windows are waiting (catch-up). */
  behind: boolean;
}

const GRAPH_MAX_SPAN_MINUTES = 10 * 24 * 60;

/**
 * With details on, a row's details are "settled" once delivered (or once the row was passed over because of
 * details_max_per_window). The marker is journaled like an identity, so a window that fails between its rows
 * and their details fetches exactly the unsettled details again when it is re-read: none lost, none doubled.
 */
const detailsMark = (id: string) => `${id}|details-settled`;

export class Collector {
  private readonly clock: () => number;
  private readonly metrics: PipelineMetrics;

  constructor(private readonly deps: CollectorDeps) {
    this.clock = deps.clock ?? Date.now;
    this.metrics = deps.metrics ?? noopMetrics;
  }

  planOptions(): PlanOptions {
    const c = this.deps.config;
    return {
      delayMinutes: c.delay,
      windowMinutes: c.window,
      maxWindows: c.max_windows_per_run,
      rescanMinutes: c.rescan.horizon,
      maxSpanMinutes: GRAPH_MAX_SPAN_MINUTES,
    };
  }

  /** Where a state without a cursor starts. */
  initialCursor(now: number): Date {
    const c = this.deps.config;
    return c.start ? parseTime(c.start, now, "start") : defaultStart(now, this.planOptions());
  }

  /** Run one cycle. The caller holds the state lock. */
  async runCycle(signal?: AbortSignal): Promise<CycleResult> {
    const { store, config, logger } = this.deps;
    const now = this.clock();
    const { state, seen } = store.load();
    const cursor = state.cursor ? new Date(state.cursor) : this.initialCursor(now);
    const opts = this.planOptions();
    const result: CycleResult = { windows: 0, rescanned: 0, records: 0, duplicates: 0, behind: false };
    state.cycles++;

    const rescanDue = config.rescan.horizon > 0 && config.dedupe && state.cursor !== undefined && state.cycles % config.rescan.every === 0;
    // Re-scans never reach before the state's first window (`origin`, persisted): the default start moves
    // with the clock, so flooring at initialCursor(now) would shrink the horizon to about one window.
    const rescans = rescanDue ? planRescan(cursor, opts, state.origin ? new Date(state.origin) : undefined) : [];
    for (const w of rescans) {
      const n = await this.processWindow(w, true, state, seen, result, signal);
      result.rescanned++;
      this.metrics.windowDone("rescan");
      logger.debug("re-scan window done", { start: w.start.toISOString(), end: w.end.toISOString(), new_records: n });
    }

    const windows = planWindows(cursor, now, { ...opts, maxWindows: opts.maxWindows + 1 });
    result.behind = windows.length > opts.maxWindows;
    for (const w of windows.slice(0, opts.maxWindows)) {
      const n = await this.processWindow(w, false, state, seen, result, signal);
      result.windows++;
      this.metrics.windowDone("new");
      logger.info("window delivered", { start: w.start.toISOString(), end: w.end.toISOString(), records: n });
    }
    if (windows.length === 0 && rescans.length === 0) store.commit(state, config.dedupe ? seen : undefined);
    result.cursor = state.cursor ?? cursor.toISOString();
    this.metrics.cursor(Date.parse(result.cursor), now);
    return result;
  }

  /** Read, dedupe, send one window; commit when the sink has all of it. Returns records sent. */
  private async processWindow(w: Window, rescan: boolean, state: State, seen: SeenSet, result: CycleResult, signal?: AbortSignal): Promise<number> {
    const { source, sink, store, mapper, config } = this.deps;
    const start = w.start.getTime();
    const end = w.end.getTime();
    const grouped = new Map<string, TraceRow[]>();
    const detailRows: TraceRow[] = [];
    const settled: Array<{ id: string; time: number }> = [];
    const wantDetails = config.details && !!source.readDetails;
    let sent = 0;
    // The previous page's journal sync, left running while this page is filtered and mapped.
    let durable: Promise<void> | undefined;

    for await (const page of readAhead(source.readWindow(w, signal))) {
      const fresh: Array<{ row: TraceRow; id: string; time: number; fp?: string }> = [];
      const inPage = new Set<string>();
      for (const row of page) {
        const time = Date.parse(row.received);
        // Half-open window: a row at exactly `end` belongs to the next window.
        if (!(time >= start && time < end)) continue;
        const id = identity(row.traceId, row.recipient);
        // Hashed once: the same fingerprint is looked up, journaled and added.
        const fp = config.dedupe ? fingerprint(id) : undefined;
        if ((fp !== undefined && seen.hasFingerprint(fp, time)) || inPage.has(id)) {
          // Delivered before, but its details never were (the window failed in between): fetch them now.
          if (wantDetails && config.dedupe && !inPage.has(id) && !seen.has(detailsMark(id), time) && detailRows.length < config.details_max_per_window) {
            detailRows.push(row);
          }
          result.duplicates++;
          this.metrics.duplicatesDropped(1);
          continue;
        }
        inPage.add(id);
        fresh.push({ row, id, time, fp });
      }
      if (wantDetails) {
        for (const f of fresh) {
          if (detailRows.length < config.details_max_per_window) detailRows.push(f.row);
          else settled.push({ id: detailsMark(f.id), time: f.time });
        }
      }
      if (config.group_by === "message") {
        for (const f of fresh) {
          const key = f.row.traceId ?? f.id;
          let list = grouped.get(key);
          if (!list) grouped.set(key, (list = []));
          list.push(f.row);
        }
        continue;
      }
      if (fresh.length === 0) continue;
      const envelopes = fresh.map((f) => mapper.mapRow(f.row, w));
      // Nothing goes out before the previous page's identities are durable: a crash re-sends at most one page.
      await durable;
      await sink.send(envelopes);
      sent += fresh.length;
      if (config.dedupe) {
        // Checkpoint the page: once the sink confirms it, its identities are journaled, so a crash or a
        // failure later in this window never re-sends it.
        await sink.flush();
        const done: Array<{ id: string; time: number; fp?: string }> = settled.length > 0 ? [...fresh, ...settled.splice(0)] : fresh;
        durable = store.journal(done);
        for (const f of done) seen.add(f.id, f.time, f.fp);
      }
      this.metrics.recordsEmitted(fresh.length);
    }

    await durable;
    if (grouped.size > 0) {
      const envelopes: Envelope[] = [];
      const ids: Array<{ id: string; time: number }> = [];
      for (const rows of grouped.values()) {
        envelopes.push(mapper.mapGroup(rows, w));
        for (const r of rows) ids.push({ id: identity(r.traceId, r.recipient), time: Date.parse(r.received) });
      }
      await sink.send(envelopes);
      sent += envelopes.length;
      this.metrics.recordsEmitted(envelopes.length);
      if (config.dedupe) {
        await sink.flush();
        ids.push(...settled.splice(0));
        await store.journal(ids);
        for (const i of ids) seen.add(i.id, i.time);
      }
    }

    if (detailRows.length > 0 && wantDetails) sent += await this.sendDetails(detailRows, w, seen, signal);

    await sink.flush();
    if (!rescan) {
      if (state.cursor === undefined) state.origin = w.start.toISOString();
      state.cursor = w.end.toISOString();
      state.windows_done++;
    }
    state.records_delivered += sent;
    result.records += sent;
    // Identities older than every future re-scan can never come back: forget them to keep the state bounded.
    if (config.dedupe && state.cursor) seen.prune(Date.parse(state.cursor) - config.rescan.horizon * 60_000);
    store.commit(state, config.dedupe ? seen : undefined);
    return sent;
  }

  private async sendDetails(rows: TraceRow[], w: Window, seen: SeenSet, signal?: AbortSignal): Promise<number> {
    const { source, sink, store, mapper, config } = this.deps;
    let sent = 0;
    for (const row of rows) {
      const details = await source.readDetails!(row, signal);
      const envelopes = details.map((d) => mapper.mapDetail(d, w)).filter((e) => !(config.dedupe && seen.has(e.id, e.time)));
      if (envelopes.length > 0) {
        await sink.send(envelopes);
        sent += envelopes.length;
        this.metrics.recordsEmitted(envelopes.length);
      }
      if (config.dedupe) {
        if (envelopes.length > 0) await sink.flush();
        const done = [...envelopes.map((e) => ({ id: e.id, time: e.time })), { id: detailsMark(identity(row.traceId, row.recipient)), time: Date.parse(row.received) }];
        await store.journal(done);
        for (const e of done) seen.add(e.id, e.time);
      }
    }
    return sent;
  }
}
