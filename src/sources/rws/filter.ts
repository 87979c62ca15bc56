// The MessageTrace query for one collector window. The report's StartDate/EndDate are both inclusive and
// the collector's windows are half-open [start, end): we ask for StartDate=start and EndDate=end, and the
// collector drops rows at exactly `end` (they belong to the next window), so windows never overlap.
import type { TraceFilter, Window } from "../../types.js";
import { rwsFilterClauses } from "../trace-filter.js";

export type RwsFormat = "json" | "xml";

/** An OData v2 datetime literal in UTC; milliseconds only when the window has them. */
export function datetimeLiteral(d: Date): string {
  const iso = d.toISOString();
  return `datetime'${d.getUTCMilliseconds() === 0 ? iso.slice(0, 19) + "Z" : iso}'`;
}

export function windowFilter(window: Window): string {
  return `StartDate eq ${datetimeLiteral(window.start)} and EndDate eq ${datetimeLiteral(window.end)}`;
}

/** First-page URL. No $top: in OData it caps the whole result, not the page, and would silently cut rows. */
export function windowUrl(rwsBase: string, window: Window, format: RwsFormat, extra?: TraceFilter): string {
  const base = rwsBase.replace(/\/+$/, "");
  const fmt = format === "json" ? "&$format=json" : "";
  const filter = [windowFilter(window), ...(extra ? rwsFilterClauses(extra) : [])].join(" and ");
  return `${base}/MessageTrace?$filter=${encodeURIComponent(filter)}${fmt}`;
}

export function acceptHeader(format: RwsFormat): string {
  return format === "json" ? "application/json" : "application/atom+xml, application/xml;q=0.9";
}
