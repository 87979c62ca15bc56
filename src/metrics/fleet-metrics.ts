// Metrics and health of many tenants in one process: the same series as PromMetrics, each labelled with
// `tenant`, and a health verdict per tenant. /healthz is healthy while any (or, configured, all) tenants
// are; /healthz?tenant=NAME answers for one.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { LATENESS_BUCKETS } from "./prometheus.js";
import type { PipelineMetrics } from "../pipeline/metrics.js";
import type { HealthReport } from "./server.js";

interface TenantHealth {
  toleranceMs: number;
  lastOk?: boolean;
  lastSuccessAt?: number;
}

export class FleetMetrics {
  readonly registry = new Registry();
  private readonly records: Counter<"tenant">;
  private readonly duplicates: Counter<"tenant">;
  private readonly dropped: Counter<"tenant" | "reason">;
  private readonly windows: Counter<"tenant" | "kind">;
  private readonly api: Counter<"tenant" | "route" | "status">;
  private readonly retries: Counter<"tenant" | "route">;
  private readonly cycles: Counter<"tenant" | "result">;
  private readonly lag: Gauge<"tenant">;
  private readonly cursorTs: Gauge<"tenant">;
  private readonly lastSuccess: Gauge<"tenant">;
  private readonly healthyGauge: Gauge<"tenant">;
  private readonly foundLate: Histogram<"tenant" | "tier">;
  private readonly statusChanges: Counter<"tenant" | "tier">;
  private readonly requests: Counter<"tenant" | "kind">;
  private readonly covered: Gauge<"tenant">;
  private readonly horizon: Gauge<"tenant">;
  private readonly latency: Histogram<"tenant">;
  private readonly tenants = new Map<string, TenantHealth>();
  private readonly startedAt: number;

