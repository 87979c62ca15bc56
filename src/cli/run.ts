// `run`: the daemon. Polls every `frequency`, catches up without waiting while windows are pending (at most
// max_windows_per_run per cycle, so one cycle stays bounded), keeps going through transient errors (with the
// error_retry_span circuit), and on SIGTERM/SIGINT stops within a bounded time. A window is committed only
// after the sink confirmed all of it, so stopping mid-window leaves the cursor at the previous window and
// the next start reads that window again (with dedupe on, pages already confirmed are not re-sent).
import { processLogger, type Logger } from "../log/logger.js";
import { acquireStartToken, EVERYTHING, open, type Runtime } from "../runtime.js";
import { CollectorError } from "../errors.js";
import { sleep } from "../net/retry.js";
import type { Config } from "../config/schema.js";
import { loadFleet, type FleetConfig } from "../config/tenants.js";
import { TenantFleet } from "../fleet/fleet.js";
import { createLogger } from "../log/logger.js";
import { FleetMetrics } from "../metrics/fleet-metrics.js";
import { MetricsServer } from "../metrics/server.js";
import { daemonHooks, healthToleranceMs, type DaemonHooks } from "./daemon-hooks.js";
import { defineCommand } from "./command.js";
import { clockFromEnv, EXIT_FAILURE, EXIT_OK, logCycle, requireConfigPath, setup } from "./common.js";

export const RUN_HELP = `Usage: o365-message-trace run --config FILE

Long-running collector, usually with sink.type forward or http: polls every \`frequency\` seconds, catches
up (max_windows_per_run per cycle, no pause while behind), retries transient failures, and after
error_retry_count failed cycles in a row waits error_retry_span seconds. With metrics.listen set it serves
Prometheus text at /metrics and health at /healthz (loopback unless an address is given).
SIGTERM/SIGINT stop it cleanly within 10 seconds: the in-flight window is abandoned, never committed in
part, and read again on the next start. A second signal exits at once (state on disk is always consistent).
Configuration errors and rejected credentials stop it with exit 2 / 1.
With \`tenants:\` it polls every tenant this replica owns (shard) on its own schedule, tenant_concurrency
cycles at a time, one cycle per turn; a failing tenant is retried on its own schedule and never stops the
others. /healthz is healthy while any tenant is (tenant_health: all for every one); /healthz?tenant=NAME.`;

/** `run` with many tenants: the fleet until the signal, with tenant-labelled metrics and per-tenant health. */
export async function runFleet(fleet: FleetConfig, signal: AbortSignal, clock?: () => number): Promise<void> {
  const first = fleet.all[0]!.config;
  const logger = createLogger({ level: first.log.level });
  const metrics = first.metrics.listen ? new FleetMetrics(fleet.health) : undefined;
  const server = metrics ? new MetricsServer(metrics, first.metrics.listen!) : undefined;
  const byName = new Map(fleet.tenants.map((t) => [t.name, t.config]));
  const metricsFor = metrics ? (t: string) => metrics.forTenant(t, healthToleranceMs(byName.get(t)!)) : undefined;
  const tf = new TenantFleet(fleet, { logger, clock, metricsFor });
  try {
    if (server) {
      const a = await server.start();
      const address = `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
      logger.info("metrics listening", { address, metrics: `http://${address}/metrics`, health: `http://${address}/healthz` });
    }
    logger.info("daemon started", {
      tenants: fleet.tenants.length,
      of_tenants: fleet.all.length,
      shard: fleet.shard,
      tenant_concurrency: fleet.concurrency,
    });
    await tf.runForever(signal);
  } finally {
    await tf.close();
    await server?.stop();
  }
  logger.info("daemon stopped");
}

/** How long a stop may take before we exit regardless (a stuck receiver must not block a restart). */
export const SHUTDOWN_GRACE_MS = 10_000;

/** Errors that will not heal by waiting: stop the daemon instead of looping. */
function fatal(err: unknown): boolean {
  return err instanceof CollectorError && (err.kind === "config" || err.kind === "auth" || err.kind === "state");
}

