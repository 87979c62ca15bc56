// The cursor may never move past what the service has actually served. Two checks against the service's
// clock (ServerClock): a cursor or `start` already in its future is an error with a clear line (not an
// idle run that exits 0 and says nothing, forever), and a window is never committed when its end is later
// than the service's time (a window read early may still gain records: committing it would lose them).
import { CollectorError } from "../errors.js";
import { describeSpan, type ServerClock } from "../net/server-clock.js";
import type { Window } from "../types.js";
import { wholeSecond } from "../window/time.js";

/** A cursor this far ahead of the service is refused (allows for Date headers' 1 s and token iat slack). */
export const FUTURE_TOLERANCE_MS = 10 * 60_000;

export function refuseFutureCursor(cursor: Date, stored: boolean, serverNow: number | undefined, start: string | undefined): void {
  if (serverNow === undefined || cursor.getTime() <= serverNow + FUTURE_TOLERANCE_MS) return;
  const ahead = describeSpan(cursor.getTime() - serverNow);
  const service = new Date(serverNow).toISOString();
  if (stored) {
    throw new CollectorError(
      "state",
      `the cursor ${cursor.toISOString()} is ${ahead} ahead of the service's clock (${service}); a clock that ran ahead moved it there, and nothing after it can be read`,
      {
        hint: "fix the clock (NTP), then restore the state file from before the jump, or move it away and set start to the last time you know was delivered",
      },
    );
  }
  throw new CollectorError(
    "config",
    `the first window would start at ${cursor.toISOString()}, ${ahead} ahead of the service's clock (${service})`,
    {
      hint: start ? "set start to a time in the past" : "this host's clock is ahead: fix it (NTP / chrony)",
    },
  );
}

/**
 * The latest time a window planned now may end at: the earlier of our clock and the service's, rounded down
 * to the whole second. The service's time is known from `Date` headers, which carry whole seconds only: a
 * window ending a moment past the second would be past the service's clock as its next answer tells it
 * (Graph refuses such an end, our commit guard would too), and `once` with `delay: 0` would fail.
 */
export function planningNow(local: number, serverNow: number | undefined): number {
  const now = serverNow !== undefined ? Math.min(local, serverNow) : local;
  return wholeSecond(now).getTime();
}

export function refuseCommitAhead(w: Window, clock: ServerClock | undefined): void {
  const serverNow = clock?.now();
  if (serverNow === undefined || w.end.getTime() <= serverNow) return;
  throw new CollectorError(
    "transient",
    `not committing the window ending ${w.end.toISOString()}: the service's clock says ${new Date(serverNow).toISOString()}, so it may not be complete yet (local clock ${describeSpan(w.end.getTime() - serverNow)} ahead or more)`,
    {
      hint: "the window is read again next cycle (its records are not sent twice with dedupe on); check NTP on this host",
    },
  );
}
