// Issue 19: the forward sink's own entry encoder (src/sinks/forward/entry-encoder.ts) writes the very bytes
// @fluent-org/logger's encoder writes (protocol.encode: its msgpack Encoder with its EventTime extension), for
// every kind of value, and hands what it does not encode itself back to the library. Then the sink, whose chunks
// are built from these entries (chunk.ts), delivers real mapped records to a real receiver that decodes them as
// the originals.
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventTime } from "@fluent-org/logger";
import { silentLogger } from "../src/log/logger.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { encodeEntry } from "../src/sinks/forward/entry-encoder.js";
import { eventTime } from "../src/sinks/forward/entry-encoder.js";
import { ForwardSink } from "../src/sinks/forward/forward-sink.js";
import { forwardSinkSchema } from "../src/sinks/forward/options.js";
import type { Envelope } from "../src/types.js";
import { ForwardReceiver } from "./helpers/forward-receiver.js";
import { captureRuntime, HOUR, simConfig, tempDir } from "./helpers/harness.js";

const protocol = createRequire(import.meta.url)("@fluent-org/logger/build/src/protocol.js") as {
  encode: (x: unknown) => Uint8Array;
};
const library = (entry: unknown) => Buffer.from(protocol.encode(entry));
const time = new EventTime(1_763_700_000, 123_000_000);

/** Ours must encode it (not fall back), and into the library's bytes. */
function same(record: unknown, t: unknown = time): void {
  const ours = encodeEntry([t, record]);
  expect(ours, JSON.stringify(record)?.slice(0, 80)).toBeDefined();
  expect(ours!.equals(library([t, record])), JSON.stringify(record)?.slice(0, 80)).toBe(true);
}

describe("forward entry encoder: the library's bytes", () => {
  it("numbers: every integer width either side of each boundary, floats, -0, NaN, infinities", () => {
    const edges = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, 2 ** 53 - 1, 2 ** 40 + 12345];
    const ints = edges.flatMap((n) => [n, -n, n - 1, -n + 1, -n - 1]);
    const more = [-0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, -0x80000000, -0x80000001, -(2 ** 53 - 1)];
    more.push(1.5, -2.25, 1e300, 5e-324, -0, NaN, Infinity, -Infinity, 2 ** 53, 0.1);
    for (const n of [...ints, ...more]) same({ n });
    same({ all: [...ints, ...more] });
  });

  it("text: ASCII, accents, CJK, emoji, control characters, at each length header's boundary", () => {
    const texts = ["", "a", "x".repeat(31), "x".repeat(32), "x".repeat(255), "x".repeat(256), "x".repeat(65535), "x".repeat(65536)];
    texts.push(
      "é".repeat(15),
      "é".repeat(16),
      "é".repeat(127),
      "é".repeat(128),
      "漢字".repeat(20),
      "🙂 mail",
      "tab\tnew\nline\u0000nul",
      "\u007f\u0080\u07ff\u0800\uffff",
    );
    for (const s of texts) same({ s, [s.slice(0, 40) || "k"]: 1 });
  });

  it("maps and arrays: empty, at 15/16 and 65535/65536 members, nested; null, undefined, booleans", () => {
    const wide = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    for (const n of [0, 15, 16, 65535, 65536]) same(wide(n));
    for (const n of [0, 15, 16, 65535, 65536]) same({ list: Array.from({ length: n }, (_, i) => i % 3) });
    same({ a: null, b: undefined, c: true, d: false, e: [null, undefined, [], {}], f: { g: { h: [1, "two", { three: 3 }] } } });
    same(Object.assign(Object.create(null) as object, { bare: "object without prototype" }));
  });

  it("times: an EventTime, and a time in seconds", () => {
    same({ x: 1 }, new EventTime(0, 0));
    same({ x: 1 }, new EventTime(0xffffffff, 999_999_999));
    same({ x: 1 }, 1_763_700_000);
    same({ x: 1 }, eventTime(Date.UTC(2026, 10, 24, 3, 4, 5, 678)));
  });

  it("what it does not encode itself is left to the library: Date, Buffer, class instances, lone surrogates, bigint", () => {
    class Thing {
      x = 1;
    }
    for (const odd of [
      { d: new Date(0) },
      { b: Buffer.from("hi") },
      { t: new Thing() },
      { s: "half \ud800 pair" },
      { ["\udc00"]: 1 },
      { n: 10n },
    ]) {
      expect(encodeEntry([time, odd])).toBeUndefined();
    }
    expect(encodeEntry([new EventTime(-1, 0), { x: 1 }])).toBeUndefined();
    expect(encodeEntry([time, { x: 1 }, "extra"])).toBeUndefined();
  });
});

describe("forward entry encoder in the sink", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 19, ratePerHour: 300 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it("mapped records from the simulator: the library's bytes, and a receiver decodes them as sent, acked", async () => {
    const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
    const config = simConfig(sim, tempDir(), { start: new Date(T0).toISOString(), window: 60 });
    const { rt, records } = captureRuntime(config, sim, { clock: () => T0 + 2 * HOUR });
    await rt.collector.runCycle();
    await rt.close();
    const envs: Envelope[] = records().map((record, i) => ({
      id: String(i),
      time: Date.parse(record["o365.message.received"] as string),
      record,
    }));
    expect(envs.length).toBeGreaterThan(300);
    for (const e of envs) same(e.record, eventTime(e.time));

    const r = await new ForwardReceiver().start({});
    const options = forwardSinkSchema.parse({
      host: "127.0.0.1",
      port: r.port,
      ack_timeout: 5,
      require_ack_response: true,
      batch_size: 100,
    });
    const s = new ForwardSink(options, silentLogger);
    try {
      const confirmed: string[] = [];
      s.onConfirm((batch) => confirmed.push(...batch.map((e) => e.id)));
      await s.send(envs);
      await s.flush();
      expect(confirmed.sort()).toEqual(envs.map((e) => e.id).sort());
      expect(r.events.map((ev) => ev.record)).toEqual(envs.map((e) => e.record));
    } finally {
      await s.close();
      await r.close();
    }
  });
});
