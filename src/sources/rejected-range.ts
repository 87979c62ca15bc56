// A query the API refused with HTTP 400, explained: which receivedDateTime / StartDate–EndDate range was
// asked for, what the service said, and the documented rules it must meet. Kind "rejected": not retried at
// once (the same query would be refused again), and not fatal to `run`, which tries the window again next
// cycle (an end refused as "later than now" because our clock is ahead of Microsoft's clears by itself).
import { CollectorError } from "../errors.js";
import { parseApiTime } from "../window/time.js";

export const GRAPH_RANGE_RULES =
  "Graph accepts receivedDateTime ranges with both bounds (ge and le), at most 10 days long, starting within the last 90 days and ending no later than the current time";
export const REPORT_RANGE_RULES = "the report accepts StartDate/EndDate ranges of at most 10 days within the last 10 days";

/** The [start, end] of a query URL's filter, from either API's filter syntax. */
export function queryRange(url: string): { start?: number; end?: number } {
  let filter = "";
  try {
    filter = new URL(url).searchParams.get("$filter") ?? "";
  } catch {
    return {};
  }
  const time = (re: RegExp) => {
    const m = re.exec(filter);
    return m ? parseApiTime(m[1]!) : undefined;
  };
  return {
    start: time(/(?:receivedDateTime\s+ge|StartDate\s+eq)\s+(?:datetime')?([0-9T:.+\-Z]+)/i),
    end: time(/(?:receivedDateTime\s+le|EndDate\s+eq)\s+(?:datetime')?([0-9T:.+\-Z]+)/i),
  };
}

export function rejectedRange(
  api: string,
  url: string,
  status: number,
  serviceText: string,
  rules: string,
  now = Date.now(),
): CollectorError {
  const { start, end } = queryRange(url);
  const range = start !== undefined && end !== undefined ? ` for [${new Date(start).toISOString()}, ${new Date(end).toISOString()}]` : "";
  const future = /later than (?:the )?current|in the future/i.test(serviceText) || (end !== undefined && end > now - 60_000);
  const why = future
    ? "the end is at or near this host's current time: if the service's clock is behind ours it refuses it; the collector clamps ends to the present and tries this window again next cycle (check NTP if it persists)"
    : start !== undefined && end !== undefined && end - start > 10 * 86_400_000
      ? "the range is longer than 10 days: use a smaller window"
      : "check `start`, `window` and backfill --from/--to against these limits";
  return new CollectorError("rejected", `${api} rejected the query${range} (HTTP ${status}: ${serviceText.slice(0, 200)})`, {
    status,
    code: "QueryRejected",
    hint: `${rules}; ${why}`,
  });
}
