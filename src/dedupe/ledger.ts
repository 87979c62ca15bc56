// The delivery ledger: which identities (and which rows' detail events) the sink has confirmed, backed by
// the state store's journal and state file. The collector asks it "delivered before?" and tells it "now
// delivered"; it never decides when to send or commit. With dedupe off it remembers nothing.
import type { State, StateBackend } from "../cursor/store.js";
import { fingerprint, type SeenSet } from "./seen.js";

/** An identity at its event time; `fp` is its fingerprint, hashed once when dedupe is on. */
export interface Entry {
  /** Read only when `fp` is absent: an entry known by its fingerprint alone may leave it empty (Checkpoints). */
  id: string;
  time: number;
  fp?: string;
}

/**
 * With details on, a row's details are "settled" once delivered (or once the row was passed over because of
 * details_max_per_window). The marker is journaled like an identity, so a window that fails between its rows
 * and their details fetches exactly the unsettled details again when it is re-read: none lost, none doubled.
 */
const detailsMark = (id: string) => `${id}|details-settled`;

export class DeliveryLedger {
  constructor(
    private readonly store: StateBackend,
    private readonly seen: SeenSet,
    /** config.dedupe: remember identities at all. */
    readonly enabled: boolean,
  ) {}

  entry(id: string, time: number): Entry {
    return { id, time, fp: this.enabled ? fingerprint(id) : undefined };
  }

  /** Confirmed by the sink before (this run, or journaled/committed by an earlier one). */
  delivered(e: Entry): boolean {
    return e.fp !== undefined && this.seen.hasFingerprint(e.fp, e.time);
  }

  deliveredId(id: string, time: number): boolean {
    return this.enabled && this.seen.has(id, time);
  }

  detailsSettled(id: string, time: number): boolean {
    return this.seen.has(detailsMark(id), time);
  }

  /** The marker entry saying the details of the row with identity `id` need not be fetched again. */
  settledMark(id: string, time: number): Entry {
    return { id: detailsMark(id), time };
  }

  /**
   * Remember entries the sink has confirmed: journaled (the line is written before this returns) and known
   * in memory. The promise resolves when the journal line is durable. Nothing happens with dedupe off.
   */
  record(entries: Entry[]): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const durable = this.store.journal(entries);
    for (const e of entries) this.seen.add(e.id, e.time, e.fp);
    return durable;
  }

  /**
   * Persist the state (the cursor) with the identities, after forgetting those older than `forgetBefore`:
   * they can never come back in a re-scan, and the state stays bounded.
   */
  commit(state: State, forgetBefore?: number): void {
    if (this.enabled && forgetBefore !== undefined) this.seen.prune(forgetBefore);
    this.store.commit(state, this.enabled ? this.seen : undefined);
  }

  /** `commit` with the disk work in the thread pool (the collector's windows: many tenants share one loop). */
  commitAsync(state: State, forgetBefore?: number): Promise<void> {
    if (this.enabled && forgetBefore !== undefined) this.seen.prune(forgetBefore);
    return this.store.commitAsync(state, this.enabled ? this.seen : undefined);
  }
}
