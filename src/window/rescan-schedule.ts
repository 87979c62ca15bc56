// Turning the re-scan plan into reads, cycle by cycle. Bands that are due and adjacent are merged into one
// job (one query, up to the source's longest span); a job larger than what this cycle's budget leaves is read
// in chunks, youngest first, and continues in the next cycle. Progress is plain data kept in the state file,
// so a restart or a crash resumes where the last confirmed chunk ended.
import type { Window } from "../types.js";
import type { RescanPlan } from "./rescan-tiers.js";

const MIN = 60_000;

/** Persisted schedule (state.rescan). Times are epoch ms. */
export interface RescanSchedule {
  /** When each band (by index in the plan) was last fully re-read: the start of that job. */
  lastDone: number[];
  /** A job in progress: [lo, hi) of received time, read down to `pos`, for these bands, begun at `started`. */
  job?: { lo: number; hi: number; pos: number; bands: number[]; started: number };
  /** Measured rows per hour of history and requests per hour of the normal collection (EWMA). */
  rowsPerHour?: number;
  normalPerHour?: number;
  /** When the previous cycle ran, to measure the real cycle interval. */
  lastCycle?: number;
  /**
   * Identities before this time (epoch ms) have been forgotten: no read may reach before it, or rows
   * delivered long ago would be sent again (after a long pause, say, when the bands' reach grows).
   */
  keptFrom?: number;
}

export function emptySchedule(): RescanSchedule {
  return { lastDone: [] };
}

/** A schedule read from a state file: anything malformed is dropped (re-scans then simply start over). */
export function scheduleFrom(data: unknown): RescanSchedule {
  const s = emptySchedule();
  if (!data || typeof data !== "object") return s;
  const d = data as Record<string, unknown>;
  if (Array.isArray(d.lastDone)) s.lastDone = d.lastDone.map((x) => (Number.isFinite(x) ? Number(x) : 0));
  const j = d.job as RescanSchedule["job"] | undefined;
  if (j && [j.lo, j.hi, j.pos, j.started].every(Number.isFinite) && Array.isArray(j.bands) && j.lo <= j.pos && j.pos <= j.hi)
    s.job = { ...j, bands: j.bands.filter(Number.isInteger) };
  for (const k of ["rowsPerHour", "normalPerHour", "lastCycle", "keptFrom"] as const) if (Number.isFinite(d[k])) s[k] = Number(d[k]);
  return s;
}

export interface ChunkContext {
  now: number;
  /** The cursor at the start of this cycle: band ages are counted back from it. */
  anchor: number;
  /** Re-scans never reach before the first window the state delivered. */
  floor?: number;
  plan: RescanPlan;
  /** Requests this cycle may still spend on re-scans. */
  allowance: number;
  /** Estimated requests per hour of history (rows per hour / page size). */
  pagesPerHour: number;
  /** Minutes: cycle interval (a band is due half a cycle early, so it never slips a whole cycle). */
  cycle: number;
  maxSpanMinutes: number;
}

export interface RescanChunk extends Window {
  /** Bands this chunk belongs to (ages counted from the anchor when the job began). */
  bands: number[];
  /** Whether finishing this chunk finishes the job. */
  last: boolean;
}

/** Due bands, youngest first, merged when adjacent: [firstBand, lastBand] index pairs. */
export function dueGroups(s: RescanSchedule, plan: RescanPlan, now: number, cycle: number): number[][] {
  const groups: number[][] = [];
  let cur: number[] | undefined;
  plan.bands.forEach((b, i) => {
    const last = s.lastDone[i] ?? 0;
    const due = now - last >= (b.period - cycle / 2) * MIN;
    if (!due) {
      cur = undefined;
      return;
    }
    if (!cur) groups.push((cur = []));
    cur.push(i);
  });
  return groups;
}

/**
 * The next chunk to read, or undefined when nothing is due or the allowance cannot pay for a request.
 * Starts a job when none is running. Call `chunkDone` after the chunk was read and delivered.
 */
export function nextChunk(s: RescanSchedule, c: ChunkContext): RescanChunk | undefined {
  // A request is needed even for an empty chunk; keep one for the partial last page too.
  if (c.allowance < 2) return undefined;
  if (!s.job) {
    for (const g of dueGroups(s, c.plan, c.now, c.cycle)) {
      const first = c.plan.bands[g[0]!]!;
      const lastBand = c.plan.bands[g[g.length - 1]!]!;
      const hi = c.anchor - first.start * MIN;
      const lo = Math.max(c.anchor - lastBand.end * MIN, c.floor ?? -Infinity, s.keptFrom ?? -Infinity);
      if (lo >= hi) {
        // Nothing to read yet (a new state): the band counts as read.
        for (const i of g) s.lastDone[i] = c.now;
        continue;
      }
      s.job = { lo, hi, pos: hi, bands: g, started: c.now };
      break;
    }
    if (!s.job) return undefined;
  }
  const j = s.job;
  // Never below what dedupe still remembers (a job from before a long pause may reach further back).
  if (s.keptFrom !== undefined && j.lo < s.keptFrom) {
    j.lo = Math.min(s.keptFrom, j.hi);
    j.pos = Math.max(j.pos, j.lo);
  }
  if (j.pos <= j.lo) {
    for (const i of j.bands) s.lastDone[i] = j.started;
    s.job = undefined;
    return nextChunk(s, c);
  }
  // Spend what is left on as few queries as possible: the whole rest of the job when affordable. Sized on
  // 60 % of the allowance and a third more rows than measured: old history holds more visible rows than the
  // new windows saw, and a chunk that overruns would make the next cycle's new windows wait.
  const hours = Math.max(1 / 60, (c.allowance * 0.6 - 1) / Math.max(1e-6, c.pagesPerHour * 1.33));
  const span = Math.min(hours * 60, c.maxSpanMinutes) * MIN;
  let start = Math.max(j.lo, j.pos - span);
  // Whole minutes, so chunks line up with the dedupe buckets and the logs read well.
  if (start > j.lo) start = Math.max(j.lo, Math.floor(start / MIN) * MIN);
  if (start >= j.pos) start = Math.max(j.lo, j.pos - MIN);
  return { start: new Date(start), end: new Date(j.pos), bands: j.bands, last: start <= j.lo };
}

/** Record a chunk as read: move the job on, finish it when done. */
export function chunkDone(s: RescanSchedule, chunk: RescanChunk): void {
  const j = s.job;
  if (!j) return;
  j.pos = Math.min(j.pos, chunk.start.getTime());
  if (j.pos <= j.lo) {
    for (const i of j.bands) s.lastDone[i] = j.started;
    s.job = undefined;
  }
}

/** Exponentially weighted update of a measured rate (first sample taken as is). */
export function ewma(prev: number | undefined, sample: number, weight = 0.3): number {
  return prev === undefined ? sample : prev + weight * (sample - prev);
}
