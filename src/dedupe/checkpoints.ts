// Journal delivered identities per sink confirmation, not per API page. Before a record goes to the sink the
// collector says which ledger entries its confirmation settles (its identity; every member's identity for a
// grouped record); the sink reports each confirmation (a forward ack, an HTTP 2xx, a completed stdout write) and
// those entries are recorded in the ledger at once. So when the receiver dies mid-page, the window read again
// skips everything that was acknowledged and only the chunks never acknowledged are sent twice. A sink that does
// not report confirmations is checkpointed at its flush, as before.
import type { Envelope, Sink } from "../types.js";
import type { DeliveryLedger, Entry } from "./ledger.js";

export class Checkpoints {
  private readonly awaiting = new Map<Envelope, Entry[]>();
  private durable: Promise<void> = Promise.resolve();
  private failure?: unknown;

  constructor(
    private readonly ledger: DeliveryLedger,
    sink: Sink,
  ) {
    // One listener per sink: a new cycle's checkpoints replace the last cycle's.
    if (ledger.enabled) sink.onConfirm?.((records) => this.confirmed(records));
  }

  /** Before sending `e`: what its confirmation settles. */
  expect(e: Envelope, entries: Entry[]): void {
    if (this.ledger.enabled) this.awaiting.set(e, entries);
  }

  /**
   * After a flush resolved (everything sent is confirmed): record what is left — all of it for a sink without
   * confirmation reports — plus `extra` entries settled by this step. Resolves when all of it is durable.
   * Throws at once (like the ledger) when a journal line could not be written, here or in an earlier callback.
   */
  settle(extra: Entry[] = []): Promise<void> {
    const rest = [...this.awaiting.values()].flat();
    this.awaiting.clear();
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
    this.awaiting.clear();
  }

  private confirmed(records: Envelope[]): void {
    const done: Entry[] = [];
    for (const r of records) {
      const entries = this.awaiting.get(r);
      if (!entries) continue;
      this.awaiting.delete(r);
      for (const x of entries) done.push(x);
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
