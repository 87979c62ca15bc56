// TraceRow (either API) → `o365.message.*` record. Hot path: build the flat object directly, nest only on request.
import type { Envelope, OutRecord, SourceKind, TraceDetailRow, TraceRow, Window } from "../types.js";
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

/** ISO 8601 UTC with Z and milliseconds, whatever the API sent (RWS `/Date(ms)/` is converted by its parser). */
export function isoTime(value: string): string {
  const t = Date.parse(value);
  return Number.isFinite(t) ? new Date(t).toISOString() : value;
}

export function identity(traceId: string | undefined, recipient: string | undefined): string {
  return `${traceId ?? ""}|${(recipient ?? "").toLowerCase()}`;
}

function domainOf(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const at = address.lastIndexOf("@");
  return at >= 0 ? address.slice(at + 1).toLowerCase() : undefined;
}

export class RecordMapper {
  private readonly local: string[];

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

  /** The flat record body shared by per-recipient, grouped and detail records. */
  private base(row: TraceRow, window: Window): Record<string, unknown> {
    const r: Record<string, unknown> = {};
    const set = (k: string, v: unknown) => {
      if (v !== undefined && v !== null && v !== "") r[PREFIX + k] = v;
    };
    set("id", row.messageId);
    set("trace_id", row.traceId);
    set("received", isoTime(row.received));
    set("sender", row.sender?.toLowerCase());
    set("subject", row.subject);
    set("size", row.size);
    set("status", row.status === undefined ? undefined : normaliseStatus(row.status));
    set("from_ip", row.fromIP);
    set("to_ip", row.toIP);
    set("index", row.index);
    set("organization", row.organization ?? this.opts.organization ?? this.opts.tenantId);
    set("tenant_id", this.opts.tenantId);
    set("source", this.opts.source);
    set("window_start", row.windowStart ? isoTime(row.windowStart) : window.start.toISOString());
    set("window_end", row.windowEnd ? isoTime(row.windowEnd) : window.end.toISOString());
    return r;
  }

  private finish(flat: Record<string, unknown>): OutRecord {
    return this.opts.keyStyle === "nested" ? nest(flat) : flat;
  }

  /** group_by: recipient — the APIs' own grain. */
  mapRow(row: TraceRow, window: Window): Envelope {
    const r = this.base(row, window);
    const recipient = row.recipient?.toLowerCase();
    if (recipient) r[PREFIX + "recipient"] = recipient;
    const dir = this.direction(row.sender, recipient ? [recipient] : []);
    if (dir) r[PREFIX + "direction"] = dir;
    return { id: identity(row.traceId, recipient), time: Date.parse(row.received), record: this.finish(r) };
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
    return { id: identity(first.traceId, recipients.join(",")), time: Date.parse(first.received), record: this.finish(r) };
  }

  mapDetail(detail: TraceDetailRow, window: Window): Envelope {
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
    const id = `${identity(p.traceId, recipient)}|${isoTime(detail.date)}|${detail.event ?? ""}`;
    return { id, time: Date.parse(detail.date), record: this.finish(r) };
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
