// Issue 18: get-events filters become the APIs' documented $filter clauses; a quote in a value cannot change
// the query; both sources, against the simulator, return exactly the truth rows that match.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/log/logger.js";
import { open } from "../src/runtime.js";
import { normaliseStatus } from "../src/schema/mapper.js";
import { parseFilter } from "../src/sim/odata.js";
import { startSimulator, type GraphTraceItem, type Simulator } from "../src/sim/index.js";
import {
  checkTraceFilter,
  graphFilterClauses,
  matchesFilter,
  odataString,
  rwsFilterClauses,
  type TraceFilter,
} from "../src/sources/trace-filter.js";
import type { TraceRow, Window } from "../src/types.js";
import { HOUR, simConfig, tempDir } from "./helpers/harness.js";
import type { LazySource } from "../src/lazy.js";

const INJECTED = "mallory@contoso.com' or senderAddress ne 'x";

describe("$filter clauses", () => {
  it("doubles quotes: a value stays one string literal, whatever it holds", () => {
    expect(odataString("o'brien@contoso.com")).toBe("'o''brien@contoso.com'");
    const all: TraceFilter = {
      sender: INJECTED,
      recipient: "r'@x.com",
      status: "Delivered",
      traceId: "5a1c3e20-7f4b-4c2d-9e11-0b6f2a9d4c71",
      messageId: "<a'b@c>",
    };
    const range = "receivedDateTime ge 2026-01-01T00:00:00.000Z and receivedDateTime le 2026-01-01T01:00:00.000Z";
    const graph = parseFilter([range, ...graphFilterClauses(all)].join(" and "));
    expect(graph.map((c) => [c.prop, c.op, c.value.text])).toEqual([
      ["receivedDateTime", "ge", "2026-01-01T00:00:00.000Z"],
      ["receivedDateTime", "le", "2026-01-01T01:00:00.000Z"],
      ["senderAddress", "eq", INJECTED],
      ["recipientAddress", "eq", "r'@x.com"],
      ["status", "eq", "delivered"],
      ["id", "eq", all.traceId],
      ["messageId", "eq", "<a'b@c>"],
    ]);
    const rws = parseFilter(["StartDate eq datetime'2026-01-01T00:00:00Z'", ...rwsFilterClauses(all)].join(" and "));
    expect(rws.map((c) => [c.prop, c.value.type ?? c.value.kind, c.value.text])).toEqual([
      ["StartDate", "datetime", "2026-01-01T00:00:00Z"],
      ["SenderAddress", "string", INJECTED],
      ["RecipientAddress", "string", "r'@x.com"],
      ["Status", "string", "Delivered"],
      ["MessageId", "string", "<a'b@c>"],
      ["MessageTraceId", "guid", all.traceId],
    ]);
  });

  it("uses Graph's enum spelling, keeps the legacy-only None client-side, and refuses a trace id that is no GUID", () => {
    expect(graphFilterClauses({ status: "FILTEREDASSPAM" })).toEqual(["status eq 'filteredAsSpam'"]);
    expect(graphFilterClauses({ status: "none" })).toEqual([]);
    expect(rwsFilterClauses({ status: "gettingstatus" })).toEqual(["Status eq 'GettingStatus'"]);
    expect(() => checkTraceFilter({ traceId: "x' or 1 eq 1" })).toThrow(/--trace-id .* is not a message trace id/);
    expect(() => checkTraceFilter({ sender: " " })).toThrow(/--sender is empty/);
    const row: TraceRow = { received: "2026-01-01T00:00:00Z", sender: "A@Contoso.com", status: "filteredAsSpam", traceId: "ABC" };
    expect(matchesFilter(row, { sender: "a@contoso.COM", status: "FilteredAsSpam", traceId: "abc" })).toBe(true);
    expect(matchesFilter(row, { status: "Delivered" })).toBe(false);
  });
});

describe("against the simulator, both APIs", () => {
  let sim: Simulator;
  let truth: GraphTraceItem[];
  const logger = createLogger({ level: "error", write: () => {} });
  const T0 = Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR;
  const W: Window = { start: new Date(T0), end: new Date(T0 + 2 * HOUR) };

  beforeAll(async () => {
    sim = await startSimulator({ seed: 1818, ratePerHour: 150 });
    truth = sim.truth(W.start, W.end);
  });
  afterAll(async () => {
    await sim?.close();
  });

  async function query(source: "graph" | "rws", filter: TraceFilter): Promise<{ rows: TraceRow[]; urls: string[] }> {
    const urls: string[] = [];
    const side = open(simConfig(sim, tempDir(), { source }), { source: true }, { logger, caPem: sim.ca, beforeRequest: async () => {} });
    const rows: TraceRow[] = [];
    try {
      // A source loaded on demand (src/lazy.ts) hands out its reader with `loaded()`.
      const reader = "loaded" in side.source ? await (side.source as LazySource).loaded() : side.source;
      urls.push(decodeURIComponent((reader as unknown as { windowUrl(w: Window, f: TraceFilter): string }).windowUrl(W, filter)));
      for await (const page of side.source.readWindow(W, undefined, filter)) {
        for (const r of page) if (Date.parse(r.received) >= T0 && Date.parse(r.received) < W.end.getTime()) rows.push(r);
      }
    } finally {
      await side.close();
    }
    return { rows, urls };
  }

  const key = (r: { id?: string; traceId?: string; recipientAddress?: string; recipient?: string }) =>
    `${r.id ?? r.traceId}|${(r.recipientAddress ?? r.recipient)!.toLowerCase()}`;

  for (const source of ["graph", "rws"] as const) {
    it(`${source}: each filter returns exactly the matching truth rows, server-side`, async () => {
      const multi = truth.find((t) => truth.filter((u) => u.id === t.id).length > 1) ?? truth[0]!;
      const cases: Array<[TraceFilter, (t: GraphTraceItem) => boolean]> = [
        [{ sender: multi.senderAddress.toUpperCase() }, (t) => t.senderAddress.toLowerCase() === multi.senderAddress.toLowerCase()],
        [{ recipient: multi.recipientAddress }, (t) => t.recipientAddress.toLowerCase() === multi.recipientAddress.toLowerCase()],
        [{ status: "delivered" }, (t) => normaliseStatus(t.status ?? "") === "Delivered"],
        [{ traceId: multi.id }, (t) => t.id === multi.id],
        [{ messageId: multi.messageId }, (t) => t.messageId === multi.messageId],
        [
          { traceId: multi.id, recipient: multi.recipientAddress },
          (t) => t.id === multi.id && t.recipientAddress === multi.recipientAddress,
        ],
      ];
      for (const [filter, want] of cases) {
        const { rows, urls } = await query(source, filter);
        const expected = truth.filter(want).map(key).sort();
        expect(expected.length, JSON.stringify(filter)).toBeGreaterThan(0);
        expect(rows.map(key).sort(), JSON.stringify(filter)).toEqual(expected);
        expect(rows.every((r) => matchesFilter(r, filter))).toBe(true);
        // Server-side: the clause is in the query, not only applied afterwards.
        expect(urls[0]).toMatch(source === "graph" ? / eq '/ : / eq (guid)?'/);
      }
    });

    it(`${source}: an injected quote is part of the value: no rows, no error, the filter unchanged`, async () => {
      const victim = truth[0]!;
      const { rows, urls } = await query(source, {
        sender: `${victim.senderAddress}' or ${source === "graph" ? "senderAddress" : "SenderAddress"} ne 'x`,
      });
      expect(rows).toEqual([]);
      expect(urls[0]).toContain("''");
    });
  }
});
