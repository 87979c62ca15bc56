// Shared shapes of the data path: source → mapper → dedupe → sink → cursor.
// The collector and the mapper work on these alone; how a source or sink is configured and built is its
// descriptor's business (sources/descriptor.ts, sinks/descriptor.ts), put together by runtime.ts.

/** A query window on receivedDateTime. Half-open [start, end): consecutive windows neither overlap nor leave a gap. */
export interface Window {
  start: Date;
  end: Date;
}

/** Which API a row came from (a source descriptor's `kind`); also the `o365.message.source` value. */
export type SourceKind = string;

/**
 * One message-trace row as both APIs describe it, before schema mapping.
 * Sources normalise their wire format (Graph JSON, RWS Atom XML / JSON) into this.
 */
export interface TraceRow {
  traceId?: string;
  messageId?: string;
  /** ISO 8601 UTC with Z (sources convert with window/time.ts `apiTimeIso`, never `Date.parse`). */
  received: string;
  /** `received` as epoch milliseconds, when the source has it (saves parsing it again per record). */
  receivedMs?: number;
  sender?: string;
  recipient?: string;
  subject?: string;
  size?: number;
  status?: string;
  fromIP?: string;
  toIP?: string;
  /** Position in the query result (RWS `Index`; Graph: position in the window). */
  index?: number;
  organization?: string;
  /** RWS StartDate/EndDate, when the API reports them. */
  windowStart?: string;
  windowEnd?: string;
  /** The API item as received (parsed JSON, or the Atom entry's properties), kept for `preserve_original`. */
  raw?: unknown;
}

/** A per-recipient detail event (Graph getDetailsByRecipient). */
export interface TraceDetailRow {
  parent: TraceRow;
  date: string;
  event?: string;
  action?: string;
  description?: string;
  data?: string;
  /** The API detail item as received, kept for `preserve_original`. */
  raw?: unknown;
}

/** A record as emitted: flat (`{"o365.message.x": …}`) or nested (`{o365:{message:{x:…}}}`). */
export type OutRecord = Record<string, unknown>;

/** A record ready for a sink: the emitted body plus what the pipeline needs to know about it. */
export interface Envelope {
  /** Stable identity, see schema.md "Identity and dedupe". */
  id: string;
  /** Event time (o365.message.received, or detail date), epoch milliseconds. */
  time: number;
  record: OutRecord;
}

/** Ad-hoc query filters (get-events): sent to the API as `$filter` clauses; see sources/trace-filter.ts. */
export interface TraceFilter {
  sender?: string;
  recipient?: string;
  /** Any casing of a status; compared normalised. */
  status?: string;
  traceId?: string;
  messageId?: string;
}

/**
 * How an API picks the rows of a window. `received`: by received time, so every row returned lies in the
 * window, and rows at exactly its end (both bounds are inclusive) belong to the next one and are dropped.
 * `processing`: by other times (the legacy report's first/last processing steps, docs §5), so a returned
 * row's Received can lie outside the window: every row is kept, identity dedupe removes rows that two windows
 * both return, and delivered identities are remembered `slackMinutes` longer than the re-scan horizon.
 */
export type WindowSelection = { by: "received" } | { by: "processing"; slackMinutes: number };

/** A source reads one window, page by page; each yielded array is one API page (already normalised). */
export interface Source {
  readonly kind: SourceKind;
  /** Default `{ by: "received" }`. */
  readonly windowSelection?: WindowSelection;
  /** `filter` narrows the query where the API can; callers still check rows (matchesFilter). */
  readWindow(window: Window, signal?: AbortSignal, filter?: TraceFilter): AsyncIterable<TraceRow[]>;
  /** Optional per-recipient detail events. */
  readDetails?(row: TraceRow, signal?: AbortSignal): Promise<TraceDetailRow[]>;
  close?(): Promise<void>;
}

/**
 * A sink accepts batches and confirms delivery. `send` may buffer; when the promise returned by `flush`
 * resolves, everything sent before is with the receiver (stdout drained, forward acked, HTTP 2xx).
 * Only then may the cursor move.
 */
export interface Sink {
  readonly name: string;
  /**
   * Most records the sink wants per `send`. The collector filters, maps and sends a page in slices of at most
   * 256 rows (fewer if this asks for fewer), so each slice's objects die young instead of living through the page.
   */
  readonly batchHint?: number;
  send(batch: Envelope[]): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
  /**
   * Checkpoints finer than `flush`: the sink calls `listener` with the records of each confirmation as it arrives
   * (a forward ack, an HTTP 2xx), before the `flush` that covers them resolves. The
   * collector journals them there, so a failure later repeats only records that were never confirmed.
   * Optional: a sink without it is checkpointed at each `flush`. Records are matched by `id` (the collector keeps
   * no record while it waits), so a confirmation may carry the sink's own copies of the records it sent.
   */
  onConfirm?(listener: ConfirmListener): void;
}

/**
 * Receives the records a sink's receiver has confirmed, in no particular grouping (one call per confirmation):
 * the envelopes themselves, or only their identities (a sink that keeps no record while it waits, e.g. forward).
 */
export type ConfirmListener = (records: ReadonlyArray<Pick<Envelope, "id">>) => void;
