// `backfill`: pull a historical span into the configured sink, window by window (each ≤ the API's 10-day
// query limit), through the same Collector as `once` (dedupe, journal, commit after the sink confirms),
// but on its own state file and lock, so it can run beside the live collector and resume after a stop.
import { parseArgs } from "node:util";
import type { Config } from "../config/schema.js";
import { StateStore, type State } from "../cursor/store.js";
import { SeenSet } from "../dedupe/seen.js";
import { CollectorError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { Collector } from "../pipeline/collector.js";
import { createSink, createSourceSide, recordMapperFor } from "../runtime.js";
import { parseTime } from "../window/time.js";
import { clockFromEnv, EXIT_FAILURE, EXIT_OK, printError, requireConfigPath, setup } from "./common.js";
import { Progress } from "./progress.js";

export const BACKFILL_HELP = `Usage: o365-message-trace backfill --config FILE --from TIME [--to TIME] [--window MINUTES] [--restart]

Pulls messages received in [from, to) into the configured sink (stdout NDJSON by default), one window at a
time, with the same no-loss / no-duplicate guarantees as \`once\`. Progress and ETA go to stderr (a bar on
a terminal, a plain line every --progress-every seconds otherwise). Its cursor is kept apart from the live
collector's (…backfill.json in state_dir), so it runs beside \`run\` and resumes where it stopped:
run the same command again, or \`backfill --config FILE\` without --from/--to.
  --from TIME            ISO 8601 or relative ("7 days ago"); rounded down to the minute
  --to TIME              default "now"; rounded up to the minute
  --window MINUTES       query span per request chain (default 1440, at most 14400 = the API's 10 days)
  --restart              discard an unfinished backfill of another range and start this one
  --progress-every SECS  non-terminal progress line interval (default 10; 0 = after every window)
History limits: Graph keeps 90 days, the legacy reporting service 10 days.`;

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
  return { version: 1, tenant_id: config.tenant_id, source: config.source, windows_done: 0, records_delivered: 0, cycles: 0, extra: { backfill: range } };
}

export interface BackfillRequest {
  from?: string;
  to?: string;
  windowMinutes: number;
  restart: boolean;
  now: number;
}

/**
 * Decide what to run: a new range, the unfinished stored one, or nothing. Writes the range into the backfill
 * state before anything is read, so an interrupted run knows what it was doing. The caller holds the lock.
 */
export function planBackfill(config: Config, store: StateStore, req: BackfillRequest): { range: BackfillRange; cursor: number; complete: boolean } {
  const { state } = store.load();
  const stored = rangeOf(state);
  const storedDone = !!stored && !!state.cursor && Date.parse(state.cursor) >= Date.parse(stored.to);
  if (req.from === undefined) {
    if (req.to !== undefined) throw new CollectorError("config", "--to given without --from", { hint: "give --from too (or neither, to resume the stored backfill)" });
    if (!stored) throw new CollectorError("config", "backfill needs --from (no unfinished backfill to resume)", { hint: 'e.g. backfill --from "7 days ago" --to now' });
    return { range: stored, cursor: Date.parse(state.cursor ?? stored.from), complete: storedDone };
  }
  const from = Math.floor(parseTime(req.from, req.now, "--from").getTime() / MIN) * MIN;
  const to = Math.ceil(parseTime(req.to ?? "now", req.now, "--to").getTime() / MIN) * MIN;
  if (from >= to) throw new CollectorError("config", `--from ${new Date(from).toISOString()} is not before --to ${new Date(to).toISOString()}`, { hint: "give an earlier --from" });
  if (to > Math.ceil(req.now / MIN) * MIN) throw new CollectorError("config", `--to ${new Date(to).toISOString()} is in the future`, { hint: "use --to now or an earlier time" });
  const historyDays = config.source === "rws" ? 10 : 90;
  if (from < req.now - historyDays * DAY) {
    throw new CollectorError("config", `--from ${new Date(from).toISOString()} is older than the ${historyDays} days of history the ${config.source === "rws" ? "reporting web service" : "Graph"} API keeps`, {
      hint: `use --from "${historyDays} days ago" or later`,
    });
  }
  const range = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  const same = stored && stored.from === range.from && stored.to === range.to;
  if (same && !req.restart) return { range, cursor: Date.parse(state.cursor ?? range.from), complete: storedDone };
  if (stored && !storedDone && !req.restart) {
    throw new CollectorError("config", `an unfinished backfill of [${stored.from}, ${stored.to}) is stored (done up to ${state.cursor ?? stored.from}); this asks for [${range.from}, ${range.to})`, {
      hint: "run `backfill` without --from/--to to resume it, or add --restart to discard it and start this range",
    });
  }
  // New range (or --restart): forget the old cursor and identities; the journal is emptied by commit.
  store.commit(freshState(config, range), config.dedupe ? new SeenSet() : undefined);
  return { range, cursor: from, complete: false };
}

