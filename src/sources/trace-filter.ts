// Ad-hoc query filters (`get-events --sender/--recipient/--status/--trace-id/--message-id`): turned into the
// documented `$filter` clauses of each API (docs §1, §2), and checked again on every row, so a clause an API
// cannot take (or quietly ignores) still filters. Values are OData string literals with quotes doubled: a value
// can never end its literal and add clauses of its own.
import { CollectorError } from "../errors.js";
import { normaliseStatus } from "../schema/mapper.js";
import type { TraceFilter, TraceRow } from "../types.js";

export type { TraceFilter };

/** An OData string literal: `'…'` with every `'` doubled (OData ABNF `SQUOTE-in-string`). */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Graph's status enum spelling (camelCase); Graph has no `none` (the legacy report's), so that one stays client-side. */
function graphStatus(status: string): string | undefined {
  const s = normaliseStatus(status);
  if (s === "None") return undefined;
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** Graph `exchangeMessageTrace` clauses: `eq` on the filterable properties, joined to the time range by `and`. */
export function graphFilterClauses(f: TraceFilter): string[] {
  const out: string[] = [];
  if (f.sender) out.push(`senderAddress eq ${odataString(f.sender)}`);
  if (f.recipient) out.push(`recipientAddress eq ${odataString(f.recipient)}`);
  const status = f.status ? graphStatus(f.status) : undefined;
  if (status) out.push(`status eq ${odataString(status)}`);
  if (f.traceId) out.push(`id eq ${odataString(f.traceId)}`);
  if (f.messageId) out.push(`messageId eq ${odataString(f.messageId)}`);
  return out;
}

/** Legacy report clauses (docs §2): strings for addresses, status and Message-ID, a `guid'…'` for the trace id. */
export function rwsFilterClauses(f: TraceFilter): string[] {
  const out: string[] = [];
  if (f.sender) out.push(`SenderAddress eq ${odataString(f.sender)}`);
  if (f.recipient) out.push(`RecipientAddress eq ${odataString(f.recipient)}`);
  if (f.status) out.push(`Status eq ${odataString(normaliseStatus(f.status))}`);
  if (f.messageId) out.push(`MessageId eq ${odataString(f.messageId)}`);
  // Checked by checkTraceFilter: a GUID cannot hold a quote.
  if (f.traceId) out.push(`MessageTraceId eq guid'${f.traceId}'`);
  return out;
}

/** Refuse what no API would answer, with the flag named: one clear error instead of an HTTP 400 later. */
export function checkTraceFilter(f: TraceFilter): TraceFilter {
  if (f.traceId !== undefined && !GUID.test(f.traceId)) {
    throw new CollectorError("config", `--trace-id ${JSON.stringify(f.traceId)} is not a message trace id`, {
      hint: "a trace id is a GUID, e.g. 5a1c3e20-7f4b-4c2d-9e11-0b6f2a9d4c71 (o365.message.trace_id)",
    });
  }
  for (const [flag, v] of [
    ["--sender", f.sender],
    ["--recipient", f.recipient],
    ["--status", f.status],
    ["--message-id", f.messageId],
  ] as const) {
    if (v !== undefined && v.trim() === "")
      throw new CollectorError("config", `${flag} is empty`, { hint: `give a value, or leave ${flag} out` });
  }
  return f;
}

export function hasFilter(f: TraceFilter | undefined): f is TraceFilter {
  return !!f && Object.values(f).some((v) => v !== undefined);
}

const same = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** The same filter, client-side: addresses and ids compare case-insensitively, status normalised. */
export function matchesFilter(row: TraceRow, f: TraceFilter): boolean {
  if (f.sender !== undefined && !same(row.sender, f.sender)) return false;
  if (f.recipient !== undefined && !same(row.recipient, f.recipient)) return false;
  const status = row.status === undefined ? undefined : normaliseStatus(row.status);
  if (f.status !== undefined && !same(status, normaliseStatus(f.status))) return false;
  if (f.traceId !== undefined && !same(row.traceId, f.traceId)) return false;
  if (f.messageId !== undefined && !same(row.messageId, f.messageId)) return false;
  return true;
}
