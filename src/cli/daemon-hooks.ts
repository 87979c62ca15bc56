// Extension point for the daemon: metrics endpoint and health. The default does nothing.
import type { Config } from "../config/schema.js";
import type { Logger } from "../log/logger.js";
import type { PipelineMetrics } from "../pipeline/metrics.js";

export interface DaemonHooks {
  metrics?: PipelineMetrics;
  start?: () => Promise<void>;
  stop?: () => Promise<void>;
  onCycle?: (ok: boolean, nowMs: number) => void;
}

export function daemonHooks(_config: Config, _logger: Logger): DaemonHooks {
  return {};
}
