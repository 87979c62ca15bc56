// Status changes over time. In a real tenant a recipient's row is often first visible as `gettingStatus` or
// `pending` and changes to its final status (`delivered`, `failed`, `quarantined`, …) minutes to hours later
// (docs §5/§6). This module decides, per row, the sequence of states the list APIs show; traffic.ts stores
// it on the record, the API handlers show the state current at the simulated clock, and the truth endpoint
// exposes the whole sequence.
//
// API for other simulator models (e.g. lateness): a row's timeline depends only on its final status, the
// instant it first becomes visible and the Rng it is given; shift `visibleAt` and every state moves with it.
import type { Rng } from "./prng.js";

/** Graph (JSON) spellings of the statuses a row can show before its final one. */
export const TRANSIENT_STATUSES = ["gettingStatus", "pending"] as const;

export interface StatusChangeOptions {
  /** Share (0..1) of rows with a non-transient final status that are first visible with a transient one. */
  fraction: number;
  /** The final status appears this many minutes after the row became visible, uniform in [min, max]. */
  minMinutes?: number;
  maxMinutes?: number;
  /** Share of changing rows that go through two transient states (gettingStatus → pending → final). */
  twoStepFraction?: number;
}

// GUESS (no public numbers): which share of rows changes, how long the transient states last, and the
// gettingStatus → pending → final path; the change itself is documented behaviour (issue 12, docs §6).
export const STATUS_CHANGE_DEFAULTS = { minMinutes: 2, maxMinutes: 240, twoStepFraction: 0.25 } as const;

/** One state of a row: its status (Graph spelling) and the instant (epoch ms) from which the APIs show it. */
export interface StatusState {
  status: string;
  at: number;
}

export function isTransient(status: string): boolean {
  return (TRANSIENT_STATUSES as readonly string[]).includes(status);
}

/**
 * The states of one row, oldest first: `[{ status: final, at: visibleAt }]` for a row that never changes,
 * else one or two transient states starting at `visibleAt` followed by the final status. Draws exactly five
 * numbers from `rng` whatever the options, so turning the model on or off never changes other draws.
 */
export function statusTimeline(rng: Rng, finalStatus: string, visibleAt: number, opts?: StatusChangeOptions): StatusState[] {
  const uChange = rng.next();
  const uFirst = rng.next();
  const uTwoStep = rng.next();
  const uDelay = rng.next();
  const uMiddle = rng.next();
  const changes = !!opts && opts.fraction > 0 && !isTransient(finalStatus) && uChange < opts.fraction;
  if (!opts || !changes) return [{ status: finalStatus, at: visibleAt }];
  const min = opts.minMinutes ?? STATUS_CHANGE_DEFAULTS.minMinutes;
  const max = Math.max(min, opts.maxMinutes ?? STATUS_CHANGE_DEFAULTS.maxMinutes);
  // Whole seconds, at least one after the previous state: every state is visible for a while.
  const delay = Math.max(1000, Math.round((min + uDelay * (max - min)) * 60) * 1000);
  const finalAt = visibleAt + delay;
  if (uTwoStep < (opts.twoStepFraction ?? STATUS_CHANGE_DEFAULTS.twoStepFraction) && delay >= 2000) {
    const middleAt = visibleAt + Math.max(1000, Math.min(delay - 1000, Math.round((uMiddle * delay) / 1000) * 1000));
    return [
      { status: "gettingStatus", at: visibleAt },
      { status: "pending", at: middleAt },
      { status: finalStatus, at: finalAt },
    ];
  }
  return [
    { status: TRANSIENT_STATUSES[uFirst < 0.5 ? 0 : 1], at: visibleAt },
    { status: finalStatus, at: finalAt },
  ];
}

/** Index of the state shown at `now`, or -1 before the row is visible. */
export function stateIndexAt(states: readonly StatusState[], now: number): number {
  let i = -1;
  for (let k = 0; k < states.length && states[k]!.at <= now; k++) i = k;
  return i;
}

/** The status shown at `now` (the first state's before the row is visible, as the truth reports it). */
export function statusAt(states: readonly StatusState[], now: number): string {
  return states[Math.max(0, stateIndexAt(states, now))]!.status;
}

/** Longest time (ms) from a row becoming visible to its final state, for scans that must reach back that far. */
export function maxChangeMs(opts?: StatusChangeOptions): number {
  if (!opts || !(opts.fraction > 0)) return 0;
  const min = opts.minMinutes ?? STATUS_CHANGE_DEFAULTS.minMinutes;
  return Math.max(min, opts.maxMinutes ?? STATUS_CHANGE_DEFAULTS.maxMinutes) * 60_000 + 1000;
}
