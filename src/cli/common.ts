// Shared CLI plumbing: config + logger from flags, the one-line error, exit codes.
import { CollectorError, describeError } from "../errors.js";
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { createLogger, type Logger } from "../log/logger.js";
import { LockBusyError } from "../cursor/lock.js";
import type { CycleResult } from "../pipeline/collector.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

export function printError(err: unknown): number {
  if (err instanceof LockBusyError) {
    // Not an error for exec inputs: the previous run is still working. Exit 0 so the shipper does not alarm.
    process.stderr.write(`o365-message-trace: ${err.message}; skipping this run\n`);
    return EXIT_OK;
  }
  process.stderr.write(`o365-message-trace: ${describeError(err)}\n`);
  return err instanceof CollectorError && err.kind === "config" ? EXIT_CONFIG : EXIT_FAILURE;
}

export function requireConfigPath(value: string | undefined, command: string): string {
  const file = value ?? process.env.O365_CONFIG;
  if (!file) {
    throw new CollectorError("config", `${command} needs a config file`, { hint: `run: o365-message-trace ${command} --config FILE (or set O365_CONFIG)` });
  }
  return file;
}

export function setup(file: string, overrides: Record<string, unknown> = {}): { config: Config; logger: Logger } {
  const config = loadConfig(file, { overrides });
  const logger = createLogger({ level: config.log.level });
  return { config, logger };
}

/**
 * Test hook: O365MT_NOW pins the clock (ISO time) so subprocess tests are deterministic. With O365MT_TIME_SCALE=K
 * the clock starts there and runs K times faster (the tenants bench: an hour of data in 3600/K seconds).
 */
export function clockFromEnv(env = process.env): (() => number) | undefined {
  const fixed = env.O365MT_NOW;
  if (!fixed) return undefined;
  const t = Date.parse(fixed);
  if (!Number.isFinite(t)) throw new CollectorError("config", `O365MT_NOW=${fixed} is not an ISO time`, { hint: "unset it" });
  const scale = Number(env.O365MT_TIME_SCALE ?? 0);
  if (scale > 0) {
    const realStart = Date.now();
    return () => t + (Date.now() - realStart) * scale;
  }
  return () => t;
}

/** The "cycle done" log line of `once` and `run`. */
export function logCycle(logger: Logger, r: CycleResult): void {
  logger.info("cycle done", { windows: r.windows, rescanned: r.rescanned, records: r.records, duplicates_dropped: r.duplicates, cursor: r.cursor, behind: r.behind });
}
