// Issue 6: details: true emits o365.message.detail.* records from getDetailsByRecipient, bounded per window,
// and keeps no-loss / no-duplicate across a window that fails between its rows and their details.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { detailsUrl } from "../src/sources/graph/details.js";
import { captureRuntime, compare, HOUR, simConfig, tempDir, truthIds } from "./helpers/harness.js";

let sim: Simulator;
const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);
const P = "o365.message.";

beforeAll(async () => {
  sim = await startSimulator({ seed: 17, ratePerHour: 50 });
});
afterAll(async () => {
  await sim?.close();
});

type Rec = Record<string, unknown>;
const isDetail = (r: Rec) => r[P + "detail.event"] !== undefined;
const rowId = (r: Rec) => `${r[P + "trace_id"]}|${r[P + "recipient"]}|${String(r[P + "status"]).toLowerCase()}`;
// Events of one recipient can share a whole-second date and the event name (docs §5): the description tells
// the simulator's apart.
const recId = (r: Rec) =>
  isDetail(r) ? `${rowId(r)}|${r[P + "detail.date"]}|${r[P + "detail.event"]}|${r[P + "detail.description"]}` : rowId(r);

async function collect(dir: string, cycles: number, extra: Record<string, unknown> = {}): Promise<{ records: Rec[]; errors: unknown[] }> {
  const config = simConfig(sim, dir, {
    start: new Date(T0).toISOString(),
    window: 60,
    max_windows_per_run: 3,
    details: true,
    details_max_per_window: 5,
    retry: { count: 0 },
    ...extra,
  });
  const out: Rec[] = [];
  const errors: unknown[] = [];
  for (let i = 0; i < cycles; i++) {
    const { rt, records } = captureRuntime(config, sim, { clock: () => T0 + 3 * HOUR });
    await rt.collector.runCycle().catch((e: unknown) => errors.push(e));
    await rt.close();
    out.push(...records());
  }
  return { records: out, errors };
}

describe("detail events", () => {
  it("builds the documented URL, quoting the address as an OData literal", () => {
    expect(detailsUrl("https://graph.microsoft.com/", "v1.0", "abc-1", "o'brien@contoso.com")).toBe(
      "https://graph.microsoft.com/v1.0/admin/exchange/tracing/messageTraces/abc-1/getDetailsByRecipient(recipientAddress='o''brien%40contoso.com')",
    );
  });

  it("emits every detail event of at most details_max_per_window rows per window, matching the API", async () => {
    const { records, errors } = await collect(tempDir(), 1);
    expect(errors).toEqual([]);
    const rows = records.filter((r) => !isDetail(r));
    const details = records.filter(isDetail);
    expect(compare(truthIds(sim.truth(new Date(T0), new Date(T0 + 3 * HOUR))), rows.map(rowId))).toEqual({
      lost: 0,
      duplicates: 0,
      extra: 0,
    });
    const parents = new Map<string, Rec[]>();
    for (const d of details) parents.set(rowId(d), [...(parents.get(rowId(d)) ?? []), d]);
    expect(parents.size).toBe(15); // 5 per window, 3 windows, each with more than 5 messages
    for (const [id, got] of parents) {
      const [traceId, recipient] = id.split("|");
      const want = sim.details(traceId!, recipient!);
      expect(want.length).toBeGreaterThan(0);
      expect(got.map((d) => `${d[P + "detail.date"]}|${d[P + "detail.event"]}|${d[P + "detail.action"] ?? ""}`).sort()).toEqual(
        want.map((w) => `${new Date(w.dateTime).toISOString()}|${w.event}|${w.action ?? ""}`).sort(),
      );
      expect(got[0]![P + "detail.data"]).toBeTypeOf("string");
      expect(got[0]![P + "sender"]).toBeTypeOf("string");
    }
    expect(new Set(details.map(recId)).size).toBe(details.length);
  });

  it("a detail call failing mid-window loses nothing and doubles nothing on the next cycle", async () => {
    const clean = await collect(tempDir(), 1);
    // Window 1 uses 5 detail calls; the 3rd detail call of window 2 fails (no retries) and fails the window.
    sim.inject({ route: "details", kind: "500", count: 1, after: 7 });
    const dir = tempDir();
    const first = await collect(dir, 1);
    sim.clearFaults();
    expect(first.errors).toHaveLength(1);
    const second = await collect(dir, 1);
    expect(second.errors).toEqual([]);
    const all = [...first.records, ...second.records];
    expect(compare(clean.records.map(recId), all.map(recId))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    // And a third cycle (nothing new) adds nothing.
    const third = await collect(dir, 1);
    expect(third.records).toEqual([]);
  });
});
