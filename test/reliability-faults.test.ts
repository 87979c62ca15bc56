// Issue 5: faults. Every fault kind the simulator has, at random and scripted, during a multi-hour simulated
// span with late arrivals: the daemon loop keeps running and delivers exactly the truth; `once` exits with
// one clear line when a fault does not heal; the retry policy (401 refresh once, Retry-After, timeout 0,
// backoff with jitter) does what the configuration says.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../src/cursor/store.js";
import { daemonLoop } from "../src/cli/run.js";
import { backoffMs } from "../src/net/retry.js";
import { Rng } from "../src/sim/prng.js";
import { startSimulator, type FaultSpec, type Simulator } from "../src/sim/index.js";
import {
  captureRuntime,
  compare,
  HOUR,
  parseNdjson,
  recordIds,
  runCli,
  simConfig,
  simConfigInput,
  tempDir,
  truthIds,
  writeConfig,
  lastLogMessage,
} from "./helpers/harness.js";
import { captureLogger, findSecrets, MIN, readTree } from "./helpers/reliability.js";

const T0 = Date.UTC(2026, 10, 21, 0, 0, 0);
const LAG = 90;
const budget = { request_budget: { limit: 100000, window_seconds: 1 } };
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({
    seed: 31,
    ratePerHour: 120,
    maxRecipients: 3,
    late: { fraction: 0.2, maxLagMinutes: LAG },
    // token-expired is scripted, not random: two in a row on one request (old token, then the fresh one) is
    // by design an auth failure that stops the daemon, and random draws would produce that now and then.
    faultRate: { rate: 0.1, kinds: ["500", "503", "truncated", "html-signin", "reset"], seed: 5 },
  });
});
afterAll(async () => {
  await sim?.close();
});

describe("fault soak: daemon loop over 8 simulated hours", () => {
  it("keeps running through every fault kind and delivers exactly the truth", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, {
      ...budget,
      start: new Date(T0).toISOString(),
      window: 30,
      delay: 0,
      page_size: 40,
      max_windows_per_run: 100,
      rescan: { horizon: LAG + 30, every: 1 },
      http: { ca_file: `${dir}/sim-ca.pem`, timeout: 1 },
      retry: { count: 4, backoff: { initial: 0.01, max: 0.05, jitter: 0.5 }, error_retry_span: 0.05, error_retry_count: 2 },
    });
    let now = T0 + 30 * MIN;
    const end = T0 + 8 * HOUR;
    sim.setNow(now);
    const { logger, lines } = captureLogger("info");
    const cap = captureRuntime(config, sim, { clock: () => now, logger });
    const rng = new Rng(99);
    // Scripted faults the random mix leaves out: slow (beyond http.timeout), Retry-After, token endpoint,
    // a service principal that vanishes for a moment (the cycle fails; the daemon must go on).
    const scripted: FaultSpec[][] = [
      [{ route: "graph", kind: "slow", delayMs: 1500 }],
      [{ route: "graph", kind: "429", retryAfterSeconds: 1 }],
      [{ route: "graph", kind: "token-expired", after: 3 }],
      [
        { route: "graph", kind: "token-expired" },
        { route: "token", kind: "503" },
      ],
      [{ route: "graph", kind: "sp-not-found" }],
      [
        { route: "graph", kind: "token-expired" },
        { route: "token", kind: "reset" },
      ],
      [{ route: "graph", kind: "sp-not-found", count: 3 }], // three failed cycles: the circuit opens
      [
        { route: "graph", kind: "token-expired" },
        { route: "token", kind: "500" },
      ],
      [
        { route: "graph", kind: "token-expired" },
        { route: "token", kind: "429", retryAfterSeconds: 1 },
      ],
    ];
    let outcomes = { ok: 0, failed: 0 };
    const ac = new AbortController();
    const loop = daemonLoop(cap.rt, { ...config, frequency: 0.01 }, logger, ac.signal, () => now, {
      onCycle: (ok) => {
        outcomes = ok ? { ...outcomes, ok: outcomes.ok + 1 } : { ...outcomes, failed: outcomes.failed + 1 };
        if (now >= end) return ac.abort(new Error("soak over"));
        now += 30 * MIN;
        sim.setNow(now);
        if (scripted.length && rng.chance(0.5)) for (const f of scripted.shift()!) sim.inject(f);
      },
    });
    await expect(loop).resolves.toBeUndefined(); // never threw: still running until we stopped it
    await cap.rt.close();
    expect(scripted.length).toBe(0);
    expect(outcomes.failed).toBeGreaterThanOrEqual(2);

    // One last clean cycle so the newest late records are looked at after the last failure.
    sim.clearFaults();
    const last = captureRuntime(
      simConfig(sim, dir, {
        ...budget,
        start: new Date(T0).toISOString(),
        window: 30,
        delay: 0,
        page_size: 40,
        rescan: { horizon: LAG + 30, every: 1 },
        retry: { count: 20, backoff: { initial: 0.01, max: 0.02, jitter: 0 } },
      }),
      sim,
      { clock: () => now, logger },
    );
    const r = await last.rt.collector.runCycle();
    await last.rt.close();

    const delivered = [...recordIds(cap.records()), ...recordIds(last.records())];
    const truth = truthIds(sim.truth(new Date(T0), new Date(r.cursor!), { visibleOnly: true }));
    expect(truth.length).toBeGreaterThan(1000);
    expect(compare(truth, delivered)).toEqual({ lost: 0, duplicates: 0, extra: 0 });

    const log = lines.join("");
    const stats = sim.stats();
    for (const s of ["429", "500", "503", "401", "reset"]) expect(stats.byStatus[s] ?? 0).toBeGreaterThan(0);
    expect(log).toMatch(/timed out after 1s/);
    expect(log).toMatch(/"wait_ms":1000/); // Retry-After: 1 honoured instead of the 10–50 ms backoff
    expect(log).toMatch(/access token rejected; acquiring a new one/);
    expect(log).toMatch(/"msg":"cycle failed".*not provisioned/);
    expect(log).toMatch(
      /"msg":"cycle failed".*"next_attempt_in_s":0.*"consecutive_failures":2|"consecutive_failures":2.*"next_attempt_in_s":0/,
    );
    expect(findSecrets(log + cap.raw() + readTree(config.state_dir), [sim.clientSecret])).toEqual([]);
  });
});

