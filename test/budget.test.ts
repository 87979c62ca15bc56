// The client-side request budget: a running window on a fake clock (exact, no timing), and against the
// simulator's own throttle, where the proof is that a paced collector reads everything with zero 429s.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RequestBudget } from "../src/net/budget.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { captureRuntime, compare, HOUR, recordIds, simConfig, tempDir, truthIds } from "./helpers/harness.js";

/** A fake clock whose sleep advances time instantly, recording each wait. */
function fakeTime(start = 1_000_000) {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    advance: (ms: number) => void (now += ms),
    sleeps,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      now += ms;
    },
  };
}

/** Largest number of stamps inside any half-open window [t, t + w). */
function maxInWindow(stamps: number[], w: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < stamps.length; i++) {
    while (stamps[i]! - stamps[j]! >= w) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe("RequestBudget on a fake clock", () => {
  it("lets `limit` requests through at once, then waits exactly until the oldest leaves the window (+ margin)", async () => {
    const t = fakeTime();
    const b = new RequestBudget({ limit: 3, windowMs: 1000, marginMs: 10, clock: t.now, sleep: t.sleep });
    for (let i = 0; i < 3; i++) await b.acquire();
    expect(t.sleeps).toEqual([]);
    t.advance(400);
    await b.acquire();
    // Oldest stamp at start; free at start + 1000 + 10, we are at start + 400.
    expect(t.sleeps).toEqual([610]);
    expect(t.now()).toBe(1_000_000 + 1010);
    expect(b.admitted).toBe(4);
  });

  it("never admits more than `limit` in any running window, whatever the arrival pattern", async () => {
    const t = fakeTime();
    const b = new RequestBudget({ limit: 5, windowMs: 300, marginMs: 0, clock: t.now, sleep: t.sleep });
    const stamps: number[] = [];
    // Irregular bursts and gaps (deterministic pseudo-random).
    let x = 7;
    for (let i = 0; i < 200; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      if ((x >>> 16) % 3 === 0) t.advance((x >>> 8) % 400);
      await b.acquire();
      stamps.push(t.now());
    }
    expect(maxInWindow(stamps, 300)).toBe(5);
    expect(b.admitted).toBe(200);
  });

  it("runs at the ceiling when always busy: N requests take (ceil(N/limit) - 1) windows, not more", async () => {
    const t = fakeTime();
    const b = new RequestBudget({ limit: 100, windowMs: 300_000, marginMs: 0, clock: t.now, sleep: t.sleep });
    const start = t.now();
    for (let i = 0; i < 1000; i++) {
      await b.acquire();
      t.advance(5); // each request takes a little time
    }
    // 10 windows' worth: the first hundred go at once, each later one as soon as its slot frees.
    expect(t.now() - start - 5).toBe(9 * 300_000 + 99 * 5);
  });

  it("counts a request from its response once complete() is called, so a slow request (token fetch) cannot overrun the service's window", async () => {
    const t = fakeTime();
    const b = new RequestBudget({ limit: 2, windowMs: 1000, marginMs: 0, clock: t.now, sleep: t.sleep });
    await b.acquire(); // request A: let go at 0 …
    t.advance(300);
    b.complete(); // … its response at 300 (the service saw it somewhere in between)
    await b.acquire(); // request B at 300
    b.complete();
    await b.acquire(); // C waits for A's slot: 300 + 1000, not 0 + 1000
    expect(t.now()).toBe(1_000_000 + 1300);
    b.complete();
    await b.acquire(); // D waits for B's slot: 300 + 1000 has passed already
    expect(t.sleeps).toEqual([1000]);
    // complete() without an open request, or for a request whose slot was reused, changes nothing.
    b.complete();
    b.complete();
    b.complete();
    expect(b.delay()).toBe(1000);
  });

  it("serves concurrent callers in arrival order, and an aborted waiter neither takes a slot nor blocks the queue", async () => {
    const t = fakeTime();
    // A sleep that resolves only when released, so three callers are really waiting at once.
    const pending: Array<{ ms: number; go: () => void; signal?: AbortSignal }> = [];
    const sleep = (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
        pending.push({
          ms,
          signal,
          go: () => {
            t.advance(ms);
            resolve();
          },
        });
      });
    const b = new RequestBudget({ limit: 1, windowMs: 100, marginMs: 0, clock: t.now, sleep });
    await b.acquire();
    const order: string[] = [];
    const ac = new AbortController();
    const first = b.acquire().then(() => order.push("first"));
    const aborted = b.acquire(ac.signal).then(
      () => order.push("aborted"),
      (e) => order.push(`rejected:${(e as Error).message}`),
    );
    const third = b.acquire().then(() => order.push("third"));
    await new Promise((r) => setImmediate(r));
    expect(pending.length).toBe(1); // only the head of the queue sleeps
    pending.shift()!.go();
    await first;
    ac.abort(new Error("stop"));
    await aborted;
    await new Promise((r) => setImmediate(r));
    while (pending.length) {
      pending.shift()!.go();
      await new Promise((r) => setImmediate(r));
    }
    await third;
    expect(order).toEqual(["first", "rejected:stop", "third"]);
    expect(b.admitted).toBe(3);
  });

  it("rejects an impossible budget", () => {
    expect(() => new RequestBudget({ limit: 0, windowMs: 1000 })).toThrow(/limit/);
  });
});

describe("request budget against the simulator's throttle", () => {
  let sim: Simulator;
  const T0 = Date.UTC(2025, 0, 6, 0, 0, 0);
  beforeAll(async () => {
    // Tenant throttle: 4 requests per running second. Without pacing, ~25 page requests would hit 429s.
    sim = await startSimulator({
      seed: 11,
      ratePerHour: 400,
      maxRecipients: 3,
      throttle: { limit: 4, windowMs: 1000 },
      now: () => T0 + 2 * HOUR,
    });
  });
  afterAll(async () => sim?.close());

  it("a paced collector reads the whole span with zero 429 responses", async () => {
    const dir = tempDir("o365mt-budget-");
    const config = simConfig(sim, dir, {
      start: new Date(T0).toISOString(),
      window: 60,
      max_windows_per_run: 10,
      page_size: 40,
      request_budget: { limit: 4, window_seconds: 1 },
    });
    const { rt, records } = captureRuntime(config, sim, { clock: () => T0 + HOUR });
    try {
      const r = await rt.collector.runCycle();
      expect(r.windows).toBe(1);
    } finally {
      await rt.close();
    }
    const truth = truthIds(sim.truth(new Date(T0), new Date(T0 + HOUR)));
    expect(truth.length).toBeGreaterThan(4 * 40 * 3); // enough pages to exceed several budget windows
    expect(compare(truth, recordIds(records()))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    const stats = sim.stats();
    expect(stats.throttled).toBe(0);
    expect(stats.byStatus["429"] ?? 0).toBe(0);
  });

  it("the same collector without pacing does provoke 429s (so the test above can fail)", async () => {
    const dir = tempDir("o365mt-budget-");
    const config = simConfig(sim, dir, {
      start: new Date(T0 + HOUR).toISOString(),
      window: 60,
      max_windows_per_run: 10,
      page_size: 40,
      retry: { count: 10, backoff: { initial: 0.05, max: 0.2, jitter: 0 }, error_retry_span: 1, error_retry_count: 3 },
    });
    const before = sim.stats().throttled;
    const { rt } = captureRuntime(config, sim, { clock: () => T0 + 2 * HOUR, beforeRequest: async () => {} });
    try {
      await rt.collector.runCycle();
    } finally {
      await rt.close();
    }
    expect(sim.stats().throttled).toBeGreaterThan(before);
  });
});
