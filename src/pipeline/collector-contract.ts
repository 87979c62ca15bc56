// The collector's contract with its callers: the narrow options the composition root (runtime.ts) derives from
// the config, the components it is given, and what a cycle or one window reports back. Kept apart from the
// collector's code so the CLI, the fleet and the collector's own parts can name these without importing it.
import type { StateBackend } from "../cursor/store.js";
import type { Logger } from "../log/logger.js";
import type { ServerClock } from "../net/server-clock.js";
import type { RecordMapper } from "../schema/mapper.js";
import type { Sink, Source } from "../types.js";
import type { PipelineMetrics } from "./metrics.js";
import type { BudgetView } from "./rescans.js";

/** What the collector needs to know of the configuration, and no more. */
export interface CollectorOptions {
  delayMinutes: number;
  windowMinutes: number;
  /** New windows per cycle. */
  maxWindows: number;
  /** The source's longest span per query (Graph: 10 days); windows never exceed it. */
  maxSpanMinutes?: number;
  /** Where a state without a cursor starts: ISO or relative time; default now − delay − window. */
  start?: string;
  rescanHorizonMinutes: number;
  rescanEvery: number;
  /** Remember delivered identities (journal + state) so re-reads never send a record twice. */
  dedupe: boolean;
  details: boolean;
  detailsMaxPerWindow: number;
  groupBy: "recipient" | "message";
  /** `drop_status`: rows with these (normalised) statuses are never sent. */
  dropStatus?: readonly string[];
  /** group_by message: grouped records per confirmed and journaled batch (the source's page size). */
  groupBatch?: number;
  /** Seconds between cycles (`frequency`): the re-scan planner's shortest period. Default 300. */
  frequencySeconds?: number;
  /** Rows per list page the source returns: what a re-read of history costs. Default 5000. */
  pageSize?: number;
  /** The request budget re-scans must fit in (requests per running window). Default 100 per 300 s. */
  budget?: { limit: number; windowSeconds: number };
  /**
   * Commit windows with the fsyncs in the thread pool: many tenants in one process then never wait for each
   * other's disk flushes (the fleet sets it). Off: one process, one tenant, the plain synchronous commit.
   */
  asyncCommit?: boolean;
  /**
   * Bytes of identity tables kept in memory before minutes are spilled beside the state file (default
   * src/dedupe/spill.ts's 4 MB, independent of window and volume). Not a config setting: tests set it tiny.
   */
  dedupeMemoryBytes?: number;
}

export interface CollectorDeps {
  options: CollectorOptions;
  source: Source;
  sink: Sink;
  store: StateBackend;
  mapper: RecordMapper;
  logger: Logger;
  clock?: () => number;
  metrics?: PipelineMetrics;
  /** The service's clock (Date headers, token iat): windows are planned and committed by it. */
  serverClock?: ServerClock;
  /** The runtime's request budget: re-scans spend only what it has free. */
  budget?: BudgetView;
}

export interface CycleResult {
  windows: number;
  rescanned: number;
  records: number;
  duplicates: number;
  cursor?: string;
  /** True when more complete windows are waiting (catch-up). */
  behind: boolean;
}

export interface WindowResult {
  records: number;
  duplicates: number;
  /** Set when a re-scan stopped early (budget): rows received at or after this time (ms) were all read. */
  readFrom?: number;
}
