// Shared CLI plumbing: config + logger from flags, the one-line error, exit codes.
import { CollectorError, describeError } from "../errors.js";
import { loadConfig } from "../config/load.js";
import { loadFleet, pickTenant } from "../config/tenants.js";
import type { Config } from "../config/schema.js";
import { createLogger, processLogger, setProcessLogger, type Logger } from "../log/logger.js";
import { LockBusyError } from "../cursor/lock.js";
import { configureRequestTrace } from "../net/trace.js";
import type { CycleResult } from "../pipeline/collector.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

export function printError(err: unknown): number {
  if (err instanceof LockBusyError) {
    // Not an error for exec inputs: the previous run is still working. Exit 0 so the shipper does not alarm.
    processLogger().warn(`${err.message}; skipping this run`);
    return EXIT_OK;
  }
  // The line that explains a failure has the same format (JSON for shippers) as every other line.
  processLogger().error(describeError(err));
  return err instanceof CollectorError && err.kind === "config" ? EXIT_CONFIG : EXIT_FAILURE;
}

export function requireConfigPath(value: string | undefined, command: string): string {
  const file = value ?? process.env.O365_CONFIG;
  if (!file) {
    throw new CollectorError("config", `${command} needs a config file`, {
      hint: `run: o365-message-trace ${command} --config FILE (or set O365_CONFIG)`,
    });
  }
  return file;
}

export function setup(file: string, overrides: Record<string, unknown> = {}): { config: Config; logger: Logger } {
  const config = loadConfig(file, { overrides });
  const logger = loggerFor(config);
  configureRequestTrace({
    file: config.log.requests,
    maxBytes: config.log.requests_max_bytes,
    logger: config.log.level === "debug" ? logger : undefined,
  });
  return { config, logger };
}

/**
 * `setup` for a command that works on one tenant (backfill, get-events, auth-test): a single-tenant config as
 * is, or the tenant `--tenant` names in a config with `tenants:` (required when it lists several).
 */
export function setupTenant(file: string, tenant: string | undefined, command: string): { config: Config; logger: Logger } {
  const { config } = pickTenant(loadFleet(file), tenant, command);
  const logger = loggerFor(config);
  configureRequestTrace({
    file: config.log.requests,
    maxBytes: config.log.requests_max_bytes,
    logger: config.log.level === "debug" ? logger : undefined,
  });
  return { config, logger };
}

/** The command's logger: configured level and format, tenant and source on every line; also the process logger. */
export function loggerFor(config: Config): Logger {
  const base = { tenant: config.tenant_id, source: config.source.type };
  const logger = createLogger({ level: config.log.level, format: config.log.format, base });
  setProcessLogger(logger);
  return logger;
}

/**
 * For the lines a command exists to print (backfill progress, "complete", "resuming"): same format and
 * fields as the command's logger, but shown at info even when log.level is warn or error.
 */
export function answerLogger(config: Config): Logger {
  return createLogger({
    level: config.log.level === "debug" ? "debug" : "info",
    format: config.log.format,
    base: { tenant: config.tenant_id, source: config.source.type },
  });
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
  logger.info("cycle done", {
    windows: r.windows,
    rescanned: r.rescanned,
    records: r.records,
    duplicates_dropped: r.duplicates,
    cursor: r.cursor,
    behind: r.behind,
  });
}