export async function daemonLoop(
  rt: Pick<Runtime, "collector">,
  config: Config,
  logger: Logger,
  signal: AbortSignal,
  clock = Date.now,
  hooks: DaemonHooks = {},
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    const started = Date.now();
    // The poll interval is measured from the start of a cycle, so a slow cycle does not stretch it.
    let wait = config.frequency * 1000;
    try {
      const r = await rt.collector.runCycle(signal);
      failures = 0;
      hooks.onCycle?.(true, clock());
      logCycle(logger, r);
      wait = r.behind ? 0 : Math.max(0, wait - (Date.now() - started));
    } catch (err) {
      if (signal.aborted) {
        logger.info("stopped during a cycle; the in-flight window was not committed and is read again on the next start", {
          error: (err as Error).message,
        });
        break;
      }
      hooks.onCycle?.(false, clock());
      if (fatal(err)) throw err;
      failures++;
      const circuit = failures >= config.retry.error_retry_count;
      if (circuit) wait = config.retry.error_retry_span * 1000;
      logger.error("cycle failed", {
        error: (err as Error).message,
        hint: (err as CollectorError).hint,
        consecutive_failures: failures,
        next_attempt_in_s: Math.round(wait / 1000),
      });
      if (circuit) failures = 0;
    }
    if (wait > 0) await sleep(wait, signal).catch(() => {});
    // While catching up, let signals and timers run between cycles.
    else await new Promise((r) => setImmediate(r));
  }
}

export const command = defineCommand({
  name: "run",
  help: RUN_HELP,
  options: { config: { type: "string", short: "c" } },
  async run(values) {
    let rt: Runtime<typeof EVERYTHING & { lock: true }> | undefined;
    const ac = new AbortController();
    const exitNow = () => {
      rt?.store.unlock();
      process.exit(EXIT_FAILURE);
    };
    const onSignal = (sig: string) => {
      if (ac.signal.aborted) {
        processLogger().error(`second ${sig}, exiting now`);
        exitNow();
      }
      processLogger().warn(`${sig} received, stopping (the in-flight window is not committed)`);
      ac.abort(new Error(`stopped by ${sig}`));
      // Bounded shutdown: if something hangs (a stuck receiver), exit anyway; state on disk is always consistent.
      setTimeout(() => {
        processLogger().error(`shutdown took longer than ${SHUTDOWN_GRACE_MS / 1000}s, exiting`);
        exitNow();
      }, SHUTDOWN_GRACE_MS).unref();
    };
    // A closed terminal or `kill -HUP` must not kill the daemon (the default action): log it and keep going.
    // The config is read at start only; restart to change it.
    const onHup = () =>
      process.stderr.write("o365-message-trace: SIGHUP received; ignored (the configuration is read at start: restart to change it)\n");
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    process.on("SIGHUP", onHup);
    try {
      const file = requireConfigPath(values.config, "run");
      const clock = clockFromEnv();
      const fleet = loadFleet(file);
      if (fleet.multi) {
        await runFleet(fleet, ac.signal, clock);
        return EXIT_OK;
      }
      const { config, logger } = setup(file);
      const hooks = daemonHooks(config, logger);
      rt = open(config, { ...EVERYTHING, lock: true }, { logger, clock, clockPinned: clock !== undefined, metrics: hooks.metrics });
      try {
        // A credential mistake must fail now, not when the first window is due. A login endpoint that is merely
        // unreachable is left to the loop, which retries.
        await acquireStartToken(rt).catch((err: unknown) => {
          if (fatal(err)) throw err;
          logger.warn("could not get a token at start; the first cycle retries", { error: (err as Error).message });
        });
        await hooks.start?.();
        logger.info("daemon started", {
          sink: config.sink.type,
          source: config.source.type,
          frequency_s: config.frequency,
          window_min: config.window,
          delay_min: config.delay,
        });
        await daemonLoop(rt, config, logger, ac.signal, clock ?? Date.now, hooks);
      } finally {
        await rt.close();
        await hooks.stop?.();
      }
      logger.info("daemon stopped");
      return EXIT_OK;
    } finally {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      process.off("SIGHUP", onHup);
    }
  },
});
