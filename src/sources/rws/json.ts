// JSON reader for the MessageTrace report (`$format=json`). Tenants answer either OData v2 verbose JSON
// `{"d":{"results":[…],"__next":"…"}}` (dates as `/Date(ms)/`, Int64 as strings) or OData v3 JSON light
// `{"value":[…],"odata.nextLink":"…"}` (docs §2, unverified which one when): both are accepted, and so
// are the v1 verbose `{"d":[…]}` and v4 `@odata.nextLink` spellings, which cost nothing to allow.
import { kindOf } from "../row-rejects.js";
import { garbled, jsonValue, MESSAGE_TRACE_FIELDS, UnreadableEntry, type RwsEntry, type RwsPage } from "./values.js";

/** A verbose-JSON navigation property (`{"__deferred":{"uri":…}}`): a link, not a field. */
const isDeferred = (v: unknown) => typeof v === "object" && v !== null && "__deferred" in v;

/**
 * One result as an entry, or why it cannot be one (a null, a number, a MessageTrace field holding an object):
 * that row is rejected and quarantined, the rest of the page delivered.
 */
function entryOf(item: unknown): RwsEntry | UnreadableEntry {
  if (!item || typeof item !== "object" || Array.isArray(item)) return new UnreadableEntry(`the entry is ${kindOf(item)}, not an object`);
  const entry: RwsEntry = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(item as Record<string, unknown>)) {
    // Annotations (__metadata, odata.*, @odata.*) describe the entry, they are not fields.
    if (key.startsWith("__") || key.includes(".") || key.startsWith("@") || isDeferred(value)) continue;
    if (typeof value === "object" && value !== null && MESSAGE_TRACE_FIELDS.has(key.toLowerCase()))
      problems.push(`${key} is ${kindOf(value)}, not a value`);
    entry[key.toLowerCase()] = jsonValue(value);
  }
  return problems.length > 0 ? new UnreadableEntry(problems.join("; ")) : entry;
}

/** Parse one JSON page. `pageUrl` resolves a relative next link. */
export function parseRwsJson(body: string, pageUrl: string): RwsPage {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw garbled(`a body that is not JSON (${body.length} bytes, starts ${JSON.stringify(body.slice(0, 40))})`);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw garbled("JSON that is not an object");
  const o = doc as Record<string, unknown>;
  let results: unknown;
  let next: unknown;
  if (o.d !== undefined) {
    const d = o.d as Record<string, unknown> | unknown[] | null;
    if (Array.isArray(d)) results = d;
    else if (d && typeof d === "object") {
      results = d.results;
      next = d.__next;
    }
  } else {
    results = o.value;
    next = o["odata.nextLink"] ?? o["@odata.nextLink"];
  }
  if (!Array.isArray(results)) throw garbled('JSON without a "d.results" or "value" array');
  if (next !== undefined && next !== null && typeof next !== "string") throw garbled("a next link that is not a string");
  let nextUrl: string | undefined;
  if (typeof next === "string" && next !== "") {
    try {
      nextUrl = new URL(next, pageUrl).toString();
    } catch {
      throw garbled(`a next link that is not a URL (${JSON.stringify(next.slice(0, 80))})`);
    }
  }
  return { entries: results.map(entryOf), next: nextUrl, raws: results.length > 0 ? results : undefined };
}
