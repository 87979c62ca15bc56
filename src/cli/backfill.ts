// `backfill`: pull a historical span into the configured sink, window by window (each ≤ the API's 10-day
// query limit), through the same Collector as `once` (dedupe, journal, commit after the sink confirms), on
// the same state as the live collector: one lock, one set of delivered identities. Where backfill and live
// collection overlap, the identities drop what was delivered already (an overlap costs requests, never
// duplicates); a span delivered so long ago that its identities are forgotten is skipped, not read again.
// The backfill's range and progress are kept in the state, so it resumes after a stop.
import { processLogger } from "../log/logger.js";
import type { Config } from "../config/schema.js";
import type { State } from "../cursor/store.js";
import { backfillProgress, forgottenSpans, mergeSpans, nextForgotten, skipForgotten } from "../cursor/coverage.js";
import { LockBusyError } from "../cursor/lock.js";
import { CollectorError } from "../errors.js";
import type { Collector } from "../pipeline/collector.js";
import { open, type Runtime } from "../runtime.js";
import { sourceDescriptor, sourceDescriptors } from "../sources/registry.js";
import { clampToPresent, parseTime } from "../window/time.js";
import { defineCommand } from "./command.js";
import { answerLogger, clockFromEnv, EXIT_FAILURE, EXIT_OK, printError, requireConfigPath, setupTenant } from "./common.js";
import { Progress } from "./progress.js";

export const backfillHelp =
  () => `Usage: o365-message-trace backfill --config FILE [--tenant NAME|ID] --from TIME [--to TIME] [--window MINUTES] [--restart]

Pulls messages received in [from, to) into the configured sink (stdout NDJSON by default), one window at a
time, with the same no-loss / no-duplicate guarantees as \`once\`. Progress and ETA go to stderr (a bar on
a terminal, a plain line every --progress-every seconds otherwise). It shares the live collector's state
(its lock and its delivered identities): where the two overlap nothing is sent twice, and it waits for no
one: while \`run\` holds the state, backfill refuses to start (stop \`run\`, backfill, start \`run\` again).
It resumes where it stopped: run the same command again, or \`backfill --config FILE\` without --from/--to.
  --from TIME            ISO 8601 or relative ("7 days ago"); rounded down to the minute
  --to TIME              default "now"; rounded up to the minute, but never past the present
  --window MINUTES       query span per request chain (default 1440, at most the API's span per query: 14400 = 10 days)
  --restart              leave an unfinished backfill of another range (what it delivered stays delivered) and start this one
  --progress-every SECS  non-terminal progress line interval (default 10; 0 = after every window)
History limits: ${sourceDescriptors()
    .map((d) => `${d.shortName} keeps ${d.historyDays} days`)
    .join(", ")}.`;

const MIN = 60_000;
const DAY = 1440 * MIN;

export interface BackfillRange {
  from: string;
  to: string;
}

function rangeOf(state: State): BackfillRange | undefined {
  return state.backfill ? { from: state.backfill.from, to: state.backfill.to } : undefined;
}

export interface BackfillRequest {
  from?: string;
  to?: string;
  windowMinutes: number;
  restart: boolean;
  now: number;
}

/**
 * Decide what to run: a new range, the unfinished stored one, or nothing. Writes the range into the state
 * before anything is read, so an interrupted run knows what it was doing. The caller holds the lock.
 */
