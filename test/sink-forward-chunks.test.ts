// Issue 19: the forward sink encodes each send's records into chunks itself, so only bytes wait for an ack.
// 1. The bytes: every event mode's transport message is exactly what @fluent-org/logger writes for the same
//    records and chunk id (its protocol module's generate*Mode + encodeMessage), at each length header's boundary.
// 2. The property: no record (nor its envelope) is kept while its chunk waits for the ack, and the chunk sent
//    again after an ack timeout decodes, at a real receiver, to exactly the records sent.
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { CollectorError } from "../src/errors.js";
import { silentLogger } from "../src/log/logger.js";
import type { RetryPolicy } from "../src/net/retry.js";
import { chunkMessage, ChunkWriter } from "../src/sinks/forward/chunk.js";
import { eventTime } from "../src/sinks/forward/entry-encoder.js";
import { ForwardSink } from "../src/sinks/forward/forward-sink.js";
import { forwardSinkSchema } from "../src/sinks/forward/options.js";
import type { Envelope } from "../src/types.js";
import { ForwardReceiver } from "./helpers/forward-receiver.js";
import { collectGarbage } from "./helpers/harness.js";

type Entry = [unknown, unknown];
const protocol = createRequire(import.meta.url)("@fluent-org/logger/build/src/protocol.js") as {
  packEntry: (entry: Entry) => Uint8Array;
  encodeMessage: (message: unknown) => Uint8Array;
  generateMessageMode: (tag: string, time: unknown, record: unknown, chunk?: string) => unknown;
  generateForwardMode: (tag: string, entries: Entry[], chunk?: string) => unknown;
  generatePackedForwardMode: (tag: string, entries: Uint8Array[], size: number, chunk?: string) => unknown;
  generateCompressedPackedForwardMode: (tag: string, entries: Uint8Array[], size: number, chunk?: string) => unknown;
};

const MODES = ["Message", "Forward", "PackedForward", "CompressedPackedForward"] as const;
type Mode = (typeof MODES)[number];

const T = Date.UTC(2026, 10, 24, 10, 0, 0, 250);
function envelopes(n: number, from = 0, pad = 0): Envelope[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `id-${from + i}`,
    time: T + (from + i) * 1001,
    record: { "o365.message.trace_id": `id-${from + i}`, "o365.message.subject": "ü".repeat(i % 5) + "x".repeat(pad), n: from + i },
  }));
}

/** The library's message for these records in `mode` (its own entry encoder, not ours). */
function library(mode: Mode, tag: string, envs: Envelope[], chunk?: string): Buffer {
  const entries = envs.map((e): Entry => [eventTime(e.time), e.record]);
  let message: unknown;
  if (mode === "Message") message = protocol.generateMessageMode(tag, entries[0]![0], entries[0]![1], chunk);
  else if (mode === "Forward") message = protocol.generateForwardMode(tag, entries, chunk);
  else {
    const packed = entries.map((x) => protocol.packEntry(x));
    const size = packed.reduce((n, b) => n + b.length, 0);
    message =
      mode === "PackedForward"
        ? protocol.generatePackedForwardMode(tag, packed, size, chunk)
        : protocol.generateCompressedPackedForwardMode(tag, packed, size, chunk);
  }
  return Buffer.from(protocol.encodeMessage(message));
}

function ours(mode: Mode, tag: string, envs: Envelope[], chunk?: string): Buffer {
  const w = new ChunkWriter(mode, tag);
  for (const e of envs) w.add(e);
  return chunkMessage(w.seal()!, chunk);
}

describe("forward chunks: the library's bytes", () => {
  // 1 small record: bin 8 / fixarray; 40: bin 16 / array 16; 120 padded: bin 32 (> 64 KiB of entries).
  const cases: Array<[string, Envelope[]]> = [
    ["one record", envelopes(1)],
    ["15 records", envelopes(15)],
    ["40 records", envelopes(40)],
    ["120 records over 64 KiB", envelopes(120, 0, 600)],
  ];
  for (const mode of MODES) {
    it(`${mode}: with and without a chunk id, at each header boundary, and a non-ASCII tag`, () => {
      for (const [what, envs] of mode === "Message" ? cases.slice(0, 1) : cases) {
        for (const chunk of [undefined, "cTdDWnxBA4Y7f0z6P2lMZg=="]) {
          for (const tag of ["o365.message_trace", "o365.müll"]) {
            expect(ours(mode, tag, envs, chunk).equals(library(mode, tag, envs, chunk)), `${what} ${chunk ?? "no chunk"} ${tag}`).toBe(
              true,
            );
          }
        }
      }
    });
  }

  it("a chunk is sealed from the records added since the last seal, and the writer's buffer is reused", () => {
    const w = new ChunkWriter("PackedForward", "t");
    for (const e of envelopes(3000, 0, 200)) w.add(e); // grows its buffer past the first 64 KiB
    const first = w.seal()!;
    expect(first.ids).toHaveLength(3000);
    expect(w.seal()).toBeUndefined();
    const later = envelopes(2, 3000);
    for (const e of later) w.add(e);
    const second = w.seal()!;
    expect(second.ids).toEqual(["id-3000", "id-3001"]);
    expect(chunkMessage(second, "x").equals(library("PackedForward", "t", later, "x"))).toBe(true);
    // The first chunk's bytes are its own copy: still the same message after the writer wrote over its buffer.
    expect(chunkMessage(first, "x").equals(library("PackedForward", "t", envelopes(3000, 0, 200), "x"))).toBe(true);
  });
});

