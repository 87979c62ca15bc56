// Journal delivered identities per sink confirmation, not per API page. Before a record goes to the sink the
// collector says which ledger entries its confirmation settles (its identity; every member's identity for a
// grouped record); the sink reports each confirmation (a forward ack, an HTTP 2xx) and
// those entries are recorded in the ledger at once. So when the receiver dies mid-page, the window read again
// skips everything that was acknowledged and only the chunks never acknowledged are sent twice. A sink that does
// not report confirmations is checkpointed at its flush, as before.
//
// What waits for a confirmation is keyed by the record's identity (its `id`), never by the record: the
// collector's records die as soon as the sink has encoded them, instead of living (and being copied by every
// young-generation collection, issue 19) until the page's flush. Only the entries the journal needs are kept.
import type { Envelope, Sink } from "../types.js";
import type { DeliveryLedger, Entry } from "./ledger.js";

export class Checkpoints {
  /** Identity → what its confirmation settles: one entry (a per-recipient record) or several (a grouped one). */
  private readonly awaiting = new Map<string, Entry | Entry[]>();
  /**
   * Identities expected more than once before being confirmed (never in the collector's own use: in-page
   * duplicates are dropped, and ids already delivered are not sent): how many more confirmations they wait for.
   * Their entries are recorded with the last one, never before every record of that identity was confirmed.
   */
  private readonly repeats = new Map<string, number>();
  /**
   * Whether the sink reports confirmations. If not, what its flush settles is only listed, no identity map: a
   * fingerprinted entry as its fingerprint and time (what the journal and the seen set use), so the entry and
   * its identity string die young; other entries (markers, dedupe's ids without fingerprints) as they are.
   */
  private readonly reports: boolean;
  private listedFps: string[] = [];
  private listedTimes: number[] = [];
  private listed: Entry[] = [];
  private durable: Promise<void> = Promise.resolve();
  private failure?: unknown;

  constructor(
    private readonly ledger: DeliveryLedger,
    sink: Sink,
  ) {
    // One listener per sink: a new cycle's checkpoints replace the last cycle's.
    this.reports = ledger.enabled && sink.onConfirm !== undefined;
    if (this.reports) sink.onConfirm!((records) => this.confirmed(records));
  }

  /** Before sending `e`: what its confirmation settles (one entry, or a grouped record's). Only `e.id` is kept, not `e`. */
  expect(e: Envelope, entries: Entry | Entry[]): void {
    if (!this.ledger.enabled) return;
    if (!this.reports) {
      if (Array.isArray(entries)) for (const x of entries) this.list(x);
      else this.list(entries);
      return;
    }
    const value = Array.isArray(entries) && entries.length === 1 ? entries[0]! : entries;
    // The entry's own id string as the key when it is the record's identity: nothing more kept per record.
    const key = !Array.isArray(value) && value.id === e.id ? value.id : e.id;
    const before = this.awaiting.get(key);
    if (before === undefined) {
      this.awaiting.set(key, value);
      return;
    }
    this.awaiting.set(key, ([] as Entry[]).concat(before, value));
    this.repeats.set(key, (this.repeats.get(key) ?? 0) + 1);
  }

  private list(x: Entry): void {
    if (x.fp === undefined) {
      this.listed.push(x);
      return;
    }
    this.listedFps.push(x.fp);
    this.listedTimes.push(x.time);
  }

  /**
   * After a flush resolved (everything sent is confirmed): record what is left — all of it for a sink without
   * confirmation reports — plus `extra` entries settled by this step. Resolves when all of it is durable.
   * Throws at once (like the ledger) when a journal line could not be written, here or in an earlier callback.
   */
  settle(extra: Entry[] = []): Promise<void> {
    const rest = this.listed;
    // The journal reads only the fingerprint when there is one (DeliveryLedger.record): no identity needed.
    for (let i = 0; i < this.listedFps.length; i++) rest.push({ id: "", time: this.listedTimes[i]!, fp: this.listedFps[i]! });
    this.dropListed();
    for (const v of this.awaiting.values()) {
      if (Array.isArray(v)) for (const x of v) rest.push(x);
      else rest.push(v);
    }
    this.awaiting.clear();
    this.repeats.clear();
    this.record(rest.length > 0 ? rest.concat(extra) : extra);
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined;
      throw err;
    }
    return this.durable;
  }

  /** The window failed: what was never confirmed is read again, and nothing of it may be recorded later. */
  abandon(): void {
    this.dropListed();
    this.awaiting.clear();
    this.repeats.clear();
  }

  private dropListed(): void {
    this.listed = [];
    this.listedFps = [];
    this.listedTimes = [];
  }

  private confirmed(records: ReadonlyArray<Pick<Envelope, "id">>): void {
    const done: Entry[] = [];
    for (const r of records) {
      const entries = this.awaiting.get(r.id);
      if (entries === undefined) continue;
      const more = this.repeats.get(r.id);
      if (more !== undefined) {
        if (more > 1) this.repeats.set(r.id, more - 1);
        else this.repeats.delete(r.id);
        continue;
      }
      this.awaiting.delete(r.id);
      if (Array.isArray(entries)) for (const x of entries) done.push(x);
      else done.push(entries);
    }
    this.record(done);
  }

  private record(entries: Entry[]): void {
    if (entries.length === 0) return;
    try {
      // The journal line is written now; its fdatasync runs in the background and settle() waits for it.
      this.durable = this.ledger.record(entries);
      // A sync that fails is reported by settle(); until then nobody awaits this promise.
      this.durable.catch(() => {});
    } catch (err) {
      // Called from a sink callback: keep the error for the settle() that covers these records.
      this.failure ??= err;
    }
  }
}
