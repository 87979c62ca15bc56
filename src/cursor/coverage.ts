// What a tenant+source's one state has delivered, and where its identities are still known. Backfill and
// the live collector share that state (one lock, one journal, one identity set), so a span both read costs
// requests, never duplicates: the identities say what was delivered. Identities are not kept forever, though
// (the state stays bounded): below `identitiesFrom` they were forgotten, and a span delivered there is skipped
// instead of read again — re-reading it could not tell what was sent.
import type { State } from "./store.js";

export interface Span {
  from: number;
  to: number;
}

/** The backfill a state records: its range and how far it is done. */
export interface BackfillProgress extends Span {
  cursor: number;
  done: boolean;
}

export function backfillProgress(state: State): BackfillProgress | undefined {
  const b = state.backfill;
  if (!b) return undefined;
  const from = Date.parse(b.from);
  const to = Date.parse(b.to);
  const cursor = Date.parse(b.cursor);
  return { from, to, cursor, done: cursor >= to };
}

/** Spans delivered completely: the live [origin, cursor), finished backfills, the done part of the current one. */
export function coveredSpans(state: State): Span[] {
  const spans: Span[] = [];
  const { origin, cursor } = state;
  if (origin !== undefined && cursor !== undefined) spans.push({ from: Date.parse(origin), to: Date.parse(cursor) });
  for (const c of state.covered ?? []) spans.push({ from: Date.parse(c.from), to: Date.parse(c.to) });
  const b = backfillProgress(state);
  if (b) spans.push({ from: b.from, to: Math.min(b.cursor, b.to) });
  return mergeSpans(spans);
}

export function mergeSpans(spans: Span[]): Span[] {
  const sorted = spans.filter((s) => Number.isFinite(s.from) && Number.isFinite(s.to) && s.to > s.from).sort((a, b) => a.from - b.from);
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.from <= last.to) last.to = Math.max(last.to, s.to);
    else out.push({ ...s });
  }
  return out;
}

/**
 * From when on every delivered identity is still known (epoch ms). A state written before this was recorded
 * falls back to the live re-scans' own floor, and without that to its cursor (all before it counts as
 * forgotten: such a span is skipped, as the live collector's whole span was before backfill shared its state).
 */
export function identitiesFrom(state: State): number {
  const recorded = state.seen_from !== undefined ? Date.parse(state.seen_from) : NaN;
  if (Number.isFinite(recorded)) return recorded;
  const kept = (state.rescan as { keptFrom?: unknown } | undefined)?.keptFrom;
  if (typeof kept === "number" && Number.isFinite(kept)) return kept;
  return state.cursor !== undefined ? Date.parse(state.cursor) : -Infinity;
}

/** Delivered spans whose identities are forgotten (all of them with dedupe off): readers skip them. */
export function forgottenSpans(state: State, dedupe = true): Span[] {
  const floor = dedupe ? identitiesFrom(state) : Infinity;
  return coveredSpans(state)
    .filter((s) => s.from < floor)
    .map((s) => ({ from: s.from, to: Math.min(s.to, floor) }));
}

/** `t`, or the end of the forgotten span it falls in. */
export function skipForgotten(t: number, forgotten: readonly Span[]): number {
  for (const s of forgotten) if (s.from <= t && t < s.to) t = s.to;
  return t;
}

/** The start of the first forgotten span after `t`, where a read starting at `t` must stop. */
export function nextForgotten(t: number, forgotten: readonly Span[]): number | undefined {
  return forgotten.find((s) => s.from > t)?.from;
}
