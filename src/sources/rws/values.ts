// OData v2/v3 value conversion shared by the Atom and JSON readers: Edm types → JS values, and the
// service's several DateTime spellings → ISO 8601 UTC with Z.
import { CollectorError } from "../../errors.js";
import { parseApiTime } from "../../window/time.js";

const MS_DATE = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/;

/** One property value of a MessageTrace entry after typing. */
export type RwsValue = string | number | boolean | null;
/** One MessageTrace entry: property names lower-cased (the service is not consistent about casing). */
export type RwsEntry = Record<string, RwsValue>;

/**
 * An entry of a well-formed page that cannot be read as a MessageTrace entry (a null, a number, a value that
 * does not fit its declared type): a row problem, rejected and quarantined like any row that cannot be
 * mapped (src/sources/row-rejects.ts), never a reason to fail the whole page.
 */
export class UnreadableEntry {
  constructor(readonly reason: string) {}
}

/** Thrown while reading one entry's values; the reader turns it into an UnreadableEntry at that position. */
export class EntryProblem extends Error {}

/** The MessageTrace properties a row is made of (lower-cased): others are not read, whatever they hold. */
export const MESSAGE_TRACE_FIELDS: ReadonlySet<string> = new Set([
  "messagetraceid",
  "messageid",
  "received",
  "senderaddress",
  "recipientaddress",
  "subject",
  "size",
  "status",
  "fromip",
  "toip",
  "index",
  "organization",
  "startdate",
  "enddate",
]);

/** One response page: its entries and the absolute URL of the next page, if any. */
export interface RwsPage {
  entries: Array<RwsEntry | UnreadableEntry>;
  next?: string;
  /** Each entry as received (original property names), for `preserve_original`; same order as entries. */
  raws?: unknown[];
}

/** Epoch ms of an OData DateTime value (`/Date(ms)/`, zone-less = UTC, 7 digits), or undefined. */
export function odataTimeMs(text: string): number | undefined {
  return parseApiTime(text);
}

/** ISO 8601 UTC with Z of an OData DateTime value, or undefined when it is not one. */
export function odataTime(text: string): string | undefined {
  const ms = odataTimeMs(text);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

const INTEGER_TYPES = new Set(["edm.int16", "edm.int32", "edm.int64", "edm.byte", "edm.sbyte"]);
const NUMBER_TYPES = new Set(["edm.double", "edm.single", "edm.decimal"]);

/**
 * A property text typed by its `m:type` (Atom). Unknown types stay strings; a value that does not fit its
 * declared type is a problem of that entry (EntryProblem), not of the page.
 */
export function typedValue(name: string, type: string | undefined, text: string): RwsValue {
  const t = (type ?? "").toLowerCase();
  if (INTEGER_TYPES.has(t) || NUMBER_TYPES.has(t)) {
    const n = Number(text.trim());
    if (text.trim() === "" || !Number.isFinite(n))
      throw new EntryProblem(`${name} is ${type} but holds ${JSON.stringify(text.slice(0, 40))}`);
    return n;
  }
  if (t === "edm.boolean") return text.trim() === "true";
  if (t === "edm.datetime" || t === "edm.datetimeoffset") {
    const iso = odataTime(text);
    if (iso === undefined) throw new EntryProblem(`${name} is ${type} but holds ${JSON.stringify(text.slice(0, 40))}`);
    return iso;
  }
  return text;
}

/** A JSON property value: verbose JSON writes Int64 as strings and DateTime as `/Date(ms)/`. */
export function jsonValue(value: unknown): RwsValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "number" || typeof value === "boolean") return value;
  if (typeof value === "string") {
    if (MS_DATE.test(value)) return odataTime(value)!;
    return value;
  }
  // Nested objects (__metadata, __deferred links) are not MessageTrace fields.
  return null;
}

export function garbled(what: string): CollectorError {
  return new CollectorError("transient", `the Reporting Web Service returned a page that is not a usable MessageTrace report (${what})`, {
    hint: "retried; if it persists, a proxy may be altering responses",
  });
}