describe("retry policy", () => {
  const quick = { ...budget, delay: 0, window: 30, start: new Date(T0).toISOString(), max_windows_per_run: 1 };
  let quiet: Simulator;
  beforeAll(async () => {
    quiet = await startSimulator({ seed: 32, ratePerHour: 30 });
    quiet.setNow(T0 + HOUR);
  });
  afterAll(async () => {
    await quiet?.close();
  });
  const cycle = async (extra: Record<string, unknown>, faults: FaultSpec[]) => {
    const dir = tempDir();
    const { logger, lines } = captureLogger("info");
    const cap = captureRuntime(simConfig(quiet, dir, { ...quick, ...extra }), quiet, { clock: () => T0 + HOUR, logger });
    for (const f of faults) quiet.inject(f);
    try {
      const r = await cap.rt.collector.runCycle().then(
        (v) => ({ ok: true as const, v }),
        (e: Error) => ({ ok: false as const, e }),
      );
      return { r, log: lines.join("") };
    } finally {
      quiet.clearFaults();
      await cap.rt.close();
    }
  };
  const noRetry = { retry: { count: 0, backoff: { initial: 0.01, max: 0.01, jitter: 0 } } };

  it("refreshes the token once on 401 even with retry.count 0; a second 401 is an auth error", async () => {
    const once = await cycle(noRetry, [{ route: "graph", kind: "token-expired" }]);
    expect(once.r.ok).toBe(true);
    expect(once.log).toMatch(/access token rejected/);
    const twice = await cycle(noRetry, [{ route: "graph", kind: "token-expired", count: 2 }]);
    expect(twice.r.ok).toBe(false);
    expect(!twice.r.ok && (twice.r.e as { kind?: string }).kind).toBe("auth");
  });

  it("retry.count bounds the attempts; garbage bodies are retried like 5xx", async () => {
    const healed = await cycle({ retry: { count: 3, backoff: { initial: 0.01, max: 0.01, jitter: 0 } } }, [
      { route: "graph", kind: "html-signin" },
      { route: "graph", kind: "truncated" },
      { route: "graph", kind: "503" },
    ]);
    expect(healed.r.ok).toBe(true);
    expect(healed.log.match(/request failed, retrying/g)?.length).toBe(3);
    const exhausted = await cycle({ retry: { count: 2, backoff: { initial: 0.01, max: 0.01, jitter: 0 } } }, [
      { route: "graph", kind: "500", count: 3 },
    ]);
    expect(exhausted.r.ok).toBe(false);
    expect(!exhausted.r.ok && exhausted.r.e.message).toMatch(/answered HTTP 500/);
  });

  it("http.timeout 0 waits for a slow answer; a timeout fails over to a retry", async () => {
    const patient = await cycle({ http: { timeout: 0 }, ...noRetry }, [{ route: "graph", kind: "slow", delayMs: 1200 }]);
    expect(patient.r.ok).toBe(true);
    expect(patient.log).not.toMatch(/retrying/);
    const impatient = await cycle({ http: { timeout: 0.5 }, retry: { count: 1, backoff: { initial: 0.01, max: 0.01, jitter: 0 } } }, [
      { route: "graph", kind: "slow", delayMs: 1200 },
    ]);
    expect(impatient.r.ok).toBe(true);
    expect(impatient.log).toMatch(/timed out after 0.5s/);
  });

  it("backoff doubles up to max with ± jitter", () => {
    const p = { count: 5, initialMs: 1000, maxMs: 8000, jitter: 0.2 };
    expect([1, 2, 3, 4, 5].map((a) => backoffMs(p, a, () => 0.5))).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(backoffMs(p, 1, () => 0)).toBe(800);
    expect(backoffMs(p, 1, () => 1)).toBe(1200);
  });
});

