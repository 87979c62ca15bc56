// The collector alone, with in-memory fakes of source, sink and store (test/helpers/fakes.ts): which rows a
// window delivers, that the cursor never moves before the sink confirmed the window, and that a failure at
// any point (send, flush, journal, commit) followed by a restart loses nothing and, with dedupe, doubles
// nothing (a failure between the sink's confirmation and the journal may re-send that one page, no more).
import { describe, expect, it } from "vitest";
import { silentLogger } from "../src/log/logger.js";
import { Collector, type CollectorOptions } from "../src/pipeline/collector.js";
import { identity, RecordMapper } from "../src/schema/mapper.js";
import type { TraceRow } from "../src/types.js";
import { FakeSink, FakeSource, MemoryStore, type Event, type FailAt } from "./helpers/fakes.js";

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const at = (m: number) => new Date(T0 + m * MIN).toISOString();

/** 4 windows of 15 minutes: rows every 2 minutes, one exactly on each window boundary, two recipients each. */
function rows(): TraceRow[] {
  const out: TraceRow[] = [];
  for (let m = 0; m < 60; m += 2.5) {
    for (const rcpt of ["a@contoso.com", "b@contoso.com"])
      out.push({ traceId: `t${m}`, recipient: rcpt, received: at(m), sender: "x@example.com", status: "Delivered" });
  }
  return out;
}

const OPTIONS: CollectorOptions = {
  delayMinutes: 0,
  windowMinutes: 15,
  maxWindows: 100,
  start: at(0),
  rescanHorizonMinutes: 0,
  rescanEvery: 1,
  dedupe: true,
  details: false,
  detailsMaxPerWindow: 0,
  groupBy: "recipient",
};

function collector(source: FakeSource, sink: FakeSink, store: MemoryStore, options: Partial<CollectorOptions> = {}): Collector {
  const mapper = new RecordMapper({ tenantId: "t", source: "fake", keyStyle: "flat", localDomains: ["contoso.com"] });
  return new Collector({
    options: { ...OPTIONS, ...options },
    source,
    sink,
    store,
    mapper,
    logger: silentLogger,
    clock: () => T0 + 60 * MIN,
  });
}

const allIds = rows().map((r) => identity(r.traceId, r.recipient, r.status));

