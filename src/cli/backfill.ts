// `backfill`: pull a historical span into the configured sink, window by window (each ≤ the API's 10-day
// query limit), through the same Collector as `once` (dedupe, journal, commit after the sink confirms),
// but on its own state file and lock, so it can run beside the live collector and resume after a stop.
import { processLogger } from "../log/logger.js";
import type { Config } from "../config/schema.js";
import type { StateStore, State } from "../cursor/store.js";
import { liveOrigin } from "../cursor/coverage.js";
import { SeenSet } from "../dedupe/seen.js";
import { CollectorError } from "../errors.js";
import { open, type Runtime } from "../runtime.js";
import { sourceDescriptor, sourceDescriptors } from "../sources/registry.js";
import { clampToPresent, parseTime } from "../window/time.js";
import { defineCommand } from "./command.js";
import { answerLogger, clockFromEnv, EXIT_FAILURE, EXIT_OK, printError, requireConfigPath, setup } from "./common.js";
import { Progress } from "./progress.js";

export const backfillHelp = () => `Usage: o365-message-trace backfill --config FILE --from TIME [--to TIME] [--window MINUTES] [--restart]

Pulls messages received in [from, to) into the configured sink (stdout NDJSON by default), one window at a
time, with the same no-loss / no-duplicate guarantees as \`once\`. Progress and ETA go to stderr (a bar on
a terminal, a plain line every --progress-every seconds otherwise). Its cursor is kept apart from the live
collector's (…backfill.json in state_dir), so it runs beside \`run\` and resumes where it stopped:
run the same command again, or \`backfill --config FILE\` without --from/--to.
  --from TIME            ISO 8601 or relative ("7 days ago"); rounded down to the minute
  --to TIME              default "now"; rounded up to the minute, but never past the present
  --window MINUTES       query span per request chain (default 1440, at most the API's span per query: 14400 = 10 days)
  --restart              discard an unfinished backfill of another range and start this one
  --progress-every SECS  non-terminal progress line interval (default 10; 0 = after every window)
History limits: ${sourceDescriptors().map((d) => `${d.shortName} keeps ${d.historyDays} days`).join(", ")}.`;

const MIN = 60_000;
const DAY = 1440 * MIN;

export interface BackfillRange {
  from: string;
  to: string;
}

function rangeOf(state: State): BackfillRange | undefined {
  const b = state.extra?.backfill as BackfillRange | undefined;
  return b && typeof b.from === "string" && typeof b.to === "string" ? b : undefined;
}

function freshState(config: Config, range: BackfillRange): State {
  return {
    version: 1,
    tenant_id: config.tenant_id,
    source: config.source.type,
    cursor: range.from,
    windows_done: 0,
    records_delivered: 0,
    cycles: 0,
    extra: { backfill: range },
  };
}

export interface BackfillRequest {
  from?: string;
  to?: string;
  windowMinutes: number;
  restart: boolean;
  now: number;
  /**
   * Where the live collector of this tenant+source began (its state's origin), if it has a state: from there
   * on it owns the timeline, so a new backfill ends there. Backfill and live never read the same span, so an
   * overlap costs neither requests nor duplicates (identities are pruned as each cursor moves, so they could
   * not be shared across the two states).
   */
  liveOrigin?: number;
}

/**
 * Decide what to run: a new range, the unfinished stored one, or nothing. Writes the range into the backfill
 * state before anything is read, so an interrupted run knows what it was doing. The caller holds the lock.
 */
