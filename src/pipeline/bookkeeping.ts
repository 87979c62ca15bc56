// The state's bookkeeping for the collector: the state loaded with the identities delivered so far (a Book, one
// per cycle or backfill), and what the state keeps of them as windows are committed: which identities are old
// enough to forget (no re-read, re-scan or backfill can meet them again) and which are spilled to disk. Kept
// apart from the data path (window-delivery.ts) because it answers another question: not what to send, but
// what must be remembered so nothing is sent twice while the state stays bounded.
import type { State } from "../cursor/store.js";
import { backfillProgress, identitiesFrom } from "../cursor/coverage.js";
import { Checkpoints } from "../dedupe/checkpoints.js";
import { DeliveryLedger } from "../dedupe/ledger.js";
import type { SeenSet } from "../dedupe/seen.js";
import { SpillingSeenSet } from "../dedupe/spill.js";
import type { Window } from "../types.js";
import { refuseCommitAhead } from "./clock-guard.js";
import type { CollectorDeps, CollectorOptions, WindowResult } from "./collector-contract.js";
import type { RescanRunner } from "./rescans.js";

/** The loaded state and the ledger of what was delivered, for the windows of one cycle (or one backfill). */
export interface Book {
  state: State;
  ledger: DeliveryLedger;
  /** Records each sink confirmation (ack, 2xx) in the ledger as it arrives, or all at the flush (stdout). */
  checkpoints: Checkpoints;
  seen: SeenSet;
}

/** A new window moves the live cursor, a re-scan moves nothing, a backfill window moves the backfill's cursor. */
export type WindowKind = "new" | "rescan" | "backfill";

/** Opens the state for the collector and decides, at each commit, which identities it keeps. */
export class Bookkeeping {
  private readonly options: CollectorOptions;

  constructor(
    private readonly deps: CollectorDeps,
    private readonly rescans: RescanRunner,
  ) {
    this.options = deps.options;
  }

  open(): Book {
    const store = this.deps.store;
    // Identities live beside the state file; minutes no read will meet soon are spilled to disk.
    const spillDir = this.options.dedupe && "file" in store ? `${String(store.file).replace(/\.json$/, "")}.seen` : undefined;
    const { state, seen } = spillDir
      ? store.load(() => new SpillingSeenSet(spillDir, { maxBytes: this.options.dedupeMemoryBytes }))
      : store.load();
    const ledger = new DeliveryLedger(store, seen, this.options.dedupe);
    return { state, seen, ledger, checkpoints: new Checkpoints(ledger, this.deps.sink) };
  }

  /** Identities older than this (epoch ms) can never be met again: the oldest re-scan band plus a window. */
  private forgetBefore(cursor: number): number {
    return Math.min(cursor, this.rescans.anchorMs) - (this.rescans.keepMinutes() + this.options.windowMinutes) * 60_000;
  }

  /** Spill what the next reads will not meet, and hold the byte cap. */
  trim(seen: SeenSet, cursor: number): void {
    if (seen instanceof SpillingSeenSet) seen.trim(cursor - this.rescans.hotMinutes(this.options.delayMinutes) * 60_000);
  }

  /**
   * Identities older than this (epoch ms) are forgotten at this commit, to keep the state bounded; undefined:
   * none. The live collector's: those older than every future re-scan. Before the live collector has started,
   * a backfill keeps a re-scan horizon behind its frontier (a live start there reads the span again and its
   * identities drop what was sent). A backfill window never forgets what the live collector still needs (it
   * goes no higher than what is already forgotten), and while a backfill is unfinished, nothing from its
   * cursor on is forgotten by any commit: a crash mid-window re-reads that window, and the journaled
   * identities of its delivered pages must still be there.
   */
  private pruneFloor(state: State, kind: WindowKind): number | undefined {
    // A source selecting on processing time can return rows received before the window: keep those too.
    const sel = this.deps.source.windowSelection;
    const slack = (sel?.by === "processing" ? sel.slackMinutes : 0) * 60_000;
    const b = backfillProgress(state);
    let floor: number;
    if (state.cursor !== undefined)
      floor = kind === "backfill" ? identitiesFrom(state) : this.forgetBefore(Date.parse(state.cursor)) - slack;
    else if (b) floor = (b.done ? b.to : b.cursor) - (this.options.rescanHorizonMinutes + this.options.windowMinutes) * 60_000 - slack;
    else return undefined;
    if (b && !b.done) floor = Math.min(floor, b.cursor - slack);
    return Number.isFinite(floor) ? floor : undefined;
  }

  /**
   * Commit a window the sink has confirmed in full: move the cursor its kind moves, count its records, forget
   * the identities no read can meet again, and persist the state with the identities at once.
   */
  async commitWindow(
    w: Window,
    kind: WindowKind,
    { state, ledger, seen }: Book,
    out: WindowResult,
    beforeCommit?: (readFrom?: number) => void,
  ): Promise<void> {
    if (kind !== "rescan") refuseCommitAhead(w, this.deps.serverClock);
    if (kind === "new") {
      if (state.cursor === undefined) state.origin = w.start.toISOString();
      state.cursor = w.end.toISOString();
      state.windows_done++;
    } else if (kind === "backfill") {
      state.backfill = { ...state.backfill!, cursor: w.end.toISOString() };
    }
    state.records_delivered += out.records;
    beforeCommit?.(out.readFrom);
    const before = ledger.enabled ? this.pruneFloor(state, kind) : undefined;
    if (before !== undefined) {
      if (kind !== "backfill") this.rescans.forgotten(before);
      this.trim(seen, Date.parse(state.cursor ?? w.end.toISOString()));
      const from = identitiesFrom(state);
      state.seen_from = new Date(Number.isFinite(from) ? Math.max(from, before) : before).toISOString();
    }
    // A backfill leaves the live re-scan schedule as it is (its runner never planned a cycle).
    if (kind !== "backfill") this.rescans.save(state);
    await this.commit(ledger, state, before);
  }

  /** Persist the state with the identities: in the thread pool with `asyncCommit` (the fleet), else synchronously. */
  async commit(ledger: Book["ledger"], state: State, forgetBefore?: number): Promise<void> {
    if (this.deps.options.asyncCommit) await ledger.commitAsync(state, forgetBefore);
    else ledger.commit(state, forgetBefore);
  }
}
