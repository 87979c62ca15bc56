// Rows a source cannot turn into a TraceRow (an item that is not an object, a status that is a number, a
// receivedDateTime that is not a time). Such a row must neither crash the window (the same window would fail
// on every run, forever) nor vanish silently: the source skips it and reports it here, where it is counted,
// logged once per page with its position (never its content: it may hold addresses and subjects), and kept
// in a bounded quarantine file in state_dir for an operator to inspect.
import type { SourceKind, Window } from "../types.js";

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
