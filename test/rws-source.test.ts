// Issue 3: `source: rws` end to end against the simulated tenant — the same 6 hours read through the
// legacy report (Atom XML, verbose JSON, JSON light) and through Graph give the same records; a sign-in
// page or a cut-off body mid-paging neither loses nor doubles records nor moves the cursor early; and
// each field failure mode ends in its own sentence.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CollectorError, describeError } from "../src/errors.js";
import { noopMetrics } from "../src/pipeline/metrics.js";
import { identity } from "../src/schema/mapper.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { captureRuntime, compare, HOUR, recordIds, simConfig, tempDir, truthIds } from "./helpers/harness.js";

type Rec = Record<string, unknown>;
const P = "o365.message.";
// Hour-aligned and well inside the report's 10-day history, whatever today is.
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 30 * HOUR;
const SPAN = 6 * HOUR;
/**
 * What the legacy source delivers for [T0, T0 + SPAN): the report's bounds are inclusive and not Received
 * times, so nothing it returns is dropped; the simulator's default filter returns rows received exactly at
 * the last window's end too.
 */
const rwsTruth = (s: Simulator) => s.truth(new Date(T0), new Date(T0 + SPAN + 1));

let sim: Simulator; // verbose JSON (v2) for $format=json
let simV3: Simulator; // JSON light (v3) for $format=json
beforeAll(async () => {
  // Small pages on both APIs so every window pages several times.
  [sim, simV3] = await Promise.all([
    startSimulator({ seed: 11, ratePerHour: 60, rwsPageSize: 37, graphMaxPageSize: 41 }),
    startSimulator({ seed: 11, ratePerHour: 60, rwsPageSize: 37, graphMaxPageSize: 41, rwsJsonShape: "v3" }),
  ]);
});
afterAll(async () => {
  await Promise.all([sim?.close(), simV3?.close()]);
});

const fast = { count: 2, backoff: { initial: 0, max: 0, jitter: 0 }, error_retry_span: 1, error_retry_count: 3 };

async function collect(
  s: Simulator,
  extra: Record<string, unknown>,
  cycles = 1,
): Promise<{ records: Rec[]; errors: unknown[]; cursor?: string; retries: number }> {
  const dir = tempDir("o365mt-rws-");
  const config = simConfig(s, dir, { start: new Date(T0).toISOString(), window: 60, max_windows_per_run: 100, retry: fast, ...extra });
  let retries = 0;
  const metrics = { ...noopMetrics, retry: () => void retries++ };
  const { rt, records } = captureRuntime(config, s, { clock: () => T0 + SPAN, metrics });
  const errors: unknown[] = [];
  try {
    for (let i = 0; i < cycles; i++) await rt.collector.runCycle().catch((e) => errors.push(e));
  } finally {
    await rt.close();
  }
  return { records: records(), errors, cursor: rt.store.load().state.cursor, retries };
}

/** Records by identity, without the fields that may differ by API (`source`; `index` is each API's own order). */
function byIdentity(records: Rec[], drop = [P + "source", P + "index"]): Map<string, Rec> {
  const out = new Map<string, Rec>();
  for (const r of records) {
    const copy = { ...r };
    for (const k of drop) delete copy[k];
    // Graph writes whole seconds (docs §5), the report 7 fraction digits: the same instant to the second.
    // A row at exactly a window's end is in both windows' answers; the report's bounds are not Received
    // times, so the legacy source keeps it in the earlier window, Graph in the later: not compared.
    const edge = copy[P + "received"] === copy[P + "window_end"] || copy[P + "received"] === copy[P + "window_start"];
    if (edge) for (const k of ["window_start", "window_end"]) delete copy[P + k];
    if (typeof copy[P + "received"] === "string") copy[P + "received"] = (copy[P + "received"] as string).slice(0, 19);
    out.set(identity(r[P + "trace_id"] as string, r[P + "recipient"] as string, r[P + "status"] as string), copy);
  }
  return out;
}

