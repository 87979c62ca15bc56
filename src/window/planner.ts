// Which windows to read now. Windows are half-open [start, end) on receivedDateTime, consecutive, with no
// overlap and no gap; the cursor is the end of the last fully delivered window. A window is ready only
// when its end is at least `delay` behind now (late data). Re-scan windows re-read recent history and
// never move the cursor.
import type { Window } from "../types.js";

export interface PlanOptions {
  delayMinutes: number;
  windowMinutes: number;
  maxWindows: number;
  /** Re-scan horizon in minutes (0 = off). */
  rescanMinutes?: number;
  /** Hard upper bound of one query's span: Graph allows 10 days. */
  maxSpanMinutes?: number;
}

export interface PlannedWindow extends Window {
  rescan: boolean;
}

const MIN = 60_000;

/** Default first cursor for a new state: now − delay − window, floored to the minute. */
export function defaultStart(now: number, opts: PlanOptions): Date {
  const t = now - (opts.delayMinutes + opts.windowMinutes) * MIN;
  return new Date(Math.floor(t / MIN) * MIN);
}

/** New windows after `cursor`, up to `maxWindows`, each ending no later than now − delay. */
export function planWindows(cursor: Date, now: number, opts: PlanOptions): Window[] {
  const size = Math.min(opts.windowMinutes, opts.maxSpanMinutes ?? Infinity) * MIN;
  const limit = now - opts.delayMinutes * MIN;
  const out: Window[] = [];
  let start = cursor.getTime();
  while (out.length < opts.maxWindows && start + size <= limit) {
    out.push({ start: new Date(start), end: new Date(start + size) });
    start += size;
  }
  return out;
}

/** Windows covering [cursor − horizon, cursor), same size as normal windows, to pick up late arrivals. */
export function planRescan(cursor: Date, opts: PlanOptions, floor?: Date): Window[] {
  const horizon = (opts.rescanMinutes ?? 0) * MIN;
  if (horizon <= 0) return [];
  const size = Math.min(opts.windowMinutes, opts.maxSpanMinutes ?? Infinity) * MIN;
  const end = cursor.getTime();
  const start = Math.max(end - horizon, floor?.getTime() ?? -Infinity);
  const out: Window[] = [];
  for (let s = start; s < end; s += size) out.push({ start: new Date(s), end: new Date(Math.min(s + size, end)) });
  return out;
}

/**
 * planWindows, around spans that must not be read (delivered, their identities forgotten: src/cursor/coverage.ts):
 * a window never reaches into one (it ends at its start), and the next begins at its end.
 */
export function planWindowsSkipping(
  cursor: Date,
  now: number,
  opts: PlanOptions,
  skip: ReadonlyArray<{ from: number; to: number }>,
): Window[] {
  if (skip.length === 0) return planWindows(cursor, now, opts);
  const out: Window[] = [];
  let start = cursor.getTime();
  while (out.length < opts.maxWindows) {
    for (const s of skip) if (s.from <= start && start < s.to) start = s.to;
    const [w] = planWindows(new Date(start), now, { ...opts, maxWindows: 1 });
    if (!w) break;
    const stop = skip.find((s) => s.from > start && s.from < w.end.getTime())?.from;
    out.push(stop === undefined ? w : { start: w.start, end: new Date(stop) });
    start = out[out.length - 1]!.end.getTime();
  }
  return out;
}
