// Unit tests of the pure pieces: planner, time parsing, mapper, dedupe set, redaction, config loading,
// state journal. Everything here is deterministic and fast.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultStart, planRescan, planWindows } from "../src/window/planner.js";
import { parseTime } from "../src/window/time.js";
import { nest, normaliseStatus, RecordMapper } from "../src/schema/mapper.js";
import { SeenSet } from "../src/dedupe/seen.js";
import { redact, registerSecret } from "../src/log/redact.js";
import { loadConfig, validateConfig } from "../src/config/load.js";
import { StateStore } from "../src/cursor/store.js";
import { CollectorError } from "../src/errors.js";
import { tempDir, MIN, HOUR } from "./helpers/harness.js";

const opts = { delayMinutes: 60, windowMinutes: 15, maxWindows: 100 };

describe("window planner", () => {
  it("plans consecutive half-open windows ending at least `delay` behind now", () => {
    const cursor = new Date(Date.UTC(2025, 0, 1, 0, 0));
    const now = cursor.getTime() + 3 * HOUR + 7 * MIN;
    const ws = planWindows(cursor, now, opts);
    expect(ws).toHaveLength(8); // 2h07 ready → 8 full 15-min windows
    for (let i = 1; i < ws.length; i++) expect(ws[i]!.start.getTime()).toBe(ws[i - 1]!.end.getTime());
    expect(ws[ws.length - 1]!.end.getTime()).toBeLessThanOrEqual(now - 60 * MIN);
    expect(planWindows(cursor, now, { ...opts, maxWindows: 3 })).toHaveLength(3);
    expect(planWindows(cursor, cursor.getTime() + 74 * MIN, opts)).toHaveLength(0);
  });
  it("caps a window at the API's 10-day span and starts new cursors at now − delay − window", () => {
    const ws = planWindows(new Date(0), 30 * 86_400_000, { delayMinutes: 0, windowMinutes: 1440, maxWindows: 2, maxSpanMinutes: 600 });
    expect(ws[0]!.end.getTime() - ws[0]!.start.getTime()).toBe(600 * MIN);
    expect(defaultStart(Date.UTC(2025, 0, 1, 5, 30, 45), opts).toISOString()).toBe("2025-01-01T04:15:00.000Z");
  });
  it("re-scan covers [cursor − horizon, cursor) and not before the first start", () => {
    const cursor = new Date(Date.UTC(2025, 0, 1, 6));
    const rs = planRescan(cursor, { ...opts, rescanMinutes: 60 });
    expect(rs.map((w) => w.start.toISOString())).toEqual([
      "2025-01-01T05:00:00.000Z",
      "2025-01-01T05:15:00.000Z",
      "2025-01-01T05:30:00.000Z",
      "2025-01-01T05:45:00.000Z",
    ]);
    expect(planRescan(cursor, { ...opts, rescanMinutes: 60 }, new Date(Date.UTC(2025, 0, 1, 5, 40)))[0]!.start.toISOString()).toBe(
      "2025-01-01T05:40:00.000Z",
    );
    expect(planRescan(cursor, opts)).toEqual([]);
  });
});

describe("time parsing", () => {
  const now = Date.UTC(2025, 5, 1, 12, 0, 0);
  it.each([
    ["now", "2025-06-01T12:00:00.000Z"],
    ["10 minutes ago", "2025-06-01T11:50:00.000Z"],
    ["2 days ago", "2025-05-30T12:00:00.000Z"],
    ["-3h", "2025-06-01T09:00:00.000Z"],
    ["2025-01-01", "2025-01-01T00:00:00.000Z"],
    ["2025-01-01T10:00", "2025-01-01T10:00:00.000Z"],
    ["2025-01-01T10:00:00+02:00", "2025-01-01T08:00:00.000Z"],
  ])("%s", (text, iso) => expect(parseTime(text, now).toISOString()).toBe(iso));
  it("rejects nonsense with a config error", () => {
    expect(() => parseTime("yesterday-ish", now, "--start")).toThrow(/--start "yesterday-ish" is not a time/);
  });
});

