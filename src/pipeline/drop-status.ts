// `drop_status`: rows whose normalised status is listed are not sent. A status change is a new record
// (identity includes status), so dropping the transient GettingStatus/Pending still lets the final one through.
import { normaliseStatus } from "../schema/mapper.js";
import type { TraceRow } from "../types.js";

/** A predicate for rows to drop, or undefined when nothing is dropped (the hot path then pays nothing). */
export function statusDropper(statuses: readonly string[]): ((row: TraceRow) => boolean) | undefined {
  if (statuses.length === 0) return undefined;
  const drop = new Set(statuses.map((s) => normaliseStatus(s).toLowerCase()));
  return (row) => row.status !== undefined && drop.has(normaliseStatus(row.status).toLowerCase());
}
