// `run`: the daemon. Polls every `frequency`, catches up without waiting while windows are pending, keeps
// going through transient errors (with the error_retry_span circuit), and on SIGTERM/SIGINT abandons the
// in-flight window (never committed, so it is read again on restart) and exits within a bounded time.
import { parseArgs } from "node:util";
import { createRuntime, type Runtime } from "../runtime.js";
import { StateStore } from "../cursor/store.js";
import { CollectorError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { sleep } from "../net/retry.js";
import type { Config } from "../config/schema.js";
import { daemonHooks, type DaemonHooks } from "./daemon-hooks.js";
import { clockFromEnv, EXIT_FAILURE, EXIT_OK, printError, requireConfigPath, setup } from "./common.js";

export const RUN_HELP = `Usage: o365-message-trace run --config FILE

Long-running collector: polls every \`frequency\` seconds, catches up (max_windows_per_run per cycle, no
pause while behind), retries transient failures, and after error_retry_count failed cycles in a row waits
error_retry_span seconds. SIGTERM/SIGINT stop it cleanly: the in-flight window is abandoned, not committed.
Configuration errors and rejected credentials stop it with exit 2 / 1.`;

/** Errors that will not heal by waiting: stop the daemon instead of looping. */
function fatal(err: unknown): boolean {
  return err instanceof CollectorError && (err.kind === "config" || err.kind === "auth" || err.kind === "state");
}

export async function daemonLoop(rt: Runtime, config: Config, logger: Logger, signal: AbortSignal, clock = Date.now, hooks: DaemonHooks = {}): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    let wait = config.frequency * 1000;
    try {
      const r = await rt.collector.runCycle(signal);
      failures = 0;
      hooks.onCycle?.(true, clock());
      logger.info("cycle done", { windows: r.windows, rescanned: r.rescanned, records: r.records, duplicates_dropped: r.duplicates, cursor: r.cursor, behind: r.behind });
      if (r.behind) wait = 0;
    } catch (err) {
      if (signal.aborted) break;
      hooks.onCycle?.(false, clock());
      if (fatal(err)) throw err;
      failures++;
      const circuit = failures >= config.retry.error_retry_count;
      if (circuit) wait = config.retry.error_retry_span * 1000;
      logger.error("cycle failed", { error: (err as Error).message, consecutive_failures: failures, next_attempt_in_s: Math.round(wait / 1000) });
      if (circuit) failures = 0;
    }
    await sleep(wait, signal).catch(() => {});
  }
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    process.stdout.write(RUN_HELP + "\n");
    return EXIT_OK;
  }
  let lock: { release(): void } | undefined;
  const ac = new AbortController();
  const onSignal = (sig: string) => {
    if (ac.signal.aborted) return;
    process.stderr.write(`o365-message-trace: ${sig} received, stopping (the in-flight window is not committed)\n`);
    ac.abort(new Error(sig));
    // Bounded shutdown: if something hangs (a stuck receiver), exit anyway; state on disk is always consistent.
    setTimeout(() => process.exit(EXIT_FAILURE), 10_000).unref();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    const { config, logger } = setup(requireConfigPath(values.config, "run"));
    lock = new StateStore(config.state_dir, config.tenant_id, config.source).lock();
    const clock = clockFromEnv();
    const hooks = daemonHooks(config, logger);
    const rt = createRuntime(config, { logger, clock, metrics: hooks.metrics });
    await hooks.start?.();
    try {
      await daemonLoop(rt, config, logger, ac.signal, clock ?? Date.now, hooks);
    } finally {
      await rt.close();
      await hooks.stop?.();
    }
    return EXIT_OK;
  } catch (err) {
    return printError(err);
  } finally {
    lock?.release();
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}
