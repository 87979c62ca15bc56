// PipelineMetrics backed by prom-client, on a registry of our own (never the global one, so embedding the
// collector in another process cannot clash), plus the health verdict served at /healthz.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { PipelineMetrics } from "../pipeline/metrics.js";

export interface HealthOptions {
  /** How long after the last successful cycle failures are still tolerated (ms). */
  toleranceMs: number;
  /** Wall clock for health (not the collector's possibly pinned clock). */
  now?: () => number;
}

/** Lateness and latency buckets in seconds: minutes (the bulk) to a day and beyond (the tail the re-scans exist for). */
export const LATENESS_BUCKETS = [60, 300, 600, 1200, 1800, 3600, 7200, 14400, 21600, 43200, 86400, 172800];

export class PromMetrics implements PipelineMetrics {
  readonly registry = new Registry();
  private readonly records: Counter;
  private readonly duplicates: Counter;
  private readonly dropped: Counter<"reason">;
  private readonly windows: Counter<"kind">;
  private readonly api: Counter<"route" | "status">;
  private readonly retries: Counter<"route">;
  private readonly cycles: Counter<"result">;
  private readonly lag: Gauge;
  private readonly cursorTs: Gauge;
  private readonly lastSuccess: Gauge;
  private readonly foundLate: Histogram<"tier">;
  private readonly statusChanges: Counter<"tier">;
  private readonly requests: Counter<"kind">;
  private readonly covered: Gauge;
  private readonly horizon: Gauge;
  private readonly latency: Histogram;
  private readonly now: () => number;
  private readonly startedAt: number;
  private lastOk?: boolean;
  private lastSuccessAt?: number;

