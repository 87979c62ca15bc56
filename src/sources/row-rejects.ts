// Rows a source cannot turn into a TraceRow (an item that is not an object, a status that is a number, a
// receivedDateTime that is not a time). Such a row must neither crash the window (the same window would fail
// on every run, forever) nor vanish silently: the source skips it and reports it here, where it is counted,
// logged once per page with its position (never its content: it may hold addresses and subjects), and kept
// in a bounded quarantine file in state_dir for an operator to inspect.
import type { Logger } from "../log/logger.js";
import type { SourceKind, TraceRow, Window } from "../types.js";

export interface RejectedRow {
  /** 0-based page number within the window, and the row's position on that page. */
  page: number;
  position: number;
  reason: string;
  /** The row as received (kept only in the quarantine file). */
  raw: unknown;
}

export interface RowRejects {
  reject(source: SourceKind, window: Window, rows: RejectedRow[]): void;
}

/** One page's items as rows: each item is mapped by `toRow`, or rejected with the reason it returns instead. */
export interface MappedPage {
  rows: TraceRow[];
  rejected: RejectedRow[];
}

/**
 * The one way every source turns a page's items into rows: an item `toRow` cannot map is rejected with its
 * page and position and skipped, never a reason to fail the page (that would fail it on every run, forever).
 * Only a body that is not a page at all fails (and retries) the page, in the source's parser. `raw` is the
 * item as received, kept on the row (preserve_original) or in the quarantine file.
 */
export function mapPage<T>(
  items: readonly T[],
  page: number,
  toRow: (item: T, position: number) => TraceRow | string,
  raw: (item: T, position: number) => unknown = (item) => item,
): MappedPage {
  const out: MappedPage = { rows: [], rejected: [] };
  items.forEach((item, position) => {
    const row = toRow(item, position);
    if (typeof row === "string") out.rejected.push({ page, position, reason: row, raw: raw(item, position) });
    else {
      const original = raw(item, position);
      // Set directly: no object per row to copy it from (a hot path: one call per row).
      if (original !== undefined) row.raw = original;
      out.rows.push(row);
    }
  });
  return out;
}

/** Report a page's rejected rows: to the quarantine when there is one, else at least as a warning line. */
export function reportRejected(
  rejects: RowRejects | undefined,
  logger: Logger,
  source: SourceKind,
  window: Window,
  rows: RejectedRow[],
): void {
  if (rows.length === 0) return;
  if (rejects) rejects.reject(source, window, rows);
  else {
    const first = rows.slice(0, 5).map((r) => `page ${r.page} row ${r.position}: ${r.reason}`);
    logger.warn("rows that cannot be mapped were skipped", {
      source,
      window_start: window.start.toISOString(),
      rejected: rows.length,
      first,
    });
  }
}

/** The kind of a JSON value, for a reason: "null", "an array", "a number"… */
export function kindOf(v: unknown): string {
  const t = typeof v;
  return v === null ? "null" : Array.isArray(v) ? "an array" : t === "object" || t === "undefined" ? `an ${t}` : `a ${t}`;
}

/** Strings that must be strings when present (null and absent are fine: the field is just missing). */
export function optionalString(item: Record<string, unknown>, key: string, problems: string[]): string | undefined {
  const v = item[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  problems.push(`${key} is a ${Array.isArray(v) ? "array" : typeof v}, not a string`);
  return undefined;
}

/** A number, or a string holding one (some gateways quote numbers); anything else is a problem. */
export function optionalNumber(item: Record<string, unknown>, key: string, problems: string[]): number | undefined {
  const v = item[key];
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
  if (Number.isFinite(n)) return n;
  problems.push(`${key} is ${typeof v === "string" ? "a string that is not a number" : `a ${Array.isArray(v) ? "array" : typeof v}`}`);
  return undefined;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
