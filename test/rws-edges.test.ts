// Issue 3: edge cases of the report through the real collector, served by a small hand-written report
// server on 127.0.0.1 (exact bodies we control): null fields, entities and unicode in subjects, empty
// feeds and pages, and page boundaries exactly at the window edges — in Atom XML and in verbose JSON.
// (JSON light, numeric offsets and relative links: test/golden.test.ts.)
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolvePaths, validateConfig } from "../src/config/load.js";
import { createLogger } from "../src/log/logger.js";
import { createRuntime } from "../src/runtime.js";
import { tempDir } from "./helpers/harness.js";

const P = "o365.message.";
const T = Date.parse("2025-01-01T10:00:00Z");
const MIN = 60_000;

interface Row {
  name: string;
  at: number;
  subjectXml?: string | null; // raw XML text (entities as the service writes them); null = m:null
  subject?: string | null; // the same subject as JSON carries it
  toIP?: string | null;
  fromIP?: string | null;
  size?: number | null;
}

const SUBJECT_XML = "Q&amp;A &lt;tag&gt; &#x1F680; “smart” ÅÄÖ 会议 &amp;amp;";
const SUBJECT = "Q&A <tag> 🚀 “smart” ÅÄÖ 会议 &amp;";
const full = { toIP: "198.51.100.7", fromIP: "203.0.113.5", size: 100 };

// Pages per window start, newest first as the service pages. Edge rows: exactly `end` (belongs to the
// next window) and exactly `start`, each alone at a page boundary.
const PAGES: Record<number, Row[][]> = {
  [T]: [
    [
      { name: "A", at: T + 60 * MIN, ...full, subjectXml: "edge", subject: "edge" },
      { name: "B", at: T + 30 * MIN, subjectXml: null, subject: null, toIP: null, fromIP: null, size: null },
      { name: "C", at: T + 20 * MIN, ...full, subjectXml: SUBJECT_XML, subject: SUBJECT },
    ],
    [{ name: "D", at: T, ...full, subjectXml: "", subject: "" }],
    [],
  ],
  [T + 60 * MIN]: [
    [{ name: "E", at: T + 120 * MIN - 1, ...full, subjectXml: "last ms", subject: "last ms" }],
    [{ name: "A", at: T + 60 * MIN, ...full, subjectXml: "edge", subject: "edge" }],
  ],
  [T + 120 * MIN]: [[]],
};

const guid = (name: string) => `00000000-0000-4000-8000-0000000000${name.charCodeAt(0).toString(16)}`;

function xmlPage(rows: Row[], n0: number, lo: number, hi: number, next?: string): string {
  const iso = (ms: number) => new Date(ms).toISOString().replace("Z", ""); // Edm.DateTime without zone, as the service writes it
  const s = (k: string, v: string | null | undefined) =>
    v === null || v === undefined ? `<d:${k} m:null="true" />` : `<d:${k}>${v}</d:${k}>`;
  const entries = rows.map(
    (r, k) =>
      `<entry><id>MessageTrace(${n0 + k})</id><content type="application/xml"><m:properties>` +
      `<d:Organization>contoso.onmicrosoft.com</d:Organization><d:MessageId>&lt;${r.name}@contoso.com&gt;</d:MessageId>` +
      `<d:Received m:type="Edm.DateTime">${iso(r.at)}</d:Received><d:SenderAddress>Sender@Contoso.com</d:SenderAddress>` +
      `<d:RecipientAddress>${r.name}@fabrikam.com</d:RecipientAddress>${s("Subject", r.subjectXml)}<d:Status>Delivered</d:Status>` +
      `${s("ToIP", r.toIP)}${s("FromIP", r.fromIP)}` +
      (r.size === null ? `<d:Size m:type="Edm.Int32" m:null="true" />` : `<d:Size m:type="Edm.Int32">${r.size}</d:Size>`) +
      `<d:MessageTraceId m:type="Edm.Guid">${guid(r.name)}</d:MessageTraceId><d:StartDate m:type="Edm.DateTime">${iso(lo)}</d:StartDate>` +
      `<d:EndDate m:type="Edm.DateTime">${iso(hi)}</d:EndDate><d:Index m:type="Edm.Int64">${n0 + k}</d:Index></m:properties></content></entry>`,
  );
  return (
    `<?xml version="1.0" encoding="utf-8" standalone="yes"?><feed xml:base="http://${HOST}/ecp/ReportingWebService/Reporting.svc/" ` +
    `xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">` +
    `<title type="text">MessageTrace</title>${entries.join("")}${next ? `<link rel="next" href="${next.replace(/&/g, "&amp;")}" />` : ""}</feed>`
  );
}