describe("record mapper", () => {
  const w = { start: new Date("2025-01-01T10:00:00Z"), end: new Date("2025-01-01T10:15:00Z") };
  const row = {
    traceId: "T1",
    messageId: "<m@x>",
    received: "2025-01-01T10:05:23Z",
    sender: "A@Contoso.com",
    recipient: "B@Fabrikam.com",
    subject: "",
    size: 10,
    status: "filteredAsSpam",
    toIP: undefined,
    index: 3,
  };
  const m = new RecordMapper({ tenantId: "t", source: "graph", keyStyle: "flat", localDomains: ["contoso.com"] });
  it("normalises status spelling and passes unknown values through", () => {
    expect(normaliseStatus("filteredAsSpam")).toBe("FilteredAsSpam");
    expect(normaliseStatus("GETTINGSTATUS")).toBe("GettingStatus");
    expect(normaliseStatus("unknownFutureValue")).toBe("unknownFutureValue");
  });
  it("omits absent values, lower-cases addresses, derives direction", () => {
    const e = m.mapRow(row, w);
    // Identity (trace_id, recipient, status), status in any casing.
    expect(e.id).toBe("T1|b@fabrikam.com|filteredasspam");
    expect(m.mapRow({ ...row, status: "FilteredAsSpam" }, w).id).toBe(e.id);
    expect(m.mapRow({ ...row, status: "delivered" }, w).id).not.toBe(e.id);
    expect(e.record).toEqual({
      "o365.message.id": "<m@x>",
      "o365.message.trace_id": "T1",
      "o365.message.received": "2025-01-01T10:05:23.000Z",
      "o365.message.sender": "a@contoso.com",
      "o365.message.recipient": "b@fabrikam.com",
      "o365.message.size": 10,
      "o365.message.status": "FilteredAsSpam",
      "o365.message.index": 3,
      "o365.message.organization": "t",
      "o365.message.tenant_id": "t",
      "o365.message.source": "graph",
      "o365.message.window_start": "2025-01-01T10:00:00.000Z",
      "o365.message.window_end": "2025-01-01T10:15:00.000Z",
      "o365.message.direction": "outbound",
    });
    expect(m.direction("x@fabrikam.com", ["y@mail.contoso.com"])).toBe("inbound");
    expect(m.direction("x@contoso.com", ["y@contoso.com"])).toBe("internal");
    expect(m.direction("x@a.com", ["y@b.com"])).toBe("external");
    const none = new RecordMapper({ tenantId: "t", source: "rws", keyStyle: "flat", localDomains: [] });
    expect(none.mapRow(row, w).record["o365.message.direction"]).toBeUndefined();
  });
  it("nests keys on request", () => {
    expect(nest({ "o365.message.detail.event": "Deliver", "o365.message.id": "x" })).toEqual({
      o365: { message: { id: "x", detail: { event: "Deliver" } } },
    });
  });
});

describe("dedupe set", () => {
  it("remembers by identity and minute, prunes whole minutes, survives JSON", () => {
    const s = new SeenSet();
    const t = Date.UTC(2025, 0, 1, 10, 5, 30);
    expect(s.add("a|b", t)).toBe(true);
    expect(s.add("a|b", t)).toBe(false);
    expect(s.has("a|b", t + 10_000)).toBe(true);
    s.add("c|d", t + 2 * MIN);
    const copy = SeenSet.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect(copy.size).toBe(2);
    expect(copy.has("c|d", t + 2 * MIN)).toBe(true);
    copy.prune(t + MIN);
    expect(copy.has("a|b", t)).toBe(false);
    expect(copy.has("c|d", t + 2 * MIN)).toBe(true);
    expect(copy.size).toBe(1);
  });
});

describe("redaction", () => {
  it("scrubs registered secrets and credential-shaped text", () => {
    registerSecret("S3cr3t-value-xyz");
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJyb2xlcyI6W119.c2lnbmF0dXJl";
    const out = redact(
      `secret S3cr3t-value-xyz; Authorization: Bearer abc.def; tok ${jwt}; client_secret=hunter22&x=1; {"refresh_token":"0.AAA"}`,
    );
    expect(out).not.toContain("S3cr3t-value-xyz");
    expect(out).not.toContain(jwt);
    expect(out).not.toContain("hunter22");
    expect(out).not.toContain("0.AAA");
    expect(out).toContain("Bearer [REDACTED]");
  });
});