describe("collector with in-memory fakes", () => {
  it("delivers each row once, in the window that holds it (half-open: a row at `end` belongs to the next)", async () => {
    const events: Event[] = [];
    const sink = new FakeSink(events);
    const store = new MemoryStore(events);
    const r = await collector(new FakeSource(rows()), sink, store).runCycle();
    expect(r).toMatchObject({ windows: 4, records: allIds.length, behind: false, cursor: at(60) });
    expect(sink.delivered.sort()).toEqual([...allIds].sort());
    // Each record went out in the window that contains its time: the send batches between two commits.
    let windowStart = 0;
    const byId = new Map(rows().map((row) => [identity(row.traceId, row.recipient, row.status), Date.parse(row.received)]));
    for (const e of events) {
      if (e.kind === "send")
        for (const id of e.ids) expect(byId.get(id)! - T0).toSatisfy((t: number) => t >= windowStart * MIN && t < (windowStart + 15) * MIN);
      if (e.kind === "commit") windowStart += 15;
    }
    expect(store.cursor).toBe(at(60));
  });

  it("never commits a window before the sink confirmed everything sent in it", async () => {
    const events: Event[] = [];
    await collector(new FakeSource(rows()), new FakeSink(events), new MemoryStore(events)).runCycle();
    let unconfirmed = 0;
    for (const e of events) {
      if (e.kind === "send") unconfirmed += e.ids.length;
      if (e.kind === "flush") unconfirmed = 0;
      if (e.kind === "journal") expect(unconfirmed).toBe(0);
      if (e.kind === "commit") expect(unconfirmed).toBe(0);
    }
    expect(events.filter((e) => e.kind === "commit").map((e) => (e as { cursor?: string }).cursor)).toEqual([
      at(15),
      at(30),
      at(45),
      at(60),
    ]);
  });

  it("keeps the cursor where it was when the sink fails, and reads the window again", async () => {
    const events: Event[] = [];
    const store = new MemoryStore(events);
    const source = new FakeSource(rows());
    await expect(collector(source, new FakeSink(events, { method: "flush", call: 3 }), store).runCycle()).rejects.toThrow(/flush #3/);
    const committed = store.cursor;
    expect(committed === undefined || Date.parse(committed) < T0 + 60 * MIN).toBe(true);
    const sink = new FakeSink(events);
    const r = await collector(source, sink, store).runCycle();
    expect(r.cursor).toBe(at(60));
  });

  const points: Array<FailAt | { method: "journal" | "commit"; call: number }> = [];
  for (let call = 1; call <= 12; call++) points.push({ method: "send", call }, { method: "flush", call }, { method: "journal", call });
  for (let call = 1; call <= 4; call++) points.push({ method: "commit", call });

  it.each(points)("a failure at $method #$call, then a restart: none lost, none doubled beyond one page", async (point) => {
    const events: Event[] = [];
    const store = new MemoryStore(events);
    const source = new FakeSource(rows(), 3);
    const delivered: string[] = [];
    let first: FakeSink;
    if (point.method === "journal" || point.method === "commit") {
      store.failAt = point;
      first = new FakeSink(events);
    } else {
      first = new FakeSink(events, point as FailAt);
    }
    await collector(source, first, store)
      .runCycle()
      .catch(() => {});
    delivered.push(...first.delivered);
    const again = new FakeSink(events);
    const r = await collector(source, again, store).runCycle();
    delivered.push(...again.delivered);
    expect(r.cursor).toBe(at(60));
    expect(new Set(delivered)).toEqual(new Set(allIds));
    const doubled = delivered.length - new Set(delivered).size;
    // Only a record confirmed by the sink but not yet journaled can come again: at most the page in flight.
    if (point.method === "journal") expect(doubled).toBeLessThanOrEqual(3);
    else expect(doubled).toBe(0);
  });

  it("without dedupe a restart re-sends the uncommitted window, never an earlier one", async () => {
    const events: Event[] = [];
    const store = new MemoryStore(events);
    const source = new FakeSource(rows());
    const first = new FakeSink(events, { method: "flush", call: 3 });
    await collector(source, first, store, { dedupe: false })
      .runCycle()
      .catch(() => {});
    const again = new FakeSink(events);
    await collector(source, again, store, { dedupe: false }).runCycle();
    expect(new Set([...first.delivered, ...again.delivered])).toEqual(new Set(allIds));
    expect(again.delivered.length).toBeGreaterThan(0);
  });

  it("deliverWindow refuses a new window that does not start at the cursor (no gap, no overlap)", async () => {
    const events: Event[] = [];
    const store = new MemoryStore(events);
    // A horizon, so identities before the cursor are kept for the re-scan below.
    const c = collector(new FakeSource(rows()), new FakeSink(events), store, { rescanHorizonMinutes: 60 });
    await c.deliverWindow({ start: new Date(T0), end: new Date(T0 + 15 * MIN) });
    await expect(c.deliverWindow({ start: new Date(T0 + 30 * MIN), end: new Date(T0 + 45 * MIN) })).rejects.toThrow(
      /does not start at the cursor/,
    );
    const r = await c.deliverWindow({ start: new Date(T0 + 15 * MIN), end: new Date(T0 + 30 * MIN) });
    expect(r.records).toBeGreaterThan(0);
    expect(store.cursor).toBe(at(30));
    // A re-scan may read any window before the cursor and never moves it.
    const again = await c.deliverWindow({ start: new Date(T0), end: new Date(T0 + 15 * MIN) }, { rescan: true });
    expect(again).toEqual({ records: 0, duplicates: 12 });
    expect(store.cursor).toBe(at(30));
  });

  it("a page larger than a slice: sent in slices, journaled once, an in-page duplicate in a later slice dropped, a failure mid-page repeats nothing", async () => {
    // One 15-minute window, one page of 700 rows (several slices); row 650 repeats row 3's identity.
    const big: TraceRow[] = [];
    for (let i = 0; i < 700; i++)
      big.push({ traceId: `p${i}`, recipient: "a@contoso.com", received: new Date(T0 + i * 1000).toISOString(), status: "Delivered" });
    big[650] = { ...big[3]!, received: big[650]!.received };
    const unique = new Set(big.map((r) => identity(r.traceId, r.recipient, r.status)));
    expect(unique.size).toBe(699);
    const events: Event[] = [];
    const store = new MemoryStore(events);
    const source = new FakeSource(big, 700);
    const options = { maxWindows: 1, windowMinutes: 15 };
    // The receiver drops the connection at the page's second send: nothing of the page was confirmed.
    const first = new FakeSink(events, { method: "send", call: 2 });
    await expect(collector(source, first, store, options).runCycle()).rejects.toThrow(/send #2/);
    expect(events.filter((e) => e.kind === "journal")).toHaveLength(0);
    const sink = new FakeSink(events);
    const r = await collector(source, sink, store, options).runCycle();
    expect(r.cursor).toBe(at(15));
    expect(sink.delivered).toHaveLength(699);
    expect(new Set(sink.delivered)).toEqual(unique);
    // The second run: the page in several sends, one flush and one journal line for it, then the commit.
    const second = events.slice(-7).map((e) => e.kind + ("ids" in e ? e.ids.length : ""));
    expect(second).toEqual(["send256", "send256", "send187", "flush699", "journal", "flush0", "commit"]);
  });
});
