// Issue 11: wrong-typed rows at the source boundary. A null item, a number where an object belongs, a numeric
// status, a size that is not a number, a receivedDateTime that is not a time, two rows with one identity:
// the window is still delivered (it must not fail on every run forever), every skipped row is counted and
// logged with its position (not its content), and kept in a bounded 0600 quarantine file in state_dir.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Quarantine } from "../src/cursor/quarantine.js";
import { createLogger } from "../src/log/logger.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { HOUR, MIN, parseNdjson, runCli, simConfigInput, tempDir, writeConfig } from "./helpers/harness.js";
import { graphItem, sendJson, startHostile, type HostileServer } from "./helpers/hostile-graph.js";

let sim: Simulator;
let graph: HostileServer;
let report: HostileServer;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);

const items = [
  graphItem(1, T0 + 1 * MIN),
  null,
  5,
  graphItem(2, T0 + 2 * MIN, { status: 3, subject: "secret-subject-2" }),
  graphItem(3, T0 + 3 * MIN, { size: "big" }),
  graphItem(4, T0 + 4 * MIN, { size: "1234" }), // a quoted number is still a number
  graphItem(5, T0 + 5 * MIN, { receivedDateTime: "yesterday" }),
  graphItem(6, T0 + 6 * MIN, { receivedDateTime: undefined }),
  graphItem(7, T0 + 7 * MIN),
  graphItem(7, T0 + 7 * MIN), // same identity twice on one page
];

// The same kinds of bad rows in the legacy report, in verbose JSON and in Atom XML.
function rwsItem(n: number, receivedMs: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    __metadata: { type: "TenantReporting.MessageTrace" },
    Organization: "contoso.onmicrosoft.com",
    MessageId: `<m${n}@contoso.com>`,
    Received: `/Date(${receivedMs})/`,
    SenderAddress: "sender@contoso.com",
    RecipientAddress: `r${n}@fabrikam.com`,
    Subject: `message ${n}`,
    Status: "Delivered",
    ToIP: null,
    FromIP: "203.0.113.1",
    Size: 1000 + n,
    MessageTraceId: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    StartDate: `/Date(${T0})/`,
    EndDate: `/Date(${T0 + HOUR})/`,
    Index: String(n),
    ...extra,
  };
}
const rwsItems = [
  rwsItem(1, T0 + 1 * MIN),
  null,
  5,
  rwsItem(2, T0 + 2 * MIN, { Status: 3, Subject: "secret-subject-2" }),
  rwsItem(3, T0 + 3 * MIN, { Size: "big" }),
  rwsItem(4, T0 + 4 * MIN, { Size: "1234" }),
  rwsItem(5, T0 + 5 * MIN, { Received: "yesterday" }),
  rwsItem(6, T0 + 6 * MIN, { Subject: { nested: "object" } }),
  rwsItem(7, T0 + 7 * MIN, { Received: undefined }),
  rwsItem(8, T0 + 8 * MIN),
];

const NS = `xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"`;
const atomProps = (
  n: number,
  ms: number,
  size = `<d:Size m:type="Edm.Int32">${1000 + n}</d:Size>`,
  received = new Date(ms).toISOString(),
) =>
  `<m:properties><d:MessageId>&lt;m${n}@contoso.com&gt;</d:MessageId><d:Received m:type="Edm.DateTime">${received}</d:Received>` +
  `<d:SenderAddress>sender@contoso.com</d:SenderAddress><d:RecipientAddress>r${n}@fabrikam.com</d:RecipientAddress><d:Subject>secret-subject-${n}</d:Subject>` +
  `<d:Status>Delivered</d:Status>${size}<d:MessageTraceId m:type="Edm.Guid">00000000-0000-4000-8000-${String(n).padStart(12, "0")}</d:MessageTraceId></m:properties>`;
