// Extension point for the daemon: metrics endpoint and health. Without `metrics.listen` it does nothing.
import type { Config } from "../config/schema.js";
import type { Logger } from "../log/logger.js";
import { PromMetrics } from "../metrics/prometheus.js";
import { MetricsServer } from "../metrics/server.js";
import type { PipelineMetrics } from "../pipeline/metrics.js";

export interface DaemonHooks {
  metrics?: PipelineMetrics;
  start?: () => Promise<void>;
  stop?: () => Promise<void>;
  onCycle?: (ok: boolean, nowMs: number) => void;
  /** Where /metrics is served, once started ("host:port"). */
  address?: () => string | undefined;
}

/**
 * Health tolerance: one failed cycle is normal (a 503 from Microsoft, a receiver restart). Unhealthy once no
 * cycle has succeeded for three poll intervals, or — when the error circuit is open — for the circuit pause
 * plus two intervals, so a deliberate pause alone never flips it.
 */
export function healthToleranceMs(config: Config): number {
  return Math.max(3 * config.frequency, config.retry.error_retry_span + 2 * config.frequency) * 1000;
}

export function daemonHooks(config: Config, logger: Logger, opts: { now?: () => number } = {}): DaemonHooks {
  const listen = config.metrics.listen;
  if (!listen) return {};
  const metrics = new PromMetrics({ toleranceMs: healthToleranceMs(config), now: opts.now });
  const server = new MetricsServer(metrics, listen);
  let address: string | undefined;
  return {
    metrics,
    address: () => address,
    start: async () => {
      const a = await server.start();
      address = `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
      logger.info("metrics listening", { address, metrics: `http://${address}/metrics`, health: `http://${address}/healthz` });
    },
    stop: () => server.stop(),
    onCycle: (ok, nowMs) => metrics.cycle(ok, nowMs),
  };
}