  constructor(
    private readonly mode: "any" | "all",
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
    const registers = [this.registry];
    const t = ["tenant"] as const;
    this.records = new Counter({
      name: "o365mt_records_emitted_total",
      help: "Records handed to the sink and confirmed by it",
      labelNames: t,
      registers,
    });
    this.duplicates = new Counter({
      name: "o365mt_duplicates_dropped_total",
      help: "Rows dropped because their identity was already delivered",
      labelNames: t,
      registers,
    });
    this.dropped = new Counter({
      name: "o365mt_records_dropped_total",
      help: "Rows not sent on purpose, by reason (status: drop_status)",
      labelNames: ["tenant", "reason"],
      registers,
    });
    this.windows = new Counter({
      name: "o365mt_windows_done_total",
      help: "Windows fully delivered (kind=new moves the cursor, kind=rescan re-reads)",
      labelNames: ["tenant", "kind"],
      registers,
    });
    this.api = new Counter({
      name: "o365mt_api_requests_total",
      help: "HTTP responses by route and status",
      labelNames: ["tenant", "route", "status"],
      registers,
    });
    this.retries = new Counter({
      name: "o365mt_retries_total",
      help: "Retried requests by route",
      labelNames: ["tenant", "route"],
      registers,
    });
    this.cycles = new Counter({ name: "o365mt_cycles_total", help: "Poll cycles by result", labelNames: ["tenant", "result"], registers });
    this.lag = new Gauge({
      name: "o365mt_cursor_lag_seconds",
      help: "Now minus the cursor (end of the last delivered window)",
      labelNames: t,
      registers,
    });
    this.cursorTs = new Gauge({ name: "o365mt_cursor_timestamp_seconds", help: "The cursor as Unix time", labelNames: t, registers });
    this.lastSuccess = new Gauge({
      name: "o365mt_last_success_timestamp_seconds",
      help: "Unix time of the last successful cycle (0: none yet)",
      labelNames: t,
      registers,
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.healthyGauge = new Gauge({
      name: "o365mt_tenant_healthy",
      help: "1 while the tenant is healthy (same rule as /healthz?tenant=), 0 while it is not",
      labelNames: t,
      registers,
      // At scrape time: a tenant turns unhealthy by time passing, not only when a cycle ends.
      collect() {
        for (const [tenant, h] of self.tenants) this.set({ tenant }, self.tenantHealthy(h) ? 1 : 0);
      },
    });
    // Lateness and latency (issue 14), as PromMetrics has them, per tenant.
    const buckets = LATENESS_BUCKETS;
    this.foundLate = new Histogram({
      name: "o365mt_found_lateness_seconds",
      help: "Found time minus receivedDateTime of newly delivered rows, by the read that found them (tier=new: new windows; rescan_N: re-scan band N, youngest = 1)",
      labelNames: ["tenant", "tier"],
      buckets,
      registers,
    });
    this.statusChanges = new Counter({
      name: "o365mt_status_changes_found_total",
      help: "Rows delivered again because their status changed, by the read that found them",
      labelNames: ["tenant", "tier"],
      registers,
    });
    this.requests = new Counter({
      name: "o365mt_list_requests_total",
      help: "List requests (pages) spent, kind=new for new windows, kind=rescan for re-scans",
      labelNames: ["tenant", "kind"],
      registers,
    });
    this.covered = new Gauge({
      name: "o365mt_rescan_covered_horizon_seconds",
      help: "Re-scan horizon guaranteed within the request budget (less than the configured horizon when the budget is short)",
      labelNames: t,
      registers,
    });
    this.horizon = new Gauge({
      name: "o365mt_rescan_horizon_seconds",
      help: "Configured re-scan horizon (rescan.horizon)",
      labelNames: t,
      registers,
    });
    this.latency = new Histogram({
      name: "o365mt_delivery_latency_seconds",
      help: "Sink confirmation time minus receivedDateTime of delivered records",
      labelNames: t,
      buckets,
      registers,
    });
    collectDefaultMetrics({ register: this.registry, prefix: "o365mt_" });
  }

  /** Register a tenant (series start at 0) and get its PipelineMetrics. */
  forTenant(tenant: string, toleranceMs: number): PipelineMetrics {
    this.tenants.set(tenant, { toleranceMs });
    this.lastSuccess.set({ tenant }, 0);
    for (const result of ["ok", "error"]) this.cycles.inc({ tenant, result }, 0);
    this.records.inc({ tenant }, 0);
    for (const kind of ["new", "rescan"]) this.requests.inc({ tenant, kind }, 0);
    return {
      recordsEmitted: (n) => this.records.inc({ tenant }, n),
      duplicatesDropped: (n) => this.duplicates.inc({ tenant }, n),
      recordsDropped: (reason, n) => this.dropped.inc({ tenant, reason }, n),
      windowDone: (kind) => this.windows.inc({ tenant, kind }),
      apiResponse: (route, status) => this.api.inc({ tenant, route, status: String(status) }),
      retry: (route) => this.retries.inc({ tenant, route }),
      cursor: (cursorMs, nowMs) => {
        this.lag.set({ tenant }, Math.max(0, (nowMs - cursorMs) / 1000));
        this.cursorTs.set({ tenant }, cursorMs / 1000);
      },
      cycle: (ok) => this.cycle(tenant, ok),
      rowsFound: (tier, lateSeconds, changes) => {
        let h: ReturnType<typeof this.foundLate.labels> | undefined;
        for (const x of lateSeconds) (h ??= this.foundLate.labels({ tenant, tier })).observe(x);
        if (changes > 0) this.statusChanges.inc({ tenant, tier }, changes);
      },
      requestsSpent: (kind, n) => {
        if (n > 0) this.requests.inc({ tenant, kind }, n);
      },
      rescanCoverage: (coveredSeconds, horizonSeconds) => {
        this.covered.set({ tenant }, coveredSeconds);
        this.horizon.set({ tenant }, horizonSeconds);
      },
      deliveryLatency: (seconds) => {
        if (seconds.length === 0) return;
        const h = this.latency.labels({ tenant });
        for (const x of seconds) h.observe(x);
      },
    };
  }

  cycle(tenant: string, ok: boolean): void {
    const h = this.tenants.get(tenant);
    if (!h) return;
    const at = this.now();
    this.cycles.inc({ tenant, result: ok ? "ok" : "error" });
    h.lastOk = ok;
    if (ok) {
      h.lastSuccessAt = at;
      this.lastSuccess.set({ tenant }, at / 1000);
    }
  }

  /** The single-tenant rule, per tenant: the last cycle succeeded, or the last success (or start) is within the tolerance. */
  private tenantHealthy(h: TenantHealth): boolean {
    return h.lastOk === true || this.now() - (h.lastSuccessAt ?? this.startedAt) <= h.toleranceMs;
  }

  /** The whole process (`tenant` absent) or one tenant; undefined for a tenant this process does not serve. */
  healthy(tenant?: string): HealthReport | undefined {
    if (tenant !== undefined) {
      const h = this.tenants.get(tenant);
      if (!h) return undefined;
      const ok = this.tenantHealthy(h);
      return {
        ok,
        detail: {
          tenant,
          status: ok ? "ok" : "unhealthy",
          last_cycle: h.lastOk === undefined ? "none yet" : h.lastOk ? "ok" : "failed",
          last_success: h.lastSuccessAt ? new Date(h.lastSuccessAt).toISOString() : null,
        },
      };
    }
    const names = [...this.tenants.keys()];
    const unhealthy = names.filter((n) => !this.tenantHealthy(this.tenants.get(n)!));
    const healthyCount = names.length - unhealthy.length;
    const ok = this.mode === "all" ? unhealthy.length === 0 : healthyCount > 0;
    return {
      ok,
      detail: {
        status: ok ? "ok" : "unhealthy",
        mode: this.mode,
        tenants: names.length,
        healthy: healthyCount,
        unhealthy_tenants: unhealthy,
      },
    };
  }
}
