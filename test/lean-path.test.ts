// Issue 19: the per-record shortcuts of the stdout path give exactly what the general code gives. A page goes to
// the stdout sink in small batches yet is journaled once, canonical API times skip the general
// parser, the sink writes each line into one buffer (reused only for the process's own stdout), and a read's
// lateness is counted per second instead of kept per row. Speed and memory are measured in bench/, not here.
import { spawnSync } from "node:child_process";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { StdoutSink } from "../src/sinks/stdout/stdout-sink.js";
import { LateSeconds } from "../src/pipeline/rescans.js";
import { LATENESS_BUCKETS } from "../src/metrics/prometheus.js";
import { DEFAULT_HEAP_GROWTH_PERCENT, sidecarHeap } from "../src/heap.js";
import { apiTime, apiTimeIso, parseApiTime } from "../src/window/time.js";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Envelope } from "../src/types.js";
import { StateStore } from "../src/cursor/store.js";
import { Checkpoints } from "../src/dedupe/checkpoints.js";
import { DeliveryLedger } from "../src/dedupe/ledger.js";
import { collectGarbage, tempDir } from "./helpers/harness.js";

const T0 = Date.UTC(2026, 10, 20, 6, 0, 0);

describe("a page sent in the stdout sink's batches", () => {
  it("is journaled once, at the settle after the flush, with every record of the page; the sink keeps none of them", async () => {
    const out = new PassThrough();
    out.resume();
    const sink = new StdoutSink(out);
    // Nothing reported per write (a pipe has no acknowledgements): the collector checkpoints it at the flush.
    expect("onConfirm" in sink).toBe(false);
    expect(sink.batchHint).toBeGreaterThan(0);
    const store = new StateStore(tempDir() + "/state", "tenant", "graph");
    const ledger = new DeliveryLedger(store, store.load().seen, true);
    const checkpoints = new Checkpoints(ledger, sink);
    const N = 1234;
    const ids = Array.from({ length: N }, (_, i) => ({ id: `id${i}`, time: T0 + i }));
    // Each batch's envelopes made here and dropped once sent: only weak references stay with the test.
    const sent: Array<WeakRef<Envelope>> = [];
    const sendBatch = async (from: number) => {
      const batch: Envelope[] = ids.slice(from, from + sink.batchHint).map(({ id, time }) => ({ id, time, record: { id } }));
      for (const e of batch) checkpoints.expect(e, ledger.entry(e.id, e.time));
      await sink.send(batch);
      for (const e of batch) sent.push(new WeakRef(e));
    };
    for (let i = 0; i < N; i += sink.batchHint) await sendBatch(i);
    expect(existsSync(store.journalFile)).toBe(false);
    await sink.flush();
    // Neither the sink nor the checkpoints hold a record until the page's checkpoint.
    await collectGarbage();
    expect(sent.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    await checkpoints.settle();
    expect(readFileSync(store.journalFile, "utf8").trim().split("\n")).toHaveLength(1);
    const seen = store.load().seen;
    expect(ids.every((e) => seen.has(e.id, e.time))).toBe(true);
  });
});

describe("canonical API times skip the general parser with the same result", () => {
  /** What the general parser says (the platform's own reading of an ISO time with Z, and its canonical text). */
  const reference = (text: string) => {
    const ms = Date.parse(text);
    const [y, mo, d] = text.slice(0, 10).split("-").map(Number);
    // Date.parse rolls over impossible days in some engines; the API parser refuses them.
    if (!Number.isFinite(ms) || new Date(ms).getUTCDate() !== d || new Date(ms).getUTCMonth() !== mo! - 1 || y! < 100) return undefined;
    return ms;
  };

  it("agrees on valid and impossible dates, month ends and leap years, both lengths", () => {
    const days = [
      "2024-02-29",
      "2025-02-29",
      "2100-02-29",
      "2000-02-29",
      "2025-04-30",
      "2025-04-31",
      "2025-12-31",
      "2025-13-01",
      "2025-00-10",
      "2025-01-00",
      "2025-01-32",
    ];
    const clocks = ["00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "07:08:09"];
    for (const day of days) {
      for (const clock of clocks) {
        for (const text of [`${day}T${clock}Z`, `${day}T${clock}.123Z`, `${day}T${clock}.000Z`]) {
          const want = /T(2[4-9]|[3-9]\d)|:(6\d)/.test(text) ? undefined : reference(text);
          expect(parseApiTime(text), text).toBe(want);
          const iso = want === undefined ? undefined : new Date(want).toISOString();
          expect(apiTimeIso(text), text).toBe(iso);
          expect(apiTime(text), text).toEqual(want === undefined ? undefined : { ms: want, iso });
        }
      }
    }
  });

  it("leaves everything else to the general parser", () => {
    for (const text of [
      "2025-01-01T00:00:00z",
      "2025-01-01t00:00:00Z",
      "2025-01-01T00:00:00.1Z",
      "2025-01-01T00:00:00+00:00",
      "2025-01-01 00:00:00Z",
      "２025-01-01T00:00:00Z",
      "2025-01-01T00:00:0xZ",
    ]) {
      const ms = parseApiTime(text);
      if (ms === undefined) expect(apiTime(text), text).toBeUndefined();
      else expect(apiTime(text), text).toEqual({ ms, iso: new Date(ms).toISOString() });
    }
    expect(parseApiTime("2025-01-01T00:00:00.1Z")).toBe(Date.UTC(2025, 0, 1, 0, 0, 0, 100));
    expect(parseApiTime("2025-01-01T00:00:0xZ")).toBeUndefined();
  });
});

describe("the stdout sink's line buffer", () => {
  const env = (i: number, record?: Record<string, unknown>): Envelope => ({
    id: `id${i}`,
    time: i,
    record: record ?? { n: i, s: `r${i} é` },
  });

  it("writes each record's JSON line, grows past its first buffer, and never reuses a buffer another stream may still hold", async () => {
    const out = new PassThrough();
    const sink = new StdoutSink(out);
    // The reader keeps every chunk it was given, as a consumer that has not parsed them yet would.
    const chunks: Buffer[] = [];
    out.on("data", (c: Buffer) => chunks.push(c));
    const big = "x".repeat(3 << 20); // larger than the first buffer: it grows mid-batch
    // Each batch's write has completed before the next is encoded: the point where a buffer could be reused.
    await sink.send([env(1), env(2, { n: 2, s: "line" })]);
    await sink.flush();
    await sink.send([env(3), env(4, { big })]);
    await sink.flush();
    await sink.send([env(5)]);
    await sink.flush();
    const lines = Buffer.concat(chunks).toString("utf8").split("\n");
    expect(lines.pop()).toBe("");
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { n: 1, s: "r1 é" },
      { n: 2, s: "line" },
      { n: 3, s: "r3 é" },
      { big },
      { n: 5, s: "r5 é" },
    ]);
  });

  it("reuses its buffer on the process's stdout without mixing batches (real pipe, subprocess)", () => {
    const script = `
      import { StdoutSink } from ${JSON.stringify(new URL("../dist/sinks/stdout/stdout-sink.js", import.meta.url).href)};
      const sink = new StdoutSink(process.stdout);
      for (let b = 0; b < 40; b++) {
        const batch = [];
        for (let i = 0; i < 500; i++) batch.push({ id: b + ":" + i, time: 0, record: { b, i, pad: "é".repeat((b * 7 + i) % 300) } });
        await sink.send(batch);
      }
      await sink.flush();`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", maxBuffer: 64 << 20 });
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(40 * 500);
    lines.forEach((l, k) =>
      expect(JSON.parse(l)).toEqual({ b: Math.floor(k / 500), i: k % 500, pad: "é".repeat((Math.floor(k / 500) * 7 + (k % 500)) % 300) }),
    );
  });

  it("reuses one buffer when the writes complete at once (stdout a file), even in one chain of resolved awaits", () => {
    const file = join(tempDir(), "out.ndjson");
    // The collector's page loop never yields to the event loop between batches, so a write's callback comes
    // only after the page; a write that left nothing queued has completed, and its buffer is free at once.
    const script = `
      let allocated = 0;
      const slow = Buffer.allocUnsafeSlow;
      Buffer.allocUnsafeSlow = (n) => (n >= 1 << 20 && allocated++, slow(n));
      const { StdoutSink } = await import(${JSON.stringify(new URL("../dist/sinks/stdout/stdout-sink.js", import.meta.url).href)});
      const sink = new StdoutSink(process.stdout);
      for (let b = 0; b < 40; b++) {
        const batch = [];
        for (let i = 0; i < 256; i++) batch.push({ id: b + ":" + i, time: 0, record: { b, i } });
        await sink.send(batch);
      }
      await sink.flush();
      process.stderr.write(String(allocated));`;
    const fd = openSync(file, "w");
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", stdio: ["ignore", fd, "pipe"] });
    closeSync(fd);
    expect(Number(r.stderr)).toBe(1);
    const lines = readFileSync(file, "utf8").split("\n");
    expect(lines.pop()).toBe("");
    expect(lines.map((l) => JSON.parse(l))).toEqual(Array.from({ length: 40 * 256 }, (_, k) => ({ b: Math.floor(k / 256), i: k % 256 })));
  });
});