  constructor(
    private readonly health: HealthOptions,
    opts: { defaultMetrics?: boolean } = {},
  ) {
    this.now = health.now ?? Date.now;
    this.startedAt = this.now();
    const registers = [this.registry];
    this.records = new Counter({ name: "o365mt_records_emitted_total", help: "Records handed to the sink and confirmed by it", registers });
    this.duplicates = new Counter({
      name: "o365mt_duplicates_dropped_total",
      help: "Rows dropped because their identity was already delivered",
      registers,
    });
    this.dropped = new Counter({
      name: "o365mt_records_dropped_total",
      help: "Rows not sent on purpose, by reason (status: drop_status)",
      labelNames: ["reason"],
      registers,
    });
    this.dropped.inc({ reason: "status" }, 0);
    this.windows = new Counter({
      name: "o365mt_windows_done_total",
      help: "Windows fully delivered (kind=new moves the cursor, kind=rescan re-reads)",
      labelNames: ["kind"],
      registers,
    });
    this.api = new Counter({
      name: "o365mt_api_requests_total",
      help: "HTTP responses by route and status (token, graph, rws, details, sink_http)",
      labelNames: ["route", "status"],
      registers,
    });
    this.retries = new Counter({ name: "o365mt_retries_total", help: "Retried requests by route", labelNames: ["route"], registers });
    this.cycles = new Counter({ name: "o365mt_cycles_total", help: "Poll cycles by result", labelNames: ["result"], registers });
    this.lag = new Gauge({ name: "o365mt_cursor_lag_seconds", help: "Now minus the cursor (end of the last delivered window)", registers });
    this.cursorTs = new Gauge({ name: "o365mt_cursor_timestamp_seconds", help: "The cursor as Unix time", registers });
    this.lastSuccess = new Gauge({
      name: "o365mt_last_success_timestamp_seconds",
      help: "Unix time of the last successful cycle (0: none yet)",
      registers,
    });
    // Lateness in seconds: minutes (the bulk) to a day and beyond (the tail the re-scans exist for).
    const buckets = LATENESS_BUCKETS;
    this.foundLate = new Histogram({
      name: "o365mt_found_lateness_seconds",
      help: "Found time minus receivedDateTime of newly delivered rows, by the read that found them (tier=new: new windows; rescan_N: re-scan band N, youngest = 1)",
      labelNames: ["tier"],
      buckets,
      registers,
    });
    this.statusChanges = new Counter({
      name: "o365mt_status_changes_found_total",
      help: "Rows delivered again because their status changed, by the read that found them",
      labelNames: ["tier"],
      registers,
    });
    this.requests = new Counter({
      name: "o365mt_list_requests_total",
      help: "List requests (pages) spent, kind=new for new windows, kind=rescan for re-scans",
      labelNames: ["kind"],
      registers,
    });
    this.covered = new Gauge({
      name: "o365mt_rescan_covered_horizon_seconds",
      help: "Re-scan horizon guaranteed within the request budget (less than the configured horizon when the budget is short)",
      registers,
    });
    this.horizon = new Gauge({ name: "o365mt_rescan_horizon_seconds", help: "Configured re-scan horizon (rescan.horizon)", registers });
    this.latency = new Histogram({
      name: "o365mt_delivery_latency_seconds",
      help: "Sink confirmation time minus receivedDateTime of delivered records",
      buckets,
      registers,
    });
    this.requests.inc({ kind: "new" }, 0);
    this.requests.inc({ kind: "rescan" }, 0);
    this.windows.inc({ kind: "new" }, 0);
    this.windows.inc({ kind: "rescan" }, 0);
    this.cycles.inc({ result: "ok" }, 0);
    this.cycles.inc({ result: "error" }, 0);
    this.lastSuccess.set(0);
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "o365mt_" });
  }

  recordsEmitted(n: number): void {
    this.records.inc(n);
  }
  duplicatesDropped(n: number): void {
    this.duplicates.inc(n);
  }
  recordsDropped(reason: "status", n: number): void {
    this.dropped.inc({ reason }, n);
  }
  windowDone(kind: "new" | "rescan"): void {
    this.windows.inc({ kind });
  }
  apiResponse(route: string, status: number): void {
    this.api.inc({ route, status: String(status) });
  }
  retry(route: string): void {
    this.retries.inc({ route });
  }
  cursor(cursorMs: number, nowMs: number): void {
    this.lag.set(Math.max(0, (nowMs - cursorMs) / 1000));
    this.cursorTs.set(cursorMs / 1000);
  }
  rowsFound(tier: string, lateSeconds: Iterable<number>, statusChanges: number): void {
    for (const s of lateSeconds) this.foundLate.observe({ tier }, s);
    if (statusChanges > 0) this.statusChanges.inc({ tier }, statusChanges);
  }
  requestsSpent(kind: "new" | "rescan", n: number): void {
    if (n > 0) this.requests.inc({ kind }, n);
  }
  rescanCoverage(coveredSeconds: number, horizonSeconds: number): void {
    this.covered.set(coveredSeconds);
    this.horizon.set(horizonSeconds);
  }
  deliveryLatency(seconds: readonly number[]): void {
    for (const s of seconds) this.latency.observe(s);
  }
  cycle(ok: boolean, _nowMs: number): void {
    const at = this.now();
    this.cycles.inc({ result: ok ? "ok" : "error" });
    this.lastOk = ok;
    if (ok) {
      this.lastSuccessAt = at;
      this.lastSuccess.set(at / 1000);
    }
  }

  /** Healthy while the last cycle succeeded, or the last success (or start) is within the tolerance. */
  healthy(): { ok: boolean; detail: Record<string, unknown> } {
    const ref = this.lastSuccessAt ?? this.startedAt;
    const age = this.now() - ref;
    const ok = this.lastOk === true || age <= this.health.toleranceMs;
    return {
      ok,
      detail: {
        status: ok ? "ok" : "unhealthy",
        last_cycle: this.lastOk === undefined ? "none yet" : this.lastOk ? "ok" : "failed",
        last_success: this.lastSuccessAt ? new Date(this.lastSuccessAt).toISOString() : null,
        seconds_since_success_or_start: Math.round(age / 1000),
        tolerance_seconds: Math.round(this.health.toleranceMs / 1000),
      },
    };
  }
}
