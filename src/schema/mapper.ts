// TraceRow (either API) → `o365.message.*` record. Hot path: build the flat object directly, nest only on request.
import { hash } from "node:crypto";
import type { Envelope, OutRecord, SourceKind, TraceDetailRow, TraceRow, Window } from "../types.js";
import { apiTimeIso, parseApiTime } from "../window/time.js";
import { PREFIX, STATUSES } from "./fields.js";

export interface MapOptions {
  tenantId: string;
  source: SourceKind;
  keyStyle: "flat" | "nested";
  localDomains: string[];
  organization?: string;
}

const STATUS_BY_LOWER = new Map(STATUSES.map((s) => [s.toLowerCase(), s]));

/** Any casing of a known status → its canonical spelling; unknown values pass through unchanged. */
export function normaliseStatus(status: string): string {
  return STATUS_BY_LOWER.get(status.toLowerCase()) ?? status;
}

/** ISO 8601 UTC with Z and milliseconds, whatever the API sent (zone-less = UTC, 7 digits, offsets, `/Date(ms)/`). */
export function isoTime(value: string): string {
  return apiTimeIso(value) ?? value;
}

/**
 * A row's identity: `(trace_id, recipient, status)` (schema.md). The same row re-read with the same status is a
 * duplicate; a changed status is a new record. Status in any casing (`delivered`, `Delivered`) is one status.
 */
export function identity(traceId: string | undefined, recipient: string | undefined, status: string | undefined): string {
  return `${traceId ?? ""}|${(recipient ?? "").toLowerCase()}|${(status ?? "").toLowerCase()}`;
}

/**
 * A detail event's identity: its parent's trace id and recipient (not status: the event list of a row only
 * grows when its status changes, and the old events must stay duplicates), a digest of every field, and the
 * event's ordinal among identical events of the list. Events sharing a whole-second date and an event name
 * stay apart, and the identity holds whatever order the API lists events in.
 */
export function detailIdentity(detail: TraceDetailRow, occurrence: number): string {
  const p = detail.parent;
  const digest = hash(
    "sha1",
    JSON.stringify([isoTime(detail.date), detail.event ?? "", detail.action ?? "", detail.description ?? "", detail.data ?? ""]),
    "base64url",
  ).slice(0, 16);
  return `${p.traceId ?? ""}|${(p.recipient ?? "").toLowerCase()}|detail|${digest}|${occurrence}`;
}

function domainOf(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const at = address.lastIndexOf("@");
  return at >= 0 ? address.slice(at + 1).toLowerCase() : undefined;
}

/** Field names built once: a key concatenated per record would be a fresh string to look up every time. */
const K = {
  id: PREFIX + "id",
  trace_id: PREFIX + "trace_id",
  received: PREFIX + "received",
  sender: PREFIX + "sender",
  subject: PREFIX + "subject",
  size: PREFIX + "size",
  status: PREFIX + "status",
  from_ip: PREFIX + "from_ip",
  to_ip: PREFIX + "to_ip",
  index: PREFIX + "index",
  organization: PREFIX + "organization",
  tenant_id: PREFIX + "tenant_id",
  source: PREFIX + "source",
  window_start: PREFIX + "window_start",
  window_end: PREFIX + "window_end",
  recipient: PREFIX + "recipient",
  direction: PREFIX + "direction",
} as const;

const present = (v: unknown): boolean => v !== undefined && v !== null && v !== "";

export class RecordMapper {
  private readonly local: string[];
  /** The window's ISO bounds, computed once per window instead of once per record. */
  private lastWindow?: { window: Window; start: string; end: string };

  constructor(private readonly opts: MapOptions) {
    this.local = opts.localDomains.map((d) => d.toLowerCase().replace(/^\*?\./, ""));
  }

  private isLocal(address: string | undefined): boolean {
    const d = domainOf(address);
    if (!d) return false;
    return this.local.some((l) => d === l || d.endsWith("." + l));
  }

  direction(sender: string | undefined, recipients: string[]): string | undefined {
    if (this.local.length === 0) return undefined;
    const fromLocal = this.isLocal(sender);
    const toLocal = recipients.length > 0 && recipients.every((r) => this.isLocal(r));
    if (fromLocal) return toLocal ? "internal" : "outbound";
    return recipients.some((r) => this.isLocal(r)) ? "inbound" : "external";
  }

  private windowIso(window: Window): { start: string; end: string } {
    const c = this.lastWindow;
    if (c && c.window === window) return c;
    const next = { window, start: window.start.toISOString(), end: window.end.toISOString() };
    this.lastWindow = next;
    return next;
  }

