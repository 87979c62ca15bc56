// Issue 13.3: a forward receiver that restarts costs seconds inside the cycle, not a poll interval: the sink
// reconnects with bounded backoff and sends the unacknowledged records again. A connection that was working and is
// then reset is reported as "the receiver closed the connection", never as a connect failure with a host/port hint.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CollectorError, describeError } from "../src/errors.js";
import { createLogger, silentLogger } from "../src/log/logger.js";
import type { RetryPolicy } from "../src/net/retry.js";
import { createRuntime } from "../src/runtime.js";
import { ForwardSink } from "../src/sinks/forward/forward-sink.js";
import { forwardSinkSchema } from "../src/sinks/forward/options.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import type { Envelope } from "../src/types.js";
import { ForwardReceiver } from "./helpers/forward-receiver.js";
import { compare, HOUR, recordIds, simConfig, tempDir, truthIds } from "./helpers/harness.js";

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

const FAST: RetryPolicy = { count: 5, initialMs: 200, maxMs: 1_000, jitter: 0 };

function sink(r: ForwardReceiver, retry?: RetryPolicy, extra: Record<string, unknown> = {}): ForwardSink {
  const c = forwardSinkSchema.parse({ host: "127.0.0.1", port: r.port, ack_timeout: 2, event_mode: "Forward", batch_size: 10, ...extra });
  const s = new ForwardSink(c, silentLogger, retry);
  open.push(s);
  return s;
}

const envelopes = (n: number, from = 0): Envelope[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `id-${from + i}`,
    time: Date.UTC(2026, 0, 1) + from + i,
    record: { "o365.message.trace_id": `id-${from + i}` },
  }));

const ids = (r: ForwardReceiver) => new Set(r.records.map((x) => x["o365.message.trace_id"]));

describe("forward sink recovery", () => {
  it("the receiver restarts mid-stream: reconnect within the same flush, everything arrives, in seconds", async () => {
    const r = await ForwardReceiver.start();
    open.push(r);
    const s = sink(r, FAST);
    await s.send(envelopes(30));
    await s.flush();
    // The receiver goes down for 1.5 s while the next records are on their way.
    const restarted = r.restart(1_500);
    await s.send(envelopes(50, 30));
    const t = Date.now();
    await s.flush();
    await restarted;
    expect(Date.now() - t).toBeLessThan(8_000);
    expect(s.reconnects).toBeGreaterThan(0);
    expect(r.crashes).toBe(1);
    expect(ids(r).size).toBe(80);
    expect(s.acked).toBe(80);
  });

  it("a receiver that stays down: the retries are bounded, then one transient error", async () => {
    const r = await ForwardReceiver.start();
    open.push(r);
    const s = sink(r, { count: 2, initialMs: 100, maxMs: 200, jitter: 0 });
    await s.send(envelopes(5));
    await s.flush();
    await r.close();
    await s.send(envelopes(5, 5)).catch(() => {});
    const t = Date.now();
    const err = await s.flush().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CollectorError);
    expect((err as CollectorError).kind).toBe("transient");
    expect(Date.now() - t).toBeLessThan(10_000);
    expect(s.reconnects).toBe(2);
  });

  it("a reset on a working connection is 'the receiver closed the connection', not a connect failure", async () => {
    const r = await ForwardReceiver.start();
    open.push(r);
    const s = sink(r, undefined, { ack_timeout: 30 });
    await s.send(envelopes(10));
    await s.flush();
    r.withholdAcks();
    await s.send(envelopes(10, 10));
    await r.waitForRecords(20);
    r.dropAll({ reset: true });
    await s.send(envelopes(10, 20)).catch(() => {});
    const err = await s.flush().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CollectorError);
    const line = describeError(err);
    expect(line).toMatch(/forward receiver 127\.0\.0\.1:\d+ closed the connection with \d+ record\(s\) not acknowledged/);
    expect(line).not.toMatch(/cannot connect|check sink\.forward\.host\/port/);
  });
});

describe("forward receiver restart inside a collector cycle", () => {
  let sim: Simulator;
  const T0 = Date.UTC(2026, 10, 20, 6, 0, 0);
  const SPAN = 3 * HOUR;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 17, ratePerHour: 120, maxRecipients: 4 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it("one runCycle survives a receiver restart: no error, nothing lost, nothing doubled", async () => {
    const r = await ForwardReceiver.start();
    open.push(r);
    const dir = tempDir();
    const config = simConfig(sim, dir, {
      start: new Date(T0).toISOString(),
      max_windows_per_run: 100,
      page_size: 20,
      request_budget: { limit: 100000, window_seconds: 1 },
      retry: { count: 5, backoff: { initial: 0.2, max: 1, jitter: 0 } },
      sink: { type: "forward", forward: { port: r.port, ack_timeout: 2, batch_size: 10 } },
    });
    const rt = createRuntime(config, { logger: createLogger({ level: "error", write: () => {} }), caPem: sim.ca, clock: () => T0 + SPAN });
    // Restart the receiver once a third of the records are in.
    const truth = truthIds(sim.truth(new Date(T0), new Date(T0 + SPAN)));
    let restarted: Promise<void> | undefined;
    const watch = setInterval(() => {
      if (!restarted && r.events.length > truth.length / 3) restarted = r.restart(1_000);
    }, 5);
    try {
      const res = await rt.collector.runCycle();
      expect(res.cursor).toBe(new Date(T0 + SPAN).toISOString());
    } finally {
      clearInterval(watch);
      await restarted;
      await rt.close();
    }
    expect(r.crashes).toBe(1);
    expect(compare(truth, recordIds(r.records))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });
});