describe("config loading", () => {
  it("applies defaults, env overrides and ${VAR}, resolves paths relative to the file", () => {
    const dir = tempDir();
    const file = join(dir, "c.yaml");
    writeFileSync(file, "tenant_id: ${TENANT}\nauth: { client_id: abc }\nstate_dir: st\n");
    const c = loadConfig(file, { env: { TENANT: "contoso.onmicrosoft.com", O365_CLIENT_SECRET: "from-env-secret" } });
    expect(c.tenant_id).toBe("contoso.onmicrosoft.com");
    expect(c.auth.client_secret).toBe("from-env-secret");
    expect(c.state_dir).toBe(join(dir, "st"));
    expect([c.delay, c.window, c.frequency, c.source.type, c.sink.type, c.key_style, c.group_by]).toEqual([
      5,
      5,
      300,
      "graph",
      "stdout",
      "flat",
      "recipient",
    ]);
    expect(c.rescan).toEqual({ horizon: 1440, every: 1 });
  });
  it("accepts the old flat source keys and the nested form alike", () => {
    const flat = validateConfig({ tenant_id: "t", source: "graph", page_size: 40, format: "xml" });
    const nested = validateConfig({ tenant_id: "t", source: { type: "graph", page_size: 40 } });
    expect(flat.source).toEqual({ type: "graph", page_size: 40, graph_version: "v1.0" });
    expect(nested.source).toEqual(flat.source);
    expect(validateConfig({ tenant_id: "t", source: "rws", format: "xml", page_size: 40 }).source).toEqual({ type: "rws", format: "xml" });
    expect(validateConfig({ tenant_id: "t" }).source).toEqual({ type: "graph", page_size: 5000, graph_version: "v1.0" });
    expect(() => validateConfig({ tenant_id: "t", page_size: 0 })).toThrow(/source\.page_size = 0: .*>=1/);
    expect(() => validateConfig({ tenant_id: "t", source: { type: "rws", page_size: 10 } })).toThrow(
      /source: unknown key\(s\) "page_size"/,
    );
  });
  it("suggests the closest valid key for a mistyped one", () => {
    expect(() => validateConfig({ tenant_id: "t", windw: 5 })).toThrow(/unknown key\(s\) "windw" \(did you mean "window"\?\)/);
    expect(() => validateConfig({ tenant_id: "t", sink: { type: "forward", forward: { prot: 1 } } })).toThrow(
      /sink\.forward: unknown key\(s\) "prot" \(did you mean "port"\?\)/,
    );
    expect(() => validateConfig({ tenant_id: "t", source: { type: "graph", pagesize: 1 } })).toThrow(/did you mean "page_size"/);
    expect(() => validateConfig({ tenant_id: "t", source: "rsw" })).toThrow(
      /source = "rsw": Invalid option: expected one of "graph"\|"rws" \(did you mean "rws"\?\)/,
    );
    expect(() => validateConfig({ tenant_id: "t", zzzzzz: 1 })).toThrow(/unknown key\(s\) "zzzzzz"$/);
  });
  it("names the key, the value and the range; hides secret values", () => {
    expect(() => validateConfig({ tenant_id: "t", window: 0 })).toThrow(/window = 0: .*>=1/);
    expect(() => validateConfig({ tenant_id: "t", auth: { client_secret: 5 } })).toThrow(/auth\.client_secret = \[(hidden|REDACTED)\]/);
    expect(() => validateConfig({})).toThrow(/tenant_id is missing/);
  });
  it("reports YAML syntax errors with a position, and a missing ${VAR}", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "bad.yaml"), "tenant_id: [x\n");
    expect(() => loadConfig(join(dir, "bad.yaml"))).toThrow(/not valid YAML at line/);
    writeFileSync(join(dir, "env.yaml"), "tenant_id: ${NOPE_NOT_SET}\n");
    expect(() => loadConfig(join(dir, "env.yaml"), { env: {} })).toThrow(CollectorError);
  });
});

describe("state store", () => {
  it("commits atomically with mode 0600 and replays the journal, ignoring a torn last line", () => {
    const dir = join(tempDir(), "state");
    mkdirSync(dir);
    const store = new StateStore(dir, "contoso.onmicrosoft.com", "graph");
    const t = Date.UTC(2025, 0, 1);
    store.journal([
      { id: "a|1", time: t },
      { id: "b|2", time: t + MIN },
    ]);
    appendFileSync(store.journalFile, `${Math.floor(t / MIN)} abc`); // torn write
    const { state, seen } = store.load();
    expect(seen.size).toBe(2);
    expect(seen.has("a|1", t)).toBe(true);
    state.cursor = new Date(t + HOUR).toISOString();
    store.commit(state, seen);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    expect(readFileSync(store.journalFile, "utf8")).toBe("");
    const again = store.load();
    expect(again.state.cursor).toBe(state.cursor);
    expect(again.seen.has("b|2", t + MIN)).toBe(true);
  });
  it("removes temp files a killed writer left behind, once it holds the lock", () => {
    const dir = join(tempDir(), "state");
    mkdirSync(dir);
    const store = new StateStore(dir, "t", "graph");
    const stale = join(dir, `.${store.file.split("/").pop()}.tmp-999999`);
    writeFileSync(stale, "{half");
    const lock = store.lock();
    try {
      expect(existsSync(stale)).toBe(false);
    } finally {
      lock.release();
    }
  });
  it("refuses a corrupt state file with a clear error instead of starting over", () => {
    const dir = join(tempDir(), "state");
    mkdirSync(dir);
    const store = new StateStore(dir, "t", "graph");
    writeFileSync(store.file, "{not json");
    expect(() => store.load()).toThrow(/state file .* is not valid JSON/);
  });
});