describe("forward chunks: bodies reused", () => {
  it("a chunk acknowledged after one write lends its body to a later chunk; one written twice never does", () => {
    const w = new ChunkWriter("PackedForward", "t");
    const seal = (envs: Envelope[]) => {
      for (const e of envs) w.add(e);
      return w.seal()!;
    };
    const a = seal(envelopes(20));
    const first = chunkMessage(a, "id-a1");
    expect(first.buffer).toBe(a.body.buffer); // the first write is the body itself
    expect(first.equals(library("PackedForward", "t", envelopes(20), "id-a1"))).toBe(true);
    const again = chunkMessage(a, "id-a2"); // a resend: a copy, the first write's bytes untouched
    expect(again.buffer).not.toBe(a.body.buffer);
    expect(again.equals(library("PackedForward", "t", envelopes(20), "id-a2"))).toBe(true);
    expect(first.equals(library("PackedForward", "t", envelopes(20), "id-a1"))).toBe(true);
    w.release(a);
    const b = seal(envelopes(20, 20));
    expect(b.body.buffer).not.toBe(a.body.buffer);

    chunkMessage(b, "id-b");
    w.release(b);
    const c = seal(envelopes(19, 40));
    expect(c.body.buffer).toBe(b.body.buffer);
    expect(chunkMessage(c, "id-c").equals(library("PackedForward", "t", envelopes(19, 40), "id-c"))).toBe(true);
  });
});

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

const RETRY: RetryPolicy = { count: 3, initialMs: 50, maxMs: 50, jitter: 0 };

describe("forward chunks: only bytes wait for the ack", () => {
  for (const mode of MODES) {
    it(`${mode}: no record is kept while unacknowledged; the chunks sent again decode to exactly the records sent`, async () => {
      const r = await ForwardReceiver.start();
      open.push(r);
      const c = forwardSinkSchema.parse({ host: "127.0.0.1", port: r.port, ack_timeout: 1, event_mode: mode, batch_size: 100 });
      const s = new ForwardSink(c, silentLogger, RETRY);
      open.push(s);
      const confirmed: string[] = [];
      s.onConfirm((records) => confirmed.push(...records.map((e) => e.id)));
      const n = mode === "Message" ? 60 : 250;
      // The receiver stores every record but answers no ack: all of it waits in the sink.
      r.withholdAcks();
      const refs: Array<WeakRef<object>> = [];
      await (async () => {
        for (let from = 0; from < n; from += 50) {
          const batch = envelopes(50 > n - from ? n - from : 50, from);
          for (const e of batch) refs.push(new WeakRef(e), new WeakRef(e.record));
          await s.send(batch);
        }
      })();
      // Full chunks are written at once; the last 50 records wait in the open chunk (as bytes too) for the flush.
      await r.waitForRecords(mode === "Message" ? n : 200);
      expect(confirmed).toHaveLength(0);
      await collectGarbage();
      expect(refs.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);

      // Acks again: the flush's ack timeout makes the sink reconnect and send the same chunks again.
      r.resumeAcks();
      const before = r.events.length;
      await s.flush();
      expect(s.reconnects).toBeGreaterThan(0);
      expect(confirmed.sort()).toEqual(
        envelopes(n)
          .map((e) => e.id)
          .sort(),
      );
      const resent = r.events.slice(before);
      expect(resent.map((e) => e.record).sort((a, b) => (a.n as number) - (b.n as number))).toEqual(envelopes(n).map((e) => e.record));
      expect(new Set(resent.map((e) => e.mode))).toEqual(new Set([mode]));
      expect(r.badSizes).toEqual([]);
    });
  }
});

describe("forward chunks: a record nothing can encode", () => {
  it("fails its send with one error and sends nothing of that batch; the next send is whole", async () => {
    const r = await ForwardReceiver.start();
    open.push(r);
    const s = new ForwardSink(forwardSinkSchema.parse({ host: "127.0.0.1", port: r.port, ack_timeout: 2, batch_size: 3 }), silentLogger);
    open.push(s);
    const bad = envelopes(5);
    (bad[4]!.record as Record<string, unknown>).n = 10n; // neither ours nor the library's msgpack encodes a bigint
    const err = await s.send(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CollectorError);
    expect((err as Error).message).toMatch(/^forward sink failed: Unrecognized object/);
    await s.send(envelopes(4, 10));
    await s.flush();
    expect(r.records).toEqual(envelopes(4, 10).map((e) => e.record));
  });
});