describe("the same 6 hours through rws (XML, JSON v2, JSON v3) and graph", () => {
  it("yields identical records except o365.message.source and index", async () => {
    // organization set to the tenant's default domain: Graph has no such field, the report names it itself.
    const [graph, xml, json, graphV3, jsonV3] = await Promise.all([
      collect(sim, { source: "graph", page_size: 41, organization: sim.organization }),
      collect(sim, { source: "rws", format: "xml" }),
      collect(sim, { source: "rws", format: "json" }),
      collect(simV3, { source: "graph", page_size: 41, organization: simV3.organization }),
      collect(simV3, { source: "rws", format: "json" }),
    ]);
    const truth = sim.truth(new Date(T0), new Date(T0 + SPAN));
    expect(truth.length).toBeGreaterThan(300);
    for (const run of [graph, xml, json, graphV3, jsonV3]) {
      expect(run.errors).toEqual([]);
      expect(run.cursor).toBe(new Date(T0 + SPAN).toISOString());
      const expected = run === graph || run === graphV3 ? truth : rwsTruth(sim);
      expect(compare(truthIds(expected), recordIds(run.records))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    }
    for (const r of xml.records) expect(r[P + "source"]).toBe("rws");
    for (const r of graph.records) expect(r[P + "source"]).toBe("graph");

    const g = byIdentity(graph.records);
    for (const [name, run] of [
      ["xml", xml],
      ["json v2", json],
    ] as const) {
      const got = byIdentity(run.records);
      for (const [id, rec] of g) expect(got.get(id), `${name} ${id}`).toEqual(rec);
    }
    const g3 = byIdentity(graphV3.records);
    const j3 = byIdentity(jsonV3.records);
    for (const [id, rec] of g3) expect(j3.get(id), id).toEqual(rec);
    // The two formats of one API agree on everything, index included.
    expect(byIdentity(json.records, [])).toEqual(byIdentity(xml.records, []));
    // window_start/window_end: the report's StartDate/EndDate, which are the collector's own window.
    for (const r of xml.records) {
      const t = Date.parse(r[P + "received"] as string);
      expect(Date.parse(r[P + "window_start"] as string) <= t && t <= Date.parse(r[P + "window_end"] as string)).toBe(true);
      expect(r[P + "organization"]).toBe(sim.organization);
      expect(typeof r[P + "index"]).toBe("number");
    }
    // Subjects with entities and unicode arrive intact through XML.
    expect(xml.records.some((r) => /[&<>"]/.test(String(r[P + "subject"])))).toBe(true);
    expect(xml.records.some((r) => [...String(r[P + "subject"])].some((c) => c.charCodeAt(0) > 0x7f))).toBe(true);
  });
});

describe("a bad page mid-paging", () => {
  it("is retried within the window: sign-in pages and a cut-off body cost nothing", async () => {
    const s = await startSimulator({ seed: 5, ratePerHour: 60, rwsPageSize: 20 });
    try {
      for (const format of ["xml", "json"]) {
        s.inject({ route: "rws", kind: "html-signin", after: 1, count: 2 });
        s.inject({ route: "rws", kind: "truncated", after: 1, count: 1 });
        const run = await collect(s, { source: "rws", format }, 1);
        const truth = rwsTruth(s);
        expect(run.errors).toEqual([]);
        expect(run.retries).toBe(3);
        expect(compare(truthIds(truth), recordIds(run.records))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
      }
    } finally {
      await s.close();
    }
  });

  it("fails the window when retries run out: cursor unchanged, and the next cycle completes it once", async () => {
    const s = await startSimulator({ seed: 5, ratePerHour: 60, rwsPageSize: 20 });
    try {
      // Page 2 of the first window answers the sign-in page on the first try and both retries.
      s.inject({ route: "rws", kind: "html-signin", after: 1, count: 3 });
      const dir = tempDir("o365mt-rws-");
      const config = simConfig(s, dir, {
        source: "rws",
        format: "xml",
        start: new Date(T0).toISOString(),
        window: 60,
        max_windows_per_run: 6,
        retry: fast,
      });
      const { rt, records } = captureRuntime(config, s, { clock: () => T0 + SPAN });
      try {
        const err = await rt.collector.runCycle().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(CollectorError);
        expect(describeError(err)).toMatch(
          /^transient error: the Reporting Web Service at https:\/\/127\.0\.0\.1:\d+\/ecp\/reportingwebservice\/reporting\.svc\/MessageTrace answered HTTP 200 with an HTML page \("Sign in to Outlook"\) instead of the MessageTrace report — /i,
        );
        expect(rt.store.load().state.cursor).toBeUndefined();
        // Only the complete first page went out; nothing of the failed page.
        expect(records().length).toBe(20);

        const done = await rt.collector.runCycle();
        expect(done.cursor).toBe(new Date(T0 + SPAN).toISOString());
        const truth = rwsTruth(s);
        expect(compare(truthIds(truth), recordIds(records()))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
      } finally {
        await rt.close();
      }
    } finally {
      await s.close();
    }
  });
});

describe("field failure modes, one sentence each", () => {
  const app = (clientId: string, extra: object) => ({ clientId, clientSecret: "sim-secret-for-" + clientId.slice(0, 4), ...extra });

  async function failure(s: Simulator, extra: Record<string, unknown>): Promise<{ err: CollectorError; cursor?: string; records: number }> {
    const run = await collect(s, { source: "rws", format: "json", max_windows_per_run: 1, ...extra });
    expect(run.errors).toHaveLength(1);
    return { err: run.errors[0] as CollectorError, cursor: run.cursor, records: run.records.length };
  }

  it("names the missing permission and the missing Global Reader role apart", async () => {
    const noPerm = app("aaaaaaaa-0000-4000-8000-000000000001", { rwsRoles: [] });
    const noRole = app("aaaaaaaa-0000-4000-8000-000000000002", { globalReader: false });
    sim.addApp(noPerm);
    sim.addApp(noRole);
    const a = await failure(sim, { auth: { method: "client_secret", client_id: noPerm.clientId, client_secret: noPerm.clientSecret } });
    expect(a.err.kind).toBe("permission");
    expect(a.err.message).toMatch(
      /^the app lacks the Exchange Online application permission ReportingWebService\.Read\.All \(token roles: none; service said: Insufficient privileges/,
    );
    const b = await failure(sim, { auth: { method: "client_secret", client_id: noRole.clientId, client_secret: noRole.clientSecret } });
    expect(b.err.kind).toBe("permission");
    expect(b.err.message).toBe(
      'the app has ReportingWebService.Read.All but lacks the Entra role Global Reader (or Security Reader) the report needs ("No permission to access the report for the organization .")',
    );
    for (const x of [a, b]) expect([x.cursor, x.records]).toEqual([undefined, 0]);
  });

  it("reports a token refused even after a refresh as an auth error, not retried", async () => {
    const before = sim.stats().requests.rws ?? 0;
    sim.inject({ route: "rws", kind: "token-expired", count: 2 });
    const r = await failure(sim, {});
    expect(r.err.kind).toBe("auth");
    expect(r.err.message).toBe(
      "the Reporting Web Service rejected the access token (HTTP 401: Lifetime validation failed, the token is expired.)",
    );
    expect((sim.stats().requests.rws ?? 0) - before).toBe(2); // one forced refresh, then stop
    expect(r.cursor).toBeUndefined();
  });

  it("recovers from one expired token mid-run by fetching a new one", async () => {
    sim.inject({ route: "rws", kind: "token-expired", after: 2, count: 1 });
    const run = await collect(sim, { source: "rws", format: "xml" });
    expect(run.errors).toEqual([]);
    expect(compare(truthIds(rwsTruth(sim)), recordIds(run.records))).toEqual({
      lost: 0,
      duplicates: 0,
      extra: 0,
    });
  });
});
