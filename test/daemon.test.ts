// Issue 4: the `run` daemon. SIGTERM mid-window (real subprocess, slow API page in flight) leaves a cursor that
// resumes with no loss; the loop survives a failed cycle; /metrics is Prometheus text whose counters match
// what the receiver got; /healthz turns 503 once failures outlast the tolerance.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { daemonHooks } from "../src/cli/daemon-hooks.js";
import { daemonLoop, SHUTDOWN_GRACE_MS } from "../src/cli/run.js";
import { StateStore } from "../src/cursor/store.js";
import { createLogger } from "../src/log/logger.js";
import { PromMetrics } from "../src/metrics/prometheus.js";
import { MetricsServer } from "../src/metrics/server.js";
import { createRuntime } from "../src/runtime.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { ForwardReceiver } from "./helpers/forward-receiver.js";
import {
  BIN,
  compare,
  HOUR,
  MIN,
  recordIds,
  runCli,
  simConfig,
  simConfigInput,
  tempDir,
  truthIds,
  writeConfig,
} from "./helpers/harness.js";
import { parsePrometheus } from "./helpers/prometheus-text.js";

let sim: Simulator;
const T0 = Date.UTC(2026, 10, 20, 6, 0, 0);
const SPAN = 6 * HOUR;
// The client-side request budget would pace these many small pages; pacing is not what is tested here.
const NO_PACING = { limit: 100000, window_seconds: 1 };
const quiet = createLogger({ level: "error", write: () => {} });

beforeAll(async () => {
  sim = await startSimulator({ seed: 23, ratePerHour: 60, maxRecipients: 3 });
});
afterAll(async () => {
  await sim?.close();
});