describe("exec mode: `once` ends with one clear line", () => {
  const env = { O365MT_NOW: new Date(T0 + 2 * HOUR).toISOString() };
  const input = (dir: string, extra: Record<string, unknown> = {}) =>
    writeConfig(
      dir,
      simConfigInput(sim, dir, {
        ...budget,
        start: new Date(T0).toISOString(),
        window: 30,
        delay: 0,
        retry: { count: 1, backoff: { initial: 0.01, max: 0.01, jitter: 0 } },
        ...extra,
      }),
    );

  it("a fault that does not heal: exit 1, one line naming it, cursor not moved", async () => {
    sim.setNow(T0 + 2 * HOUR);
    sim.clearFaults();
    const dir = tempDir();
    sim.inject({ route: "graph", kind: "sp-not-found", count: 1 });
    const a = await runCli(["once", "--config", input(dir)], { env });
    sim.clearFaults();
    expect(a.code).toBe(1);
    const last = lastLogMessage(a.stderr);
    expect(last).toMatch(/^permission error: .*service principal .* is not provisioned/);
    expect(a.stdout).toBe("");
    expect(new StateStore(join(dir, "state"), sim.tenantId, "graph").load().state.cursor).toBeUndefined();
    // 503 on every attempt: the retries run out, the line says what answered what.
    sim.inject({ route: "graph", kind: "503", count: 2 });
    const b = await runCli(["once", "--config", input(dir)], { env });
    sim.clearFaults();
    expect(b.code).toBe(1);
    expect(lastLogMessage(b.stderr)).toMatch(/^transient error: Graph .* answered HTTP 503/);
    // Then a clean run delivers everything, none doubled.
    const c = await runCli(["once", "--config", input(dir, { retry: { count: 10, backoff: { initial: 0.01, max: 0.01, jitter: 0 } } })], {
      env,
    });
    expect(c.code).toBe(0);
    const truth = truthIds(sim.truth(new Date(T0), new Date(T0 + 2 * HOUR), { visibleOnly: true }));
    expect(compare(truth, recordIds(parseNdjson(c.stdout)))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    expect(findSecrets(a.stderr + b.stderr + c.stderr + c.stdout, [sim.clientSecret])).toEqual([]);
  });
});
