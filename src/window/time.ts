// Absolute ("2025-01-01T00:00:00Z") and relative ("now", "10 minutes ago", "2 days ago", "-3h") times.
import { CollectorError } from "../errors.js";

const UNIT_MS: Record<string, number> = {
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

export function parseTime(text: string, now: number, what = "time"): Date {
  const s = text.trim().toLowerCase();
  if (s === "now") return new Date(now);
  const rel = /^(?:-\s*)?(\d+(?:\.\d+)?)\s*([a-z]+)(?:\s+ago)?$/.exec(s);
  if (rel && (s.startsWith("-") || s.endsWith("ago")) && UNIT_MS[rel[2]!]) {
    return new Date(now - Number(rel[1]) * UNIT_MS[rel[2]!]!);
  }
  // Dates without a zone are UTC: message trace is UTC throughout.
  const iso = /^\d{4}-\d{2}-\d{2}(t\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(s)
    ? `${text.trim()}${s.includes("t") ? "Z" : "T00:00:00Z"}`
    : text.trim();
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) {
    throw new CollectorError("config", `${what} ${JSON.stringify(text)} is not a time`, {
      hint: 'use ISO 8601 (2025-01-01T00:00:00Z) or a relative time ("now", "10 minutes ago", "2 days ago")',
    });
  }
  return new Date(t);
}

// `/Date(1735725923123)/` or `/Date(1735725923123+0060)/` (OData verbose JSON). The offset only says which
// zone the value was shown in; the number is already UTC milliseconds.
const MS_DATE = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/;
// ISO 8601 as either API writes it: up to 7 fraction digits, `Z`, an offset, or no zone designator at all.
const API_ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Epoch milliseconds of a timestamp from either API, or undefined when it is not one. The one parser for
 * Graph and the legacy report: a value without a zone (`2022-09-05T18:10:13.4907658`, real RWS JSON) is UTC,
 * never the host's local time; 7 fraction digits are cut to milliseconds (never rounded into the next
 * millisecond, so a row cannot cross a window edge); `+00:00` and `/Date(ms)/` give the same instant as `Z`.
 */
export function parseApiTime(text: string): number | undefined {
  const fast = canonicalUtcMs(text);
  if (fast >= 0) return fast;
  const s = text.trim();
  const d = MS_DATE.exec(s);
  if (d) return Number(d[1]);
  const m = API_ISO.exec(s);
  if (!m) return undefined;
  const [, y, mo, da, hh, mi, ss = "0", frac = "", zone = "Z"] = m;
  if (+mo! < 1 || +mo! > 12 || +da! < 1 || +da! > 31 || +hh! > 23 || +mi! > 59 || +ss > 59) return undefined;
  let ms = Date.UTC(+y!, +mo! - 1, +da!, +hh!, +mi!, +ss, frac ? Number(frac.slice(0, 3).padEnd(3, "0")) : 0);
  // Date.UTC rolls 2025-02-30 over into March: refuse a day the month does not have.
  if (new Date(ms).getUTCDate() !== +da!) return undefined;
  if (zone.toUpperCase() !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return Number.isFinite(ms) ? ms : undefined;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The digits at [from, to) of `s` as a number, or -1 when one of them is not a digit. */
function digits(s: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * The hot path (one call per row): `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.sssZ`, the forms Graph and
 * our own output use, read digit by digit (no regex, no Date.parse). -1 for anything else, which then takes
 * the general parser: same result, only slower.
 */
function canonicalUtcMs(s: string): number {
  const n = s.length;
  if (n !== 20 && n !== 24) return -1;
  // "-", "-", "T", ":", ":" where ISO 8601 puts them.
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84) return -1;
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return -1;
  if (s.charCodeAt(n - 1) !== 90 || (n === 24 && s.charCodeAt(19) !== 46)) return -1;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 7);
  const da = digits(s, 8, 10);
  const hh = digits(s, 11, 13);
  const mi = digits(s, 14, 16);
  const ss = digits(s, 17, 19);
  const ms = n === 24 ? digits(s, 20, 23) : 0;
  // Years below 100 (Date.UTC reads them as 19xx) and before 1970 (a negative result) take the general path.
  if (y < 100 || ms < 0 || mo < 1 || mo > 12 || da < 1 || hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59) return -1;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (da > DAYS_IN_MONTH[mo - 1]! + (leap ? 1 : 0)) return -1;
  return Date.UTC(y, mo - 1, da, hh, mi, ss, ms);
}

/** An API timestamp as epoch milliseconds and as canonical ISO text, read once (the sources' per-row path). */
export function apiTime(text: string): { ms: number; iso: string } | undefined {
  const fast = canonicalUtcMs(text);
  if (fast >= 0) return { ms: fast, iso: text.length === 24 ? text : text.slice(0, 19) + ".000Z" };
  const ms = parseApiTime(text);
  return ms === undefined ? undefined : { ms, iso: new Date(ms).toISOString() };
}

/** ISO 8601 UTC with Z and milliseconds of an API timestamp, or undefined when it is not one. */
export function apiTimeIso(text: string): string | undefined {
  // Already canonical: the text is what toISOString would give (with `.000` added to a whole second).
  if (canonicalUtcMs(text) >= 0) return text.length === 24 ? text : text.slice(0, 19) + ".000Z";
  const ms = parseApiTime(text);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/**
 * A query end no later than the present, never in the future: Graph refuses an end after the current time
 * (docs §5) and nothing can have been received after now anyway. Cut to `unitMs` (default whole seconds, the
 * precision Graph shows times in), so a clamped end never falls inside a second that Graph writes whole.
 */
export function clampToPresent(end: number, now: number, unitMs = 1000): number {
  return Math.min(end, Math.floor(now / unitMs) * unitMs);
}

/**
 * The whole second at or before `t`: every window edge is one. Graph shows times in whole seconds but keeps and
 * filters by finer ones, so an edge inside a second split its rows between a window whose query ended before
 * them and one that dropped them as shown before its start.
 */
export function wholeSecond(t: number): Date {
  return new Date(Math.floor(t / 1000) * 1000);
}