export function planBackfill(
  config: Config,
  collector: Pick<Collector, "currentState" | "updateState">,
  req: BackfillRequest,
): { range: BackfillRange; cursor: number; complete: boolean } {
  const state = collector.currentState();
  const stored = rangeOf(state);
  const progress = backfillProgress(state);
  const storedDone = !!progress?.done;
  if (req.from === undefined) {
    if (req.to !== undefined)
      throw new CollectorError("config", "--to given without --from", {
        hint: "give --from too (or neither, to resume the stored backfill)",
      });
    if (!stored || !progress)
      throw new CollectorError("config", "backfill needs --from (no unfinished backfill to resume)", {
        hint: 'e.g. backfill --from "7 days ago" --to now',
      });
    return { range: stored, cursor: progress.cursor, complete: storedDone };
  }
  const from = Math.floor(parseTime(req.from, req.now, "--from").getTime() / MIN) * MIN;
  const asked = Math.ceil(parseTime(req.to ?? "now", req.now, "--to").getTime() / MIN) * MIN;
  if (asked > Math.ceil(req.now / MIN) * MIN)
    throw new CollectorError("config", `--to ${new Date(asked).toISOString()} is in the future`, {
      hint: "use --to now or an earlier time",
    });
  // Rounding up must not reach into the future: Graph refuses a query end later than now (docs §5).
  const to = clampToPresent(asked, req.now, MIN);
  if (from >= to)
    throw new CollectorError("config", `--from ${new Date(from).toISOString()} is not before --to ${new Date(to).toISOString()}`, {
      hint: "give an earlier --from",
    });
  const api = sourceDescriptor(config.source);
  const historyDays = api.historyDays;
  if (from < req.now - historyDays * DAY) {
    throw new CollectorError(
      "config",
      `--from ${new Date(from).toISOString()} is older than the ${historyDays} days of history the ${api.shortName} API keeps`,
      {
        hint: `use --from "${historyDays} days ago" or later`,
      },
    );
  }
  const range = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  const same = stored && stored.from === range.from && stored.to === range.to;
  if (same && !req.restart) return { range, cursor: progress!.cursor, complete: storedDone };
  if (stored && !storedDone && !req.restart) {
    throw new CollectorError(
      "config",
      `an unfinished backfill of [${stored.from}, ${stored.to}) is stored (done up to ${state.backfill!.cursor}); this asks for [${range.from}, ${range.to})`,
      {
        hint: "run `backfill` without --from/--to to resume it, or add --restart to leave it and start this range",
      },
    );
  }
  // A new range (or --restart): what the previous backfill delivered stays delivered (a covered span, and its
  // identities as long as they are kept).
  collector.updateState((s) => {
    const spans = (s.covered ?? []).map((c) => ({ from: Date.parse(c.from), to: Date.parse(c.to) }));
    if (progress && progress.cursor > progress.from) spans.push({ from: progress.from, to: Math.min(progress.cursor, progress.to) });
    const iso = (ms: number) => new Date(ms).toISOString();
    s.covered = mergeSpans(spans).map((c) => ({ from: iso(c.from), to: iso(c.to) }));
    if (s.covered.length === 0) delete s.covered;
    s.backfill = { ...range, cursor: range.from };
  });
  return { range, cursor: from, complete: false };
}

/** What backfill opens: source, sink, and a collector over the live collector's locked state. */
export const BACKFILL_NEEDS = { source: true, sink: true, store: "state", lock: true, collector: true } as const;

export interface BackfillRunOptions {
  signal?: AbortSignal;
  progress: Progress | ((done: number, total: number) => Progress);
}

/**
 * Windows from the stored cursor to the range end, each delivered by the collector as a backfill window (the
 * state's backfill cursor moves, the live cursor stays); spans delivered before whose identities are
 * forgotten are skipped. Returns the records delivered.
 */
export async function runBackfill(
  rt: Runtime<typeof BACKFILL_NEEDS>,
  range: BackfillRange,
  startCursor: number,
  windowMinutes: number,
  opts: BackfillRunOptions,
): Promise<number> {
  const from = Date.parse(range.from);
  const to = Date.parse(range.to);
  const progress = typeof opts.progress === "function" ? opts.progress(startCursor - from, to - from) : opts.progress;
  const forgotten = forgottenSpans(rt.collector.currentState(), rt.collector.options.dedupe);
  let records = 0;
  let cursor = startCursor;
  try {
    while (cursor < to) {
      const start = Math.min(skipForgotten(cursor, forgotten), to);
      if (start > cursor) {
        const skipped = { from: new Date(cursor).toISOString(), to: new Date(start).toISOString() };
        processLogger().info("skipping a span delivered before whose identities are no longer kept", skipped);
        if (start >= to) {
          rt.collector.updateState((s) => void (s.backfill = { ...s.backfill!, cursor: range.to }));
          cursor = to;
          progress.update(cursor - from, 0, `up to ${range.to}`);
          break;
        }
      }
      const end = Math.min(start + windowMinutes * MIN, to, nextForgotten(start, forgotten) ?? Infinity);
      // The service's clock (from earlier responses) bounds a backfill too: --to "now" on a host whose clock
      // is ahead must not read, let alone commit, a window the service has not finished.
      const serverNow = rt.serverClock.now();
      if (serverNow !== undefined && end > serverNow) {
        throw new CollectorError(
          "transient",
          `the backfill window [${new Date(start).toISOString()}, ${new Date(end).toISOString()}) ends after the service's clock (${new Date(serverNow).toISOString()}); it is not read yet`,
          {
            hint: "run the same backfill again later to finish it (check NTP if this host's clock is ahead)",
          },
        );
      }
      const r = await rt.collector.deliverWindow({ start: new Date(start), end: new Date(end) }, { backfill: true, signal: opts.signal });
      records += r.records;
      cursor = end;
      progress.update(cursor - from, r.records, `up to ${new Date(cursor).toISOString()}`);
    }
    return records;
  } finally {
    progress.finish();
  }
}