export interface BackfillRunOptions {
  logger: Logger;
  signal?: AbortSignal;
  caPem?: string;
  stdout?: NodeJS.WritableStream;
  progress: Progress | ((done: number, total: number) => Progress);
}

/** Windows from the stored cursor to the range end; returns records delivered by this run. */
export async function runBackfill(config: Config, store: StateStore, range: BackfillRange, startCursor: number, windowMinutes: number, opts: BackfillRunOptions): Promise<number> {
  const from = Date.parse(range.from);
  const to = Date.parse(range.to);
  const progress = typeof opts.progress === "function" ? opts.progress(startCursor - from, to - from) : opts.progress;
  const side = createSourceSide(config, { logger: opts.logger, caPem: opts.caPem });
  const sink = createSink(config, { logger: opts.logger, stdout: opts.stdout });
  const mapper = recordMapperFor(config);
  let records = 0;
  let cursor = startCursor;
  try {
    while (cursor < to) {
      const end = Math.min(cursor + windowMinutes * MIN, to);
      // One exact window per cycle: the "clock" is the window end with no delay, so the planner yields [cursor, end).
      const windowConfig: Config = { ...config, window: (end - cursor) / MIN, delay: 0, max_windows_per_run: 1, rescan: { horizon: 0, every: 1 }, start: range.from };
      const collector = new Collector({ config: windowConfig, source: side.source, sink, store, mapper, logger: opts.logger, clock: () => end });
      const r = await collector.runCycle(opts.signal);
      if (r.windows !== 1 || Date.parse(r.cursor ?? "") !== end) {
        throw new CollectorError("internal", `backfill window [${new Date(cursor).toISOString()}, ${new Date(end).toISOString()}) was not planned as expected (cursor ${r.cursor})`);
      }
      records += r.records;
      cursor = end;
      progress.update(cursor - from, r.records, `up to ${new Date(cursor).toISOString()}`);
    }
    return records;
  } finally {
    progress.finish();
    await sink.close().catch(() => {});
    await side.source.close?.().catch(() => {});
    await side.dispatcher.close().catch(() => {});
    store.close();
  }
}

export async function backfillCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string", short: "c" },
      from: { type: "string" },
      to: { type: "string" },
      window: { type: "string" },
      restart: { type: "boolean" },
      "progress-every": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(BACKFILL_HELP + "\n");
    return EXIT_OK;
  }
  let lock: { release(): void } | undefined;
  const ac = new AbortController();
  const onSignal = (sig: string) => {
    process.stderr.write(`\no365-message-trace: ${sig} received, stopping; run the same command again to resume\n`);
    ac.abort(new Error(sig));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const windowMinutes = values.window === undefined ? 1440 : Number(values.window);
    if (!Number.isInteger(windowMinutes) || windowMinutes < 1 || windowMinutes > 14400) {
      throw new CollectorError("config", `--window ${values.window} is not a whole number of minutes from 1 to 14400`, { hint: "the API allows at most 10 days (14400 minutes) per query" });
    }
    const every = values["progress-every"] === undefined ? 10 : Number(values["progress-every"]);
    if (!Number.isFinite(every) || every < 0) throw new CollectorError("config", `--progress-every ${values["progress-every"]} is not a number of seconds ≥ 0`, { hint: "e.g. --progress-every 30" });
    const { config, logger } = setup(requireConfigPath(values.config, "backfill"));
    const store = new StateStore(config.state_dir, config.tenant_id, config.source, "backfill");
    lock = store.lock();
    const now = (clockFromEnv() ?? Date.now)();
    const plan = planBackfill(config, store, { from: values.from, to: values.to, windowMinutes, restart: !!values.restart, now });
    const span = `[${plan.range.from}, ${plan.range.to})`;
    if (plan.complete) {
      process.stderr.write(`o365-message-trace: the backfill of ${span} is already complete; give another --from/--to to start a new one\n`);
      return EXIT_OK;
    }
    if (plan.cursor > Date.parse(plan.range.from)) process.stderr.write(`o365-message-trace: resuming the backfill of ${span} at ${new Date(plan.cursor).toISOString()}\n`);
    const records = await runBackfill(config, store, plan.range, plan.cursor, windowMinutes, {
      logger,
      signal: ac.signal,
      progress: (done, total) => new Progress({ total, done, intervalMs: every * 1000, label: "backfill" }),
    });
    process.stderr.write(`o365-message-trace: backfill of ${span} complete, ${records} record(s) delivered by this run\n`);
    return EXIT_OK;
  } catch (err) {
    if (ac.signal.aborted) return EXIT_FAILURE;
    return printError(err);
  } finally {
    lock?.release();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