const ATOM_ENTRIES = [
  atomProps(1, T0 + 1 * MIN),
  atomProps(2, T0 + 2 * MIN, `<d:Size m:type="Edm.Int32">12k</d:Size>`),
  atomProps(3, T0 + 3 * MIN, undefined, "yesterday"),
  "", // an <entry> without m:properties
  atomProps(4, T0 + 4 * MIN),
];
function atomFeed(entries: string[]): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?><feed ${NS}><title type="text">MessageTrace</title>` +
    entries.map((p) => `<entry><id>x</id><content type="application/xml">${p}</content></entry>`).join("") +
    `</feed>`
  );
}

beforeAll(async () => {
  sim = await startSimulator({ seed: 9, ratePerHour: 10 });
  graph = await startHostile((req, res) => {
    const first = /ge 2026-11-20T00:00:00/.test(req.url.searchParams.get("$filter") ?? "");
    sendJson(res, 200, { value: first ? items : [] });
  });
  report = await startHostile((req, res) => {
    const first = /StartDate eq datetime'2026-11-20T00:00:00/.test(req.url.searchParams.get("$filter") ?? "");
    if (req.url.searchParams.get("$format") === "json") sendJson(res, 200, { d: { results: first ? rwsItems : [] } });
    else res.writeHead(200, { "content-type": "application/atom+xml" }).end(atomFeed(first ? ATOM_ENTRIES : []));
  });
});
afterAll(async () => {
  await report?.close();
  await graph?.close();
  await sim?.close();
});

describe("defensive row parsing", () => {
  it("delivers the good rows, skips and quarantines the bad ones, logs positions, and the next run moves on", async () => {
    const dir = tempDir();
    const input = simConfigInput(sim, dir, { start: new Date(T0).toISOString(), window: 60, max_windows_per_run: 1 });
    input.endpoints = { login: sim.url, graph: graph.url };
    const file = writeConfig(dir, input);
    const env = { O365MT_NOW: new Date(T0 + 3 * HOUR).toISOString() };
    const r = await runCli(["once", "--config", file], { env });
    expect(r.stderr).not.toMatch(/TypeError|"level":"error"/);
    expect(r.code).toBe(0);
    const records = parseNdjson(r.stdout);
    expect(records.map((x) => x["o365.message.recipient"])).toEqual(["r1@fabrikam.com", "r4@fabrikam.com", "r7@fabrikam.com"]);
    expect(records[1]!["o365.message.size"]).toBe(1234);

    const warn = r.stderr.split("\n").find((l) => l.includes("cannot be mapped"));
    expect(warn).toBeDefined();
    const w = JSON.parse(warn!);
    expect(w.rejected).toBe(6);
    expect(w.quarantined).toBe(6);
    expect(w.first).toEqual([
      "page 0 row 1: the item is null, not an object",
      "page 0 row 2: the item is a number, not an object",
      "page 0 row 3: status is a number, not a string",
      "page 0 row 4: size is a string that is not a number",
      "page 0 row 6: receivedDateTime is not a time",
    ]);
    expect(r.stderr).not.toContain("secret-subject-2"); // positions, not content
    expect(r.stderr).toMatch(/rows with the same identity on one page: only the first was sent.*"count":1/);

    const q = join(dir, "state", `${sim.tenantId}.graph.quarantine.jsonl`);
    expect(statSync(q).mode & 0o777).toBe(0o600);
    const lines = readFileSync(q, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.position)).toEqual([1, 2, 3, 4, 6, 7]);
    expect(lines[2].row.subject).toBe("secret-subject-2");
    expect(lines[5].reason).toBe("receivedDateTime is missing");

    const next = await runCli(["once", "--config", file], { env });
    expect(next.code).toBe(0);
    expect(next.stderr).not.toMatch(/"level":"error"/);
  });

  it("the quarantine file stops growing at its bound; rows past it are still counted", () => {
    const dir = join(tempDir(), "state");
    const lines: string[] = [];
    const q = new Quarantine(dir, "t", "graph", createLogger({ level: "warn", write: (l) => void lines.push(l) }), 2000);
    const w = { start: new Date(T0), end: new Date(T0 + HOUR) };
    for (let p = 0; p < 10; p++)
      q.reject("graph", w, [{ page: p, position: 0, reason: "status is a number, not a string", raw: graphItem(p, T0, { status: 1 }) }]);
    expect(statSync(q.file).size).toBeLessThanOrEqual(2000);
    expect(q.total).toBe(10);
    expect(lines.filter((l) => l.includes("quarantine file is full"))).toHaveLength(1);
    expect(JSON.parse(lines.at(-1)!).rejected_total).toBe(10);
  });
});

describe("defensive row parsing in the legacy report (the same mechanism as Graph's)", () => {
  async function once(format: "json" | "xml") {
    const dir = tempDir();
    const input = simConfigInput(sim, dir, {
      source: "rws",
      format,
      start: new Date(T0).toISOString(),
      window: 60,
      max_windows_per_run: 1,
    });
    input.endpoints = { login: sim.url, rws: `${report.url}/ecp/reportingwebservice/reporting.svc` };
    const file = writeConfig(dir, input);
    const r = await runCli(["once", "--config", file], { env: { O365MT_NOW: new Date(T0 + 3 * HOUR).toISOString() } });
    const q = join(dir, "state", `${sim.tenantId}.rws.quarantine.jsonl`);
    return { r, q, file };
  }

  it("JSON: a null, a number, a numeric status, a size or Received that is not one, an object for a field: rejected per row, the page delivered", async () => {
    const { r, q } = await once("json");
    expect(r.stderr).not.toMatch(/not a usable MessageTrace report|"level":"error"/);
    expect(r.code, r.stderr).toBe(0);
    const records = parseNdjson(r.stdout);
    expect(
      records.map((x) => x["o365.message.recipient"]),
      r.stderr,
    ).toEqual(["r1@fabrikam.com", "r4@fabrikam.com", "r8@fabrikam.com"]);
    expect(records[1]!["o365.message.size"]).toBe(1234);
    const w = JSON.parse(r.stderr.split("\n").find((l) => l.includes("cannot be mapped"))!);
    expect([w.source, w.rejected, w.quarantined]).toEqual(["rws", 7, 7]);
    expect(w.first).toEqual([
      "page 0 row 1: the entry is null, not an object",
      "page 0 row 2: the entry is a number, not an object",
      "page 0 row 3: status is a number, not a string",
      "page 0 row 4: size is a string that is not a number",
      "page 0 row 6: received is not a time",
    ]);
    expect(r.stderr).not.toContain("secret-subject-2");
    expect(statSync(q).mode & 0o777).toBe(0o600);
    const lines = readFileSync(q, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.position)).toEqual([1, 2, 3, 4, 6, 7, 8]);
    expect(lines[0].row).toBeNull();
    expect(lines[2].row.Subject).toBe("secret-subject-2");
    expect(lines[5].reason).toBe("Subject is an object, not a value");
    expect(lines[6].reason).toBe("received is missing");
  });

  it("Atom: a value that does not fit its m:type, an entry without properties: rejected per row, the page delivered", async () => {
    const { r, q, file } = await once("xml");
    expect(r.stderr).not.toMatch(/not a usable MessageTrace report|"level":"error"/);
    expect(r.code, r.stderr).toBe(0);
    expect(parseNdjson(r.stdout).map((x) => x["o365.message.recipient"])).toEqual(["r1@fabrikam.com", "r4@fabrikam.com"]);
    const lines = readFileSync(q, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => `${l.position}: ${l.reason}`)).toEqual([
      '1: Size is Edm.Int32 but holds "12k"',
      '2: Received is Edm.DateTime but holds "yesterday"',
      "3: an <entry> with 0 m:properties elements",
    ]);
    expect(lines[0].row.Size).toBe("12k");
    expect(r.stderr).not.toContain("secret-subject");
    // The window was committed: the next run moves on.
    const next = await runCli(["once", "--config", file], { env: { O365MT_NOW: new Date(T0 + 3 * HOUR).toISOString() } });
    expect(next.code).toBe(0);
    expect(next.stdout).toBe("");
  });
});