function jsonPage(rows: Row[], n0: number, lo: number, hi: number, next?: string): string {
  const d = (ms: number) => `/Date(${ms})/`;
  const results = rows.map((r, k) => ({
    __metadata: { type: "TenantReporting.MessageTrace" },
    Organization: "contoso.onmicrosoft.com",
    MessageId: `<${r.name}@contoso.com>`,
    Received: d(r.at),
    SenderAddress: "Sender@Contoso.com",
    RecipientAddress: `${r.name}@fabrikam.com`,
    Subject: r.subject ?? null,
    Status: "Delivered",
    ToIP: r.toIP ?? null,
    FromIP: r.fromIP ?? null,
    Size: r.size ?? null,
    MessageTraceId: guid(r.name),
    StartDate: d(lo),
    EndDate: d(hi),
    Index: String(n0 + k),
  }));
  return JSON.stringify({ d: { results, ...(next ? { __next: next } : {}) } }).replace(/\//g, "\\/");
}

/** A window whose next link points at another host. */
const FOREIGN = T + 600 * MIN;

let server: Server;
let HOST = "";
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${HOST}`);
    requests.push(url.search);
    const m = /StartDate eq datetime'([^']+)' and EndDate eq datetime'([^']+)'/.exec(url.searchParams.get("$filter") ?? "");
    const lo = Date.parse(m?.[1] ?? "");
    const hi = Date.parse(m?.[2] ?? "");
    if (lo === FOREIGN) {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ d: { results: [], __next: "http://127.0.0.2:1/steal?$skiptoken=1" } }));
      return;
    }
    const pages = PAGES[lo];
    if (!pages || hi - lo !== 60 * MIN || req.headers.authorization !== "Bearer test.token.x") {
      res.writeHead(400, { "content-type": "application/xml" }).end(`<error><message>unexpected request ${url.search}</message></error>`);
      return;
    }
    const p = Number(url.searchParams.get("$skiptoken") ?? "0");
    const n0 = pages.slice(0, p).reduce((n, pg) => n + pg.length, 0);
    // Relative next links in XML (resolved against xml:base), absolute in JSON.
    const json = url.searchParams.get("$format") === "json";
    const rel = `MessageTrace?$filter=${encodeURIComponent(url.searchParams.get("$filter")!)}${json ? "&$format=json" : ""}&$skiptoken=${p + 1}`;
    const next = p + 1 < pages.length ? (json ? `http://${HOST}/ecp/ReportingWebService/Reporting.svc/${rel}` : rel) : undefined;
    const body = json ? jsonPage(pages[p]!, n0, lo, hi, next) : xmlPage(pages[p]!, n0, lo, hi, next);
    res
      .writeHead(200, { "content-type": json ? "application/json;charset=utf-8" : "application/atom+xml;type=feed;charset=utf-8" })
      .end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  HOST = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

async function run(format: "xml" | "json", start = T) {
  const dir = tempDir("o365mt-rws-edges-");
  const config = resolvePaths(
    validateConfig({
      tenant_id: "contoso.onmicrosoft.com",
      source: "rws",
      format,
      auth: { client_id: "11111111-2222-3333-4444-555555555555", client_secret: "unused" },
      endpoints: { rws: `http://${HOST}/ecp/reportingwebservice/reporting.svc` },
      retry: { count: 0 },
      delay: 0,
      window: 60,
      start: new Date(start).toISOString(),
      max_windows_per_run: 3,
      state_dir: dir,
      log: { level: "error" },
    }),
    dir,
  );
  const out = new PassThrough();
  let text = "";
  out.on("data", (c: Buffer) => (text += c.toString("utf8")));
  const tokens = { method: "test", getToken: async () => "test.token.x" };
  const rt = createRuntime(config, {
    logger: createLogger({ level: "error", write: () => {} }),
    stdout: out,
    tokens,
    clock: () => start + 3 * 60 * MIN,
  });
  try {
    const result = await rt.collector.runCycle();
    const records = text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { result, records };
  } finally {
    await rt.close();
  }
}

describe.each(["xml", "json"] as const)("report edge cases (%s)", (format) => {
  it("emits each row once in the window it belongs to, with nulls absent and subjects decoded", async () => {
    requests.length = 0;
    const { result, records } = await run(format);
    expect(result.windows).toBe(3);
    expect(result.cursor).toBe(new Date(T + 180 * MIN).toISOString());
    // Every page of every window was read, the empty ones included.
    expect(requests.length).toBe(6);
    const byName = new Map(records.map((r) => [String(r[P + "recipient"]).split("@")[0], r]));
    expect(records.map((r) => r[P + "recipient"])).toEqual([
      "a@fabrikam.com",
      "b@fabrikam.com",
      "c@fabrikam.com",
      "d@fabrikam.com",
      "e@fabrikam.com",
    ]);

    // The row at exactly 11:00 is in both windows' answers. The report's bounds are not Received times
    // (docs §5), so nothing it returns is dropped for its Received time: the first window delivers the row,
    // the second finds it a duplicate.
    expect(byName.get("a")).toMatchObject({
      [P + "received"]: "2025-01-01T11:00:00.000Z",
      [P + "window_start"]: "2025-01-01T10:00:00.000Z",
      [P + "window_end"]: "2025-01-01T11:00:00.000Z",
      [P + "index"]: 0,
    });
    expect(result.duplicates).toBe(1);
    expect(byName.get("d")).toMatchObject({
      [P + "received"]: "2025-01-01T10:00:00.000Z",
      [P + "window_start"]: "2025-01-01T10:00:00.000Z",
      [P + "index"]: 3,
    });
    expect(byName.get("e")![P + "received"]).toBe("2025-01-01T11:59:59.999Z");

    const b = byName.get("b")!;
    for (const k of ["subject", "to_ip", "from_ip", "size"]) expect(b, k).not.toHaveProperty(P + k);
    expect(byName.get("d")).not.toHaveProperty(P + "subject"); // empty subject: omitted, never ""
    expect(byName.get("c")).toMatchObject({
      [P + "subject"]: SUBJECT,
      [P + "size"]: 100,
      [P + "to_ip"]: "198.51.100.7",
      [P + "from_ip"]: "203.0.113.5",
      [P + "id"]: "<C@contoso.com>",
      [P + "sender"]: "sender@contoso.com",
      [P + "status"]: "Delivered",
      [P + "organization"]: "contoso.onmicrosoft.com",
      [P + "source"]: "rws",
      [P + "trace_id"]: guid("C"),
      [P + "index"]: 2,
    });
  });
});

describe("the same edge cases in both formats", () => {
  it("give identical records", async () => {
    const [x, j] = await Promise.all([run("xml"), run("json")]);
    expect(x.records).toEqual(j.records);
  });
});

describe("a next link to another host", () => {
  it("is refused before the token goes anywhere", async () => {
    const err = await run("json", FOREIGN).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /^the Reporting Web Service sent a next-page link to http:\/\/127\.0\.0\.2:1\/ but the query went to http:\/\/127\.0\.0\.1:\d+; refusing to send the access token there/,
    );
  });
});