export function planBackfill(
  config: Config,
  store: StateStore,
  req: BackfillRequest,
): { range: BackfillRange; cursor: number; complete: boolean; clamped?: boolean } {
  const { state } = store.load();
  const stored = rangeOf(state);
  const storedDone = !!stored && !!state.cursor && Date.parse(state.cursor) >= Date.parse(stored.to);
  if (req.from === undefined) {
    if (req.to !== undefined)
      throw new CollectorError("config", "--to given without --from", {
        hint: "give --from too (or neither, to resume the stored backfill)",
      });
    if (!stored)
      throw new CollectorError("config", "backfill needs --from (no unfinished backfill to resume)", {
        hint: 'e.g. backfill --from "7 days ago" --to now',
      });
    return { range: stored, cursor: Date.parse(state.cursor ?? stored.from), complete: storedDone };
  }
  const from = Math.floor(parseTime(req.from, req.now, "--from").getTime() / MIN) * MIN;
  const asked = Math.ceil(parseTime(req.to ?? "now", req.now, "--to").getTime() / MIN) * MIN;
  if (asked > Math.ceil(req.now / MIN) * MIN)
    throw new CollectorError("config", `--to ${new Date(asked).toISOString()} is in the future`, { hint: "use --to now or an earlier time" });
  // Rounding up must not reach into the future: Graph refuses a query end later than now (docs §5).
  let to = clampToPresent(asked, req.now, MIN);
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
  const unclamped = to;
  if (req.liveOrigin !== undefined && to > req.liveOrigin) {
    if (from >= req.liveOrigin) {
      throw new CollectorError("config", `the live collector already covers from ${new Date(req.liveOrigin).toISOString()} on, which includes all of --from ${new Date(from).toISOString()} --to ${new Date(asked).toISOString()}`, {
        hint: "nothing to backfill; give an earlier --from",
      });
    }
    to = req.liveOrigin;
  }
  const range = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  const same = stored && stored.from === range.from && stored.to === range.to;
  if (same && !req.restart) return { range, cursor: Date.parse(state.cursor ?? range.from), complete: storedDone };
  if (stored && !storedDone && !req.restart) {
    throw new CollectorError(
      "config",
      `an unfinished backfill of [${stored.from}, ${stored.to}) is stored (done up to ${state.cursor ?? stored.from}); this asks for [${range.from}, ${range.to})`,
      {
        hint: "run `backfill` without --from/--to to resume it, or add --restart to discard it and start this range",
      },
    );
  }
  // New range (or --restart): forget the old cursor and identities; the journal is emptied by commit.
  store.commit(freshState(config, range), config.dedupe ? new SeenSet() : undefined);
  return { range, cursor: from, complete: false, clamped: to < unclamped };
}

/** What backfill opens: source, sink, and a collector over its own locked state ("…backfill.json"). */
export const BACKFILL_NEEDS = { source: true, sink: true, store: "backfill", lock: true, collector: { rescanHorizonMinutes: 0 } } as const;

export interface BackfillRunOptions {
  signal?: AbortSignal;
  progress: Progress | ((done: number, total: number) => Progress);
}

/** Windows from the stored cursor to the range end, each delivered by the collector; returns records delivered. */
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
  let records = 0;
  let cursor = startCursor;
  try {
    while (cursor < to) {
      const end = Math.min(cursor + windowMinutes * MIN, to);
      // The service's clock (from earlier responses) bounds a backfill too: --to "now" on a host whose clock
      // is ahead must not read, let alone commit, a window the service has not finished.
      const serverNow = rt.serverClock.now();
      if (serverNow !== undefined && end > serverNow) {
        throw new CollectorError("transient", `the backfill window [${new Date(cursor).toISOString()}, ${new Date(end).toISOString()}) ends after the service's clock (${new Date(serverNow).toISOString()}); it is not read yet`, {
          hint: "run the same backfill again later to finish it (check NTP if this host's clock is ahead)",
        });
      }
      const r = await rt.collector.deliverWindow({ start: new Date(cursor), end: new Date(end) }, { signal: opts.signal });
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
      if (!Number.isFinite(every) || every < 0) throw new CollectorError("config", `--progress-every ${values["progress-every"]} is not a number of seconds ≥ 0`, { hint: "e.g. --progress-every 30" });
      const { config, logger } = setup(requireConfigPath(values.config, "backfill"));
      const say = answerLogger(config);
      const maxSpan = sourceDescriptor(config.source).maxSpanMinutes ?? Infinity;
      if (!Number.isInteger(windowMinutes) || windowMinutes < 1 || windowMinutes > maxSpan) {
        throw new CollectorError("config", `--window ${values.window} is not a whole number of minutes from 1 to ${maxSpan}`, { hint: `the API allows at most ${maxSpan / 1440} days (${maxSpan} minutes) per query` });
      }
      rt = open(config, BACKFILL_NEEDS, { logger });
      const now = (clockFromEnv() ?? Date.now)();
      const request = { from: values.from, to: values.to, windowMinutes, restart: !!values.restart, now, liveOrigin: liveOrigin(config) };
      const plan = planBackfill(config, rt.store, request);
      const span = `[${plan.range.from}, ${plan.range.to})`;
      if (plan.clamped) process.stderr.write(`o365-message-trace: the live collector covers from ${plan.range.to} on; backfilling ${span} only\n`);
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
