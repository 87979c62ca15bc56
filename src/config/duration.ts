// Duration keys take a plain number in the key's own unit (window: 60 means 60 minutes, frequency: 300
// means 300 seconds, as always) or a string with a unit: "300s", "15m", "1h", "1d", "1h30m", "500ms".
import * as z from "zod/mini";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/gy;

/** Milliseconds for "1h30m", "300s", "2.5m"…; undefined when the text is not such a duration. */
export function parseDurationMs(text: string): number | undefined {
  const s = text.trim().toLowerCase();
  if (!s) return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let m = PART.exec(s); m; m = PART.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    end = PART.lastIndex;
    while (s[end] === " ") end++;
    PART.lastIndex = end;
  }
  return end === s.length ? total : undefined;
}

/** Seconds keys (number or "30s", "2m"…) and whole-minute keys (number or "15m", "1h"…), with range and default. */
export const durationSeconds = (min: number, max: number, def: number) =>
  duration("s", z._default(z.number().check(z.minimum(min), z.maximum(max)), def));
export const durationMinutes = (min: number, max: number, def: number) =>
  duration("m", z._default(z.number().check(z.int(), z.minimum(min), z.maximum(max)), def), true);

/**
 * A zod number schema in `unit` that also accepts a duration string; whole units when `int`. zod/mini has no
 * z.preprocess: this is what it is in zod (a pipe from a transform into `inner`), and a transform's issue is
 * pushed onto the payload as zod's ctx.addIssue would (code "custom", the message, the input).
 */
export function duration(unit: "s" | "m", inner: z.ZodMiniType<number>, int = false): z.ZodMiniType<number, unknown> {
  const unitName = unit === "m" ? "minutes" : "seconds";
  const fail = (payload: z.core.ParsePayload, message: string) => {
    payload.issues.push({ code: "custom", message, input: payload.value });
    return z.NEVER;
  };
  const toNumber = z.transform((value: unknown, payload: z.core.ParsePayload) => {
    if (typeof value !== "string") return value;
    const asNumber = Number(value);
    if (value.trim() !== "" && Number.isFinite(asNumber)) return asNumber; // "60" from ${ENV} interpolation
    const ms = parseDurationMs(value);
    if (ms === undefined) return fail(payload, `a duration: a number of ${unitName}, or a number with a unit such as "300s", "15m", "1h"`);
    const n = ms / UNIT_MS[unit]!;
    if (int && !Number.isInteger(n)) return fail(payload, `must be whole ${unitName} (${value} is ${n} ${unitName})`);
    return n;
  });
  return z.pipe(toNumber, inner) as unknown as z.ZodMiniType<number, unknown>;
}