describe("a read's lateness", () => {
  it("is counted per minute with its exact sum: every row stays in its histogram bucket (whole minutes)", () => {
    const late = new LateSeconds();
    const seconds = [0, 0.2, 59.9, 60, 60.001, 299.5, 59.9, 86_399.5];
    for (const s of seconds) late.push(s);
    expect(late.length).toBe(8);
    const replayed = [...late];
    expect(replayed).toHaveLength(8);
    const bucketOf = (s: number) => LATENESS_BUCKETS.findIndex((b) => s <= b);
    expect(replayed.map(bucketOf).sort()).toEqual(seconds.map(bucketOf).sort());
    expect(replayed.reduce((a, b) => a + b, 0)).toBeCloseTo(
      seconds.reduce((a, b) => a + b, 0),
      9,
    );
    // A day of rows, one per 100 ms of lateness, is kept (and replayed) as one value per minute.
    const day = new LateSeconds();
    for (let ms = 0; ms < 86_400_000; ms += 100) day.push(ms / 1000);
    expect(day.length).toBe(864_000);
    expect(new Set(day).size).toBeLessThanOrEqual(1441);
  });
});

describe("the sidecar's heap growth", () => {
  it("is 100 % by default, overridable by O365_HEAP_GROWTH (0 = V8's own), and node's own flag wins", () => {
    try {
      expect(sidecarHeap({}, [])).toBe(DEFAULT_HEAP_GROWTH_PERCENT);
      expect(DEFAULT_HEAP_GROWTH_PERCENT).toBe(100);
      expect(sidecarHeap({ O365_HEAP_GROWTH: "50" }, [])).toBe(50);
      expect(sidecarHeap({ O365_HEAP_GROWTH: "0" }, [])).toBeUndefined();
      // Not a whole percent: ignored (V8's defaults stay), never a reason to fail a start.
      expect(sidecarHeap({ O365_HEAP_GROWTH: "lots" }, [])).toBeUndefined();
      expect(sidecarHeap({ O365_HEAP_GROWTH: "12.5" }, [])).toBeUndefined();
      expect(sidecarHeap({}, ["--heap-growing-percent=30"])).toBeUndefined();
    } finally {
      sidecarHeap({ O365_HEAP_GROWTH: "0" }, []);
    }
  });

  it("lets the CLI start with it and with it turned off (real subprocess)", () => {
    for (const growth of ["100", "0"]) {
      const r = spawnSync(process.execPath, [new URL("../bin/o365-message-trace.js", import.meta.url).pathname, "--version"], {
        encoding: "utf8",
        env: { ...process.env, O365_HEAP_GROWTH: growth },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^\d+\.\d+\.\d+/);
    }
  });
});