export const command = defineCommand({
  name: "backfill",
  help: backfillHelp(),
  options: {
    config: { type: "string", short: "c" },
    tenant: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    window: { type: "string" },
    restart: { type: "boolean" },
    "progress-every": { type: "string" },
  },
  async run(values) {
    const ac = new AbortController();
    const onSignal = (sig: string) => {
      processLogger().warn(`${sig} received, stopping; run the same command again to resume`);
      ac.abort(new Error(sig));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    let rt: Runtime<typeof BACKFILL_NEEDS> | undefined;
    try {
      const windowMinutes = values.window === undefined ? 1440 : Number(values.window);
      const every = values["progress-every"] === undefined ? 10 : Number(values["progress-every"]);
      if (!Number.isFinite(every) || every < 0)
        throw new CollectorError("config", `--progress-every ${values["progress-every"]} is not a number of seconds ≥ 0`, {
          hint: "e.g. --progress-every 30",
        });
      const { config, logger } = setupTenant(requireConfigPath(values.config, "backfill"), values.tenant, "backfill");
      const say = answerLogger(config);
      const maxSpan = sourceDescriptor(config.source).maxSpanMinutes ?? Infinity;
      if (!Number.isInteger(windowMinutes) || windowMinutes < 1 || windowMinutes > maxSpan) {
        throw new CollectorError("config", `--window ${values.window} is not a whole number of minutes from 1 to ${maxSpan}`, {
          hint: `the API allows at most ${maxSpan / 1440} days (${maxSpan} minutes) per query`,
        });
      }
      try {
        rt = open(config, BACKFILL_NEEDS, { logger });
      } catch (err) {
        if (!(err instanceof LockBusyError)) throw err;
        // Not "skipping this run" with exit 0, as for a scheduled once: someone asked for this backfill.
        throw new CollectorError("state", `cannot backfill now: ${err.message}`, {
          hint: "backfill shares the live collector's state (its delivered identities); stop `run` (or let the `once` finish), backfill, then start it again",
        });
      }
      const now = (clockFromEnv() ?? Date.now)();
      const request = { from: values.from, to: values.to, windowMinutes, restart: !!values.restart, now };
      const plan = planBackfill(config, rt.collector, request);
      const span = `[${plan.range.from}, ${plan.range.to})`;
      if (plan.complete) {
        say.info(`the backfill of ${span} is already complete; give another --from/--to to start a new one`);
        return EXIT_OK;
      }
      if (plan.cursor > Date.parse(plan.range.from)) say.info(`resuming the backfill of ${span} at ${new Date(plan.cursor).toISOString()}`);
      const records = await runBackfill(rt, plan.range, plan.cursor, windowMinutes, {
        signal: ac.signal,
        progress: (done, total) => {
          const windowMs = windowMinutes * MIN;
          const windows = { total: Math.ceil(total / windowMs), done: Math.ceil(done / windowMs) };
          return new Progress({ total, done, windows, intervalMs: every * 1000, label: "backfill", logger: say });
        },
      });
      say.info(`backfill of ${span} complete, ${records} record(s) delivered by this run`);
      return EXIT_OK;
    } catch (err) {
      if (ac.signal.aborted) return EXIT_FAILURE;
      return printError(err);
    } finally {
      await rt?.close();
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
});