/** Resolve when cond() holds, checking on every turn of the event loop (bounded by the test timeout). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

describe("run (daemon)", () => {
  it("SIGTERM while a window is in flight: exits promptly, commits no partial window, resumes with no loss", async () => {
    const r = await ForwardReceiver.start();
    const dir = tempDir();
    const forward = { type: "forward", forward: { port: r.port, ack_timeout: 5 } };
    const file = writeConfig(
      dir,
      simConfigInput(sim, dir, {
        start: new Date(T0).toISOString(),
        max_windows_per_run: 100,
        page_size: 10,
        frequency: 1,
        request_budget: NO_PACING,
        sink: forward,
        log: { level: "info" },
        metrics: { listen: "127.0.0.1:0" },
      }),
    );
    const env = { ...process.env, O365MT_NOW: new Date(T0 + SPAN).toISOString() };
    sim.clearFaults();
    const graphBefore = sim.stats().requests.graph ?? 0;
    // The 25th list request hangs for a minute: a window is certainly in flight when we stop the daemon.
    sim.inject({ route: "graph", kind: "slow", after: 24, count: 1, delayMs: 60_000 });

    const child = spawn(process.execPath, [BIN, "run", "--config", file], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const exited = new Promise<number | null>((res) => child.on("close", (code) => res(code)));
    await until(() => (sim.stats().requests.graph ?? 0) - graphBefore >= 25);
    // The daemon's metrics endpoint answers while it works (address from its "metrics listening" log line).
    const address = /"msg":"metrics listening","address":"([^"]+)"/.exec(stderr)?.[1];
    expect(address, stderr).toBeDefined();
    const scraped = parsePrometheus(await (await fetch(`http://${address}/metrics`)).text());
    expect(scraped.value("o365mt_windows_done_total", { kind: "new" })).toBeGreaterThan(0);
    expect((await fetch(`http://${address}/healthz`)).status).toBe(200);
    const received = r.events.length;
    expect(received).toBeGreaterThan(0);
    const t = Date.now();
    child.kill("SIGTERM");
    const code = await exited;
    const tookMs = Date.now() - t;
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(SHUTDOWN_GRACE_MS);
    expect(stderr).toContain("SIGTERM received");
    expect(stderr).toContain("in-flight window was not committed");

    const store = new StateStore(dir + "/state", sim.tenantId, "graph");
    const cursor = Date.parse(store.load().state.cursor!);
    expect(cursor).toBeGreaterThan(T0);
    expect(cursor).toBeLessThan(T0 + SPAN);
    expect((cursor - T0) % (15 * MIN)).toBe(0);

    // Start again: once, same state, no fault.
    const again = await runCli(["once", "--config", file], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(store.load().state.cursor).toBe(new Date(T0 + SPAN).toISOString());
    await r.close();
    const truth = truthIds(sim.truth(new Date(T0), new Date(T0 + SPAN)));
    // Pages of the interrupted window that were acknowledged were journaled, so nothing repeats either.
    expect(compare(truth, recordIds(r.records))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });

  it("keeps running through a failed cycle; /metrics counters match the receiver, /healthz is 200", async () => {
    const r = await ForwardReceiver.start();
    const dir = tempDir();
    const config = simConfig(sim, dir, {
      start: new Date(T0).toISOString(),
      max_windows_per_run: 100,
      request_budget: NO_PACING,
      frequency: 1,
      metrics: { listen: "127.0.0.1:0" },
      sink: { type: "forward", forward: { port: r.port } },
    });
    const hooks = daemonHooks(config, quiet);
    const rt = createRuntime(config, { logger: quiet, caPem: sim.ca, clock: () => T0 + SPAN, metrics: hooks.metrics });
    sim.clearFaults();
    // Four 503s outlast the 3 retries of the first page: the first cycle fails, the next one succeeds.
    sim.inject({ route: "graph", kind: "503", count: 4 });
    const cycles: boolean[] = [];
    let okSeen!: () => void;
    const firstOk = new Promise<void>((res) => (okSeen = res));
    const ac = new AbortController();
    await hooks.start!();
    const loop = daemonLoop(rt, config, quiet, ac.signal, () => T0 + SPAN, {
      ...hooks,
      onCycle: (ok, now) => {
        hooks.onCycle!(ok, now);
        cycles.push(ok);
        // Stop after the first good cycle so the numbers below cannot move while we read them.
        if (ok) {
          ac.abort();
          okSeen();
        }
      },
    });
    try {
      await firstOk;
      await loop;
      const base = `http://${hooks.address!()}`;
      const res = await fetch(`${base}/metrics`);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const m = parsePrometheus(await res.text());
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(cycles).toEqual([false, true]);

      const truth = truthIds(sim.truth(new Date(T0), new Date(T0 + SPAN)));
      expect(compare(truth, recordIds(r.records))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
      expect(m.value("o365mt_records_emitted_total")).toBe(r.events.length);
      expect(m.value("o365mt_windows_done_total", { kind: "new" })).toBe(24);
      expect(m.value("o365mt_cycles_total", { result: "error" })).toBe(1);
      expect(m.value("o365mt_cycles_total", { result: "ok" })).toBe(1);
      expect(m.value("o365mt_api_requests_total", { route: "graph", status: "503" })).toBe(4);
      expect(m.value("o365mt_api_requests_total", { route: "graph", status: "200" })).toBeGreaterThanOrEqual(24);
      expect(m.value("o365mt_retries_total", { route: "graph" })).toBe(3);
      expect(m.value("o365mt_cursor_lag_seconds")).toBe(0);
      expect(m.value("o365mt_last_success_timestamp_seconds")).toBeGreaterThan(Date.now() / 1000 - 60);
      expect(m.types.get("o365mt_records_emitted_total")).toBe("counter");
      expect(m.types.get("o365mt_cursor_lag_seconds")).toBe("gauge");
    } finally {
      ac.abort();
      await loop.catch(() => {});
      await rt.close();
      await hooks.stop!();
      await r.close();
    }
  });

  it("/healthz: 200 within the tolerance after a failure, 503 beyond it, 200 again after a success", async () => {
    let now = Date.UTC(2026, 0, 1);
    const metrics = new PromMetrics({ toleranceMs: 900_000, now: () => now }, { defaultMetrics: false });
    const server = new MetricsServer(metrics, "0");
    const { port } = await server.start();
    const health = async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
    try {
      expect(await health()).toBe(200); // starting
      metrics.cycle(true, now);
      now += 600_000;
      metrics.cycle(false, now);
      expect(await health()).toBe(200); // one failure, 10 min after the last success
      now += 600_000;
      metrics.cycle(false, now);
      expect(await health()).toBe(503); // 20 min without success
      metrics.cycle(true, now);
      expect(await health()).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
    } finally {
      await server.stop();
    }
  });
});
