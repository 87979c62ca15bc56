// In-memory fakes of a source, a sink and a state store, for fast unit tests of the collector alone. Every
// fake logs what happens to one shared event list, so a test can check the order (send → flush → journal →
// commit). Guarantees are proven end to end against the simulator elsewhere; these pin the collector's logic.
import type { State, StateBackend } from "../../src/cursor/store.js";
import { SeenSet } from "../../src/dedupe/seen.js";
import type { Envelope, Sink, Source, TraceRow, Window } from "../../src/types.js";

export type Event =
  { kind: "send"; ids: string[] } | { kind: "flush"; ids: string[] } | { kind: "journal"; n: number } | { kind: "commit"; cursor?: string };

/** Rows in memory; a window is answered like Graph does (`ge start and le end`: the end itself included), in pages. */
export class FakeSource implements Source {
  readonly kind = "fake";
  reads = 0;
  constructor(
    private readonly rows: TraceRow[],
    private readonly pageSize = 3,
  ) {}

  async *readWindow(w: Window): AsyncIterable<TraceRow[]> {
    this.reads++;
    const inside = this.rows.filter((r) => Date.parse(r.received) >= w.start.getTime() && Date.parse(r.received) <= w.end.getTime());
    for (let i = 0; i < inside.length; i += this.pageSize) yield inside.slice(i, i + this.pageSize);
  }
}

/** Fails the n-th call of one of its methods, once (a receiver that drops the connection). */
export interface FailAt {
  method: "send" | "flush";
  call: number;
}

/** A sink whose receiver has what was flushed: `delivered` holds ids in confirmation order. */
export class FakeSink implements Sink {
  readonly name = "fake";
  readonly delivered: string[] = [];
  readonly envelopes: Envelope[] = [];
  private pending: Envelope[] = [];
  private calls = { send: 0, flush: 0 };

  constructor(
    private readonly events: Event[],
    private readonly fail?: FailAt,
  ) {}

  private maybeFail(method: "send" | "flush"): void {
    if (this.fail?.method === method && ++this.calls[method] === this.fail.call) {
      this.pending = [];
      throw new Error(`fake sink: ${method} #${this.fail.call} failed`);
    }
  }

  async send(batch: Envelope[]): Promise<void> {
    this.maybeFail("send");
    this.events.push({ kind: "send", ids: batch.map((e) => e.id) });
    this.pending.push(...batch);
  }

  async flush(): Promise<void> {
    this.maybeFail("flush");
    this.events.push({ kind: "flush", ids: this.pending.map((e) => e.id) });
    for (const e of this.pending) this.delivered.push(e.id);
    this.envelopes.push(...this.pending);
    this.pending = [];
  }

  async close(): Promise<void> {
    this.pending = [];
  }
}

/** The state file and journal in memory; survives a "crash" (a new collector over the same store). */
export class MemoryStore implements StateBackend {
  private state?: string;
  private seen?: Record<string, string>;
  private journalLines: Array<Array<{ id: string; time: number; fp?: string }>> = [];
  /** Fail the n-th journal append or commit, once (the process dies there). */
  failAt?: { method: "journal" | "commit"; call: number };
  private calls = { journal: 0, commit: 0 };

  constructor(private readonly events: Event[]) {}

  private maybeFail(method: "journal" | "commit"): void {
    if (this.failAt?.method === method && ++this.calls[method] === this.failAt.call)
      throw new Error(`memory store: ${method} #${this.failAt.call} failed`);
  }

  load(): { state: State; seen: SeenSet } {
    const fresh: State = { version: 1, tenant_id: "t", source: "fake", windows_done: 0, records_delivered: 0, cycles: 0 };
    const state = this.state ? (JSON.parse(this.state) as State) : fresh;
    const seen = SeenSet.fromJSON(this.seen);
    for (const line of this.journalLines) for (const e of line) seen.add(e.id, e.time, e.fp);
    return { state, seen };
  }

  journal(entries: Array<{ id: string; time: number; fp?: string }>): Promise<void> {
    this.maybeFail("journal");
    if (entries.length > 0) {
      this.journalLines.push(entries.map((e) => ({ ...e })));
      this.events.push({ kind: "journal", n: entries.length });
    }
    return Promise.resolve();
  }

  commit(state: State, seen?: SeenSet): void {
    this.maybeFail("commit");
    this.state = JSON.stringify(state);
    this.seen = seen?.toJSON();
    this.journalLines = [];
    this.events.push({ kind: "commit", cursor: state.cursor });
  }

  async commitAsync(state: State, seen?: SeenSet): Promise<void> {
    this.commit(state, seen);
  }

  get cursor(): string | undefined {
    return this.state ? (JSON.parse(this.state) as State).cursor : undefined;
  }
}
