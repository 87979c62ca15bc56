// Many tenants in one process. Each tenant has its own runtime (state directory and lock, dedupe state,
// request budget, token provider) and its own failure schedule; the fleet only decides who runs next.
// Fairness: a tenant's turn is one cycle (at most max_windows_per_run windows), and a tenant still behind
// queues again behind every tenant already due, so a huge catch-up cannot starve the small ones.
// Isolation: a failing, throttled or hanging tenant holds at most one of `tenant_concurrency` slots, and only
// until its cycle times out (tenant_cycle_timeout); then it waits on its own schedule, marked unhealthy.
import { join } from "node:path";
import type { Dispatcher } from "undici";
import type { FleetConfig, TenantConfig } from "../config/tenants.js";
import { ensurePrivateDir, writeFileAtomicAsync } from "../cursor/atomic.js";
import { LockBusyError } from "../cursor/lock.js";
import { CollectorError, describeError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { sleep } from "../net/retry.js";
import type { CycleResult } from "../pipeline/collector.js";
import type { PipelineMetrics } from "../pipeline/metrics.js";
import { createDispatcherFor, createSink, EVERYTHING, open, type Runtime } from "../runtime.js";
import type { Sink } from "../types.js";

/** What `status` prints and /healthz?tenant= serves; persisted as status.json in the tenant's state directory. */
export interface TenantStatus {
  tenant: string;
  tenant_id: string;
  healthy: boolean;
  last_success?: string;
  last_error?: string;
  last_error_at?: string;
  consecutive_failures: number;
  next_attempt?: string;
  cursor?: string;
  last_records?: number;
}

export const STATUS_FILE = "status.json";

export interface FleetDeps {
  logger: Logger;
  clock?: () => number;
  env?: NodeJS.ProcessEnv;
  caPem?: string;
  stdout?: NodeJS.WritableStream;
  /** Metrics for one tenant (labelled with it). */
  metricsFor?: (tenant: string) => PipelineMetrics;
  /** After every tenant cycle (health). */
  onCycle?: (tenant: string, ok: boolean) => void;
  wrapSink?: (sink: Sink) => Sink;
}

export interface TenantOutcome {
  tenant: string;
  ok: boolean;
  result?: CycleResult;
  error?: string;
  /** Another process holds this tenant's lock: skipped, not failed. */
  busy?: boolean;
}

/** What each tenant opens: the live collector with its lock, committing off the event loop (shared by all tenants). */
const FLEET_NEEDS = { ...EVERYTHING, lock: true, collector: { asyncCommit: true } } as const;
type TenantRuntime = Runtime<typeof FLEET_NEEDS>;

class Worker {
  rt?: TenantRuntime;
  metrics?: PipelineMetrics;
  due = 0;
  busy = false;
  failures = 0;
  /** The status file write in flight (see persist). */
  persisting: Promise<void> = Promise.resolve();
  readonly status: TenantStatus;
  constructor(
    readonly t: TenantConfig,
    readonly logger: Logger,
  ) {
    this.status = { tenant: t.name, tenant_id: t.config.tenant_id, healthy: true, consecutive_failures: 0 };
  }
}

export class TenantFleet {
  private readonly workers: Worker[];
  private readonly dispatchers = new Map<string, Dispatcher>();
  private sharedSink?: Sink;
  private readonly now: () => number;

  constructor(
    readonly fleet: FleetConfig,
    private readonly deps: FleetDeps,
  ) {
    // Scheduling runs on the wall clock even when the collector's clock is pinned (tests, O365MT_NOW).
    this.now = Date.now;
    // Each held state lock listens for process exit (to release it): one listener per tenant is expected.
    process.setMaxListeners(Math.max(process.getMaxListeners(), fleet.tenants.length + 10));
    this.workers = fleet.tenants.map((t) => new Worker(t, deps.logger.child({ tenant: t.name })));
    for (const w of this.workers) w.metrics = deps.metricsFor?.(w.t.name);
    // One sink for the process when every tenant sends to the same place (no `{tenant}` in it): one
    // connection to the receiver. Each tenant's commit still waits for the sink to confirm its records.
    const sinks = new Set(fleet.tenants.map((t) => JSON.stringify(t.config.sink)));
    if (sinks.size === 1 && fleet.tenants.length > 1) {
      const opts = { logger: deps.logger, stdout: deps.stdout, env: deps.env, wrapSink: deps.wrapSink };
      this.sharedSink = createSink(fleet.tenants[0]!.config, opts);
    }
  }

  statuses(): TenantStatus[] {
    return this.workers.map((w) => ({ ...w.status }));
  }

  /** Tenants sharing HTTP settings share one connection pool (undici pools per origin, so no tenant waits for another's socket). */
  private dispatcherFor(t: TenantConfig): Dispatcher {
    const key = JSON.stringify(t.config.http);
    let d = this.dispatchers.get(key);
    if (!d) {
      d = createDispatcherFor(t.config, { caPem: this.deps.caPem, env: this.deps.env, logger: this.deps.logger });
      this.dispatchers.set(key, d);
    }
    return d;
  }

  private runtime(w: Worker): TenantRuntime {
    w.rt ??= open(
      w.t.config,
      { ...FLEET_NEEDS },
      {
        logger: w.logger,
        env: this.deps.env,
        clock: this.deps.clock,
        stdout: this.deps.stdout,
        dispatcher: this.dispatcherFor(w.t),
        sink: this.sharedSink,
        wrapSink: this.sharedSink ? undefined : this.deps.wrapSink,
        metrics: w.metrics,
      },
    );
    return w.rt;
  }

  /** One cycle of one tenant, bounded by tenant_cycle_timeout; never throws. */
  private async turn(w: Worker, signal?: AbortSignal): Promise<TenantOutcome> {
    const started = this.now();
    const limit = AbortSignal.timeout(this.fleet.cycleTimeoutSeconds * 1000);
    const cycleSignal = signal ? AbortSignal.any([signal, limit]) : limit;
    const c = w.t.config;
    try {
      const result = await this.runtime(w).collector.runCycle(cycleSignal);
      w.failures = 0;
      w.due = result.behind ? this.now() : started + c.frequency * 1000;
      const at = new Date(this.now()).toISOString();
      Object.assign(w.status, { healthy: true, last_success: at, consecutive_failures: 0 });
      Object.assign(w.status, { cursor: result.cursor, last_records: result.records });
      w.status.next_attempt = new Date(w.due).toISOString();
      w.logger.info("cycle done", {
        windows: result.windows,
        rescanned: result.rescanned,
        records: result.records,
        duplicates_dropped: result.duplicates,
        cursor: result.cursor,
        behind: result.behind,
      });
      w.metrics?.cycle(true, this.now());
      this.deps.onCycle?.(w.t.name, true);
      this.persist(w);
      return { tenant: w.t.name, ok: true, result };
    } catch (err) {
      // Start clean next time: the in-flight window was not committed; the lock is released for the retry.
      await w.rt?.close();
      w.rt = undefined;
      if (err instanceof LockBusyError) {
        w.due = this.now() + c.frequency * 1000;
        w.logger.warn("another process holds this tenant's lock; skipping it", { error: err.message });
        return { tenant: w.t.name, ok: true, busy: true };
      }
      const timedOut = limit.aborted && !signal?.aborted;
      const message = timedOut
        ? `cycle took longer than tenant_cycle_timeout (${this.fleet.cycleTimeoutSeconds}s) and was abandoned`
        : describeError(err);
      w.failures++;
      // Credentials and permissions do not heal in one interval: wait the circuit pause at once.
      const lasting =
        err instanceof CollectorError &&
        (err.kind === "auth" || err.kind === "permission" || err.kind === "config" || err.kind === "state");
      const circuit = lasting || w.failures >= c.retry.error_retry_count;
      w.due = this.now() + (circuit ? c.retry.error_retry_span : c.frequency) * 1000;
      const at = new Date(this.now()).toISOString();
      Object.assign(w.status, { healthy: false, last_error: message, last_error_at: at, consecutive_failures: w.failures });
      w.status.next_attempt = new Date(w.due).toISOString();
      if (circuit) w.failures = 0;
      if (!signal?.aborted) {
        w.logger.error("cycle failed", {
          error: message,
          hint: (err as CollectorError).hint,
          consecutive_failures: w.status.consecutive_failures,
          next_attempt_in_s: Math.round((w.due - this.now()) / 1000),
        });
        w.metrics?.cycle(false, this.now());
        this.deps.onCycle?.(w.t.name, false);
        this.persist(w);
      }
      return { tenant: w.t.name, ok: false, error: message };
    }
  }

  /**
   * status.json reports, it does not guard data: written in the thread pool without fsync (still atomic), one
   * write at a time per tenant so an older status never lands after a newer one. With hundreds of tenants,
   * two synchronous fsyncs per cycle here blocked the event loop for every tenant.
   */
  private persist(w: Worker): void {
    const text = JSON.stringify(w.status) + "\n";
    w.persisting = w.persisting.then(async () => {
      try {
        ensurePrivateDir(w.t.config.state_dir);
        await writeFileAtomicAsync(join(w.t.config.state_dir, STATUS_FILE), text, { durable: false });
      } catch (err) {
        w.logger.warn("cannot write status file", { error: (err as Error).message });
      }
    });
  }

  /** `once`: one cycle for every tenant, at most tenant_concurrency at a time. */
  async runOnce(signal?: AbortSignal): Promise<TenantOutcome[]> {
    const out: TenantOutcome[] = new Array(this.workers.length);
    let next = 0;
    const lane = async () => {
      while (next < this.workers.length && !signal?.aborted) {
        const i = next++;
        out[i] = await this.turn(this.workers[i]!, signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.fleet.concurrency, this.workers.length) }, lane));
    // Each tenant's status file is on disk when `once` reports.
    await Promise.all(this.workers.map((w) => w.persisting));
    return out.filter(Boolean);
  }

  /** `run`: every tenant on its own schedule until the signal aborts; due tenants go in order of due time. */
  async runForever(signal: AbortSignal): Promise<void> {
    const running = new Set<Promise<void>>();
    while (!signal.aborted) {
      const now = this.now();
      const due = this.workers.filter((w) => !w.busy && w.due <= now).sort((a, b) => a.due - b.due);
      for (const w of due.slice(0, this.fleet.concurrency - running.size)) {
        w.busy = true;
        const p: Promise<void> = this.turn(w, signal).then(() => {
          w.busy = false;
          running.delete(p);
        });
        running.add(p);
      }
      const idle = this.workers.filter((w) => !w.busy);
      const nextDue = idle.length > 0 ? Math.min(...idle.map((w) => w.due)) : Infinity;
      const wait = Math.min(60_000, running.size >= this.fleet.concurrency ? Infinity : Math.max(0, nextDue - this.now()));
      if (wait === 0) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      // Until the next tenant is due, a running turn ends, or we are stopped; the timer is cancelled after.
      const ac = new AbortController();
      const stop = () => ac.abort();
      signal.addEventListener("abort", stop, { once: true });
      await Promise.race([sleep(wait, ac.signal).catch(() => {}), ...running]);
      ac.abort();
      signal.removeEventListener("abort", stop);
    }
    await Promise.all(running);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.persisting));
    for (const w of this.workers) {
      await w.rt?.close();
      w.rt = undefined;
    }
    await this.sharedSink?.close().catch(() => {});
    for (const d of this.dispatchers.values()) await d.close().catch(() => {});
  }
}
