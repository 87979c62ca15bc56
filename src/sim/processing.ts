// When a row's last processing step happened. Microsoft describes the legacy report's StartDate/EndDate as
// the first and last processing steps of a message, not its Received time (docs §5). With
// `rwsFilter: "processing"` the simulated report selects rows whose last processing step (as of the query)
// lies in the window; the detail events end at the same instant, so both views of a row agree.
// GUESS (no public evidence): how long processing takes (1 s to 3 min here) and that the last step is the
// one the filter uses; the doc only says the bounds are tied to the first and last steps.
import { hashString } from "./prng.js";
import { stateIndexAt } from "./status-changes.js";
import type { SimRecord } from "./traffic.js";

/** Longest first-to-last processing span of a row that does not change status. */
export const MAX_PROCESSING_STEP_MS = 180_000;

/** Whole seconds from receipt to the last processing step of a row that does not change status. */
export function processingStepMs(r: SimRecord): number {
  return (1 + (hashString(`${r.item.id}|${r.item.recipientAddress}`) % (MAX_PROCESSING_STEP_MS / 1000))) * 1000;
}

/** Epoch ms of the row's last processing step as of `now`: a status change is a processing step too. */
export function lastProcessingAt(r: SimRecord, now: number): number {
  if (r.states) {
    const i = stateIndexAt(r.states, now);
    if (i > 0) return r.states[i]!.at;
  }
  return r.ms + processingStepMs(r);
}
