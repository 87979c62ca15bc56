// Issue 2: the collector core end to end against the simulator's ground truth.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { FIELDS, PREFIX } from "../src/schema/fields.js";
import { StateStore } from "../src/cursor/store.js";
import { captureRuntime, compare, HOUR, MIN, recordIds, simConfig, tempDir, truthIds } from "./helpers/harness.js";

let sim: Simulator;
// A fixed, window-aligned span well in the past of the simulator's clock.
const T0 = Date.UTC(2026, 10, 20, 6, 0, 0);
const SPAN = 6 * HOUR;

beforeAll(async () => {
  sim = await startSimulator({ seed: 7, ratePerHour: 120, maxRecipients: 4, graphMaxPageSize: 5000 });
});
afterAll(async () => {
  await sim?.close();
});

describe("Graph → NDJSON over a 6-hour span at 15-minute windows", () => {
  it("delivers exactly the simulator's truth, with every schema field", async () => {
    const dir = tempDir();
    // page_size 50 forces many pages per window, so paging is exercised too.
    const config = simConfig(sim, dir, { start: new Date(T0).toISOString(), max_windows_per_run: 100, page_size: 50 });
    const { rt, records } = captureRuntime(config, sim, { clock: () => T0 + SPAN });
    const result = await rt.collector.runCycle();
    await rt.close();

    const truth = sim.truth(new Date(T0), new Date(T0 + SPAN));
    expect(truth.length).toBeGreaterThan(500);
    expect(result.windows).toBe(24);
    const got = records();
    expect(got.length).toBe(truth.length);
    expect(compare(truthIds(truth), recordIds(got))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    expect(result.cursor).toBe(new Date(T0 + SPAN).toISOString());

    // Field by field against the API items.
    const byId = new Map(got.map((r) => [`${r[PREFIX + "trace_id"]}|${r[PREFIX + "recipient"]}`, r]));
    const allowed = new Set(FIELDS.map((f) => PREFIX + f.name));
    for (const t of truth) {
      const r = byId.get(`${t.id}|${t.recipientAddress.toLowerCase()}`)!;
      expect(r[PREFIX + "id"]).toBe(t.messageId);
      expect(r[PREFIX + "received"]).toBe(new Date(t.receivedDateTime).toISOString());
      expect(r[PREFIX + "sender"]).toBe(t.senderAddress.toLowerCase());
      expect(r[PREFIX + "subject"]).toBe(t.subject === "" ? undefined : t.subject); // empty is omitted, never ""
      expect(r[PREFIX + "size"]).toBe(t.size);
      expect(String(r[PREFIX + "status"]).toLowerCase()).toBe(t.status.toLowerCase());
      expect(r[PREFIX + "from_ip"]).toBe(t.fromIP ?? undefined);
      expect(r[PREFIX + "to_ip"]).toBe(t.toIP || undefined); // Graph writes "" for inbound mail: omitted

      expect(r[PREFIX + "tenant_id"]).toBe(sim.tenantId);
      expect(r[PREFIX + "source"]).toBe("graph");
      expect(["inbound", "outbound", "internal", "external"]).toContain(r[PREFIX + "direction"]);
      const ws = Date.parse(r[PREFIX + "window_start"] as string);
      const we = Date.parse(r[PREFIX + "window_end"] as string);
      const rt0 = Date.parse(t.receivedDateTime);
      expect(rt0 >= ws && rt0 < we && we - ws === 15 * MIN).toBe(true);
      for (const k of Object.keys(r)) expect(allowed.has(k)).toBe(true);
      for (const v of Object.values(r)) expect(v === "" || v === null).toBe(false);
    }
    expect(["Delivered", "Failed", "FilteredAsSpam"].every((s) => got.some((r) => r[PREFIX + "status"] === s))).toBe(true);
  });

  it("resumes exactly where it stopped (3 windows, then the rest)", async () => {
    const dir = tempDir();
    const base = { start: new Date(T0).toISOString(), page_size: 100 };
    const first = captureRuntime(simConfig(sim, dir, { ...base, max_windows_per_run: 3 }), sim, { clock: () => T0 + SPAN });
    const r1 = await first.rt.collector.runCycle();
    await first.rt.close();
    expect(r1.windows).toBe(3);
    expect(r1.behind).toBe(true);
    expect(r1.cursor).toBe(new Date(T0 + 45 * MIN).toISOString());

    const second = captureRuntime(simConfig(sim, dir, { ...base, max_windows_per_run: 100 }), sim, { clock: () => T0 + SPAN });
    const r2 = await second.rt.collector.runCycle();
    await second.rt.close();
    expect(r2.windows).toBe(21);

    const truth = truthIds(sim.truth(new Date(T0), new Date(T0 + SPAN)));
    const delivered = [...recordIds(first.records()), ...recordIds(second.records())];
    expect(compare(truth, delivered)).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    const { state } = new StateStore(dir + "/state", sim.tenantId, "graph").load();
    expect(state.cursor).toBe(new Date(T0 + SPAN).toISOString());
    expect(state.windows_done).toBe(24);
  });

  it("nested keys and grouping by message keep every recipient once", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, {
      start: new Date(T0).toISOString(),
      max_windows_per_run: 8,
      key_style: "nested",
      group_by: "message",
    });
    const { rt, records } = captureRuntime(config, sim, { clock: () => T0 + 2 * HOUR });
    await rt.collector.runCycle();
    await rt.close();
    const truth = sim.truth(new Date(T0), new Date(T0 + 2 * HOUR));
    const got = records() as Array<{ o365: { message: Record<string, unknown> } }>;
    expect(got.length).toBe(new Set(truth.map((t) => t.id)).size);
    const flatIds = got.flatMap((r) => (r.o365.message.recipient as string[]).map((x) => `${r.o365.message.trace_id}|${x}`));
    // A grouped record carries one status (the first row's), so recipients are counted without it.
    expect(
      compare(
        truth.map((t) => `${t.id}|${t.recipientAddress.toLowerCase()}`),
        flatIds,
      ),
    ).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    for (const r of got) expect(r.o365.message.recipient_count).toBe((r.o365.message.recipient as string[]).length);
  });
});