  /** The flat record body shared by per-recipient, grouped and detail records (key order is the output order). */
  private base(row: TraceRow, window: Window): Record<string, unknown> {
    const r: Record<string, unknown> = {};
    if (present(row.messageId)) r[K.id] = row.messageId;
    if (present(row.traceId)) r[K.trace_id] = row.traceId;
    if (present(row.received)) r[K.received] = isoTime(row.received);
    const sender = row.sender?.toLowerCase();
    if (present(sender)) r[K.sender] = sender;
    if (present(row.subject)) r[K.subject] = row.subject;
    if (present(row.size)) r[K.size] = row.size;
    if (present(row.status)) r[K.status] = normaliseStatus(row.status!);
    if (present(row.fromIP)) r[K.from_ip] = row.fromIP;
    if (present(row.toIP)) r[K.to_ip] = row.toIP;
    if (present(row.index)) r[K.index] = row.index;
    const org = row.organization ?? this.opts.organization ?? this.opts.tenantId;
    if (present(org)) r[K.organization] = org;
    if (present(this.opts.tenantId)) r[K.tenant_id] = this.opts.tenantId;
    if (present(this.opts.source)) r[K.source] = this.opts.source;
    const w = row.windowStart && row.windowEnd ? undefined : this.windowIso(window);
    r[K.window_start] = row.windowStart ? isoTime(row.windowStart) : w!.start;
    r[K.window_end] = row.windowEnd ? isoTime(row.windowEnd) : w!.end;
    return r;
  }

  private finish(flat: Record<string, unknown>): OutRecord {
    return this.opts.keyStyle === "nested" ? nest(flat) : flat;
  }

  /** group_by: recipient — the APIs' own grain. */
  mapRow(row: TraceRow, window: Window): Envelope {
    const r = this.base(row, window);
    const recipient = row.recipient?.toLowerCase();
    if (recipient) r[K.recipient] = recipient;
    const dir = this.local.length === 0 ? undefined : this.direction(row.sender, recipient ? [recipient] : []);
    if (dir) r[K.direction] = dir;
    return { id: identity(row.traceId, recipient, row.status), time: row.receivedMs ?? Date.parse(row.received), record: this.finish(r) };
  }

  /** group_by: message — one record per trace id with every recipient seen (rows share trace id). */
  mapGroup(rows: TraceRow[], window: Window): Envelope {
    const first = rows[0]!;
    const r = this.base(first, window);
    const recipients = [...new Set(rows.map((x) => x.recipient?.toLowerCase()).filter((x): x is string => !!x))];
    r[PREFIX + "recipient"] = recipients;
    r[PREFIX + "recipient_count"] = recipients.length;
    // Status can differ per recipient; a grouped record keeps the first row's (documented).
    const dir = this.direction(first.sender, recipients);
    if (dir) r[PREFIX + "direction"] = dir;
    return {
      id: identity(first.traceId, recipients.join(","), rows.map((x) => x.status ?? "").join(",")),
      time: Date.parse(first.received),
      record: this.finish(r),
    };
  }

  /** All detail events of one recipient: identical events are told apart by their ordinal. */
  mapDetails(details: TraceDetailRow[], window: Window): Envelope[] {
    const seen = new Map<string, number>();
    return details.map((d) => {
      const key = detailIdentity(d, 0);
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      return this.mapDetail(d, window, n);
    });
  }

  mapDetail(detail: TraceDetailRow, window: Window, occurrence = 0): Envelope {
    const p = detail.parent;
    const r = this.base(p, window);
    const recipient = p.recipient?.toLowerCase();
    if (recipient) r[PREFIX + "recipient"] = recipient;
    const set = (k: string, v: string | undefined) => {
      if (v !== undefined && v !== "") r[PREFIX + "detail." + k] = v;
    };
    set("date", isoTime(detail.date));
    set("event", detail.event);
    set("action", detail.action);
    set("description", detail.description);
    set("data", detail.data);
    return { id: detailIdentity(detail, occurrence), time: parseApiTime(detail.date) ?? Date.parse(p.received), record: this.finish(r) };
  }
}

/** `{"o365.message.detail.event": x}` → `{o365:{message:{detail:{event:x}}}}`. */
export function nest(flat: Record<string, unknown>): OutRecord {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split(".");
    let cur = out;
    for (const p of parts.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
    cur[parts[parts.length - 1]!] = value;
  }
  return out;
}
