// Absolute ("2025-01-01T00:00:00Z") and relative ("now", "10 minutes ago", "2 days ago", "-3h") times.
import { CollectorError } from "../errors.js";

const UNIT_MS: Record<string, number> = {
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hrs: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  w: 604_800_000, week: 604_800_000, weeks: 604_800_000,
};

export function parseTime(text: string, now: number, what = "time"): Date {
  const s = text.trim().toLowerCase();
  if (s === "now") return new Date(now);
  const rel = /^(?:-\s*)?(\d+(?:\.\d+)?)\s*([a-z]+)(?:\s+ago)?$/.exec(s);
  if (rel && (s.startsWith("-") || s.endsWith("ago")) && UNIT_MS[rel[2]!]) {
    return new Date(now - Number(rel[1]) * UNIT_MS[rel[2]!]!);
  }
  // Dates without a zone are UTC: message trace is UTC throughout.
  const iso = /^\d{4}-\d{2}-\d{2}(t\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(s) ? `${text.trim()}${s.includes("t") ? "Z" : "T00:00:00Z"}` : text.trim();
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) {
    throw new CollectorError("config", `${what} ${JSON.stringify(text)} is not a time`, {
      hint: 'use ISO 8601 (2025-01-01T00:00:00Z) or a relative time ("now", "10 minutes ago", "2 days ago")',
    });
  }
  return new Date(t);
}
