// Issue 3: the Reporting Web Service readers on hand-made bodies — Atom typing, namespaces, entities,
// nulls, empty feeds, both JSON shapes, garbage that must fail the page — and the one-sentence errors.
import { describe, expect, it } from "vitest";
import { CollectorError, describeError } from "../src/errors.js";
import { parseAtom } from "../src/sources/rws/atom.js";
import { classifyRws, serviceMessage } from "../src/sources/rws/classify.js";
import { datetimeLiteral, windowUrl } from "../src/sources/rws/filter.js";
import { parseRwsJson } from "../src/sources/rws/json.js";
import { entryToRow, parseRwsBody } from "../src/sources/rws/rws-source.js";
import { odataTime, UnreadableEntry, type RwsEntry, type RwsPage } from "../src/sources/rws/values.js";
import type { TraceRow } from "../src/types.js";

/** The page's entry at `i`, which must be readable. */
function entryAt(page: RwsPage, i: number): RwsEntry {
  const e = page.entries[i];
  if (e === undefined || e instanceof UnreadableEntry)
    throw new Error(`entry ${i} is ${e instanceof UnreadableEntry ? `unreadable: ${e.reason}` : "missing"}`);
  return e;
}

/** The row of an entry, which must map. */
function rowOf(e: RwsEntry | UnreadableEntry): TraceRow {
  const row = entryToRow(e);
  if (typeof row === "string") throw new Error(`not a row: ${row}`);
  return row;
}

const PAGE = "https://reports.example/ecp/reportingwebservice/reporting.svc/MessageTrace?$filter=x";
const NS = `xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"`;

function feed(entries: string[], tail = "", attrs = NS): string {
  const e = entries.map((p) => `<entry><id>x</id><content type="application/xml"><m:properties>${p}</m:properties></content></entry>`);
  return `<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<feed xml:base="https://reports.example/ecp/ReportingWebService/Reporting.svc/" ${attrs}>\n  <title type="text">MessageTrace</title>\n  ${e.join("\n  ")}\n  ${tail}\n</feed>`;
}

const FULL = `
  <d:Organization>contoso.onmicrosoft.com</d:Organization>
  <d:MessageId>&lt;abc@contoso.com&gt;</d:MessageId>
  <d:Received m:type="Edm.DateTime">2025-01-01T10:05:23.1234567</d:Received>
  <d:SenderAddress>A@Contoso.com</d:SenderAddress>
  <d:RecipientAddress>b@fabrikam.com</d:RecipientAddress>
  <d:Subject>Q&amp;A &lt;b&gt; &quot;x&quot; &#233;&#x1F680; 会议 &amp;amp;</d:Subject>
  <d:Status>Delivered</d:Status>
  <d:ToIP m:null="true" />
  <d:FromIP>203.0.113.5</d:FromIP>
  <d:Size m:type="Edm.Int32">012345</d:Size>
  <d:MessageTraceId m:type="Edm.Guid">4fad60af-a610-4474-853e-c44e4a7458fc</d:MessageTraceId>
  <d:StartDate m:type="Edm.DateTime">2025-01-01T10:00:00Z</d:StartDate>
  <d:EndDate m:type="Edm.DateTime">2025-01-01T11:00:00Z</d:EndDate>
  <d:Index m:type="Edm.Int64">7</d:Index>`;

describe("Atom reader", () => {
  it("types values by m:type, decodes entities and unicode, maps m:null to absent", () => {
    const page = parseAtom(feed([FULL]), PAGE);
    expect(page.next).toBeUndefined();
    expect(page.entries).toHaveLength(1);
    const e = entryAt(page, 0);
    expect(e.size).toBe(12345);
    expect(e.index).toBe(7);
    expect(e.toip).toBeNull();
    expect(e.received).toBe("2025-01-01T10:05:23.123Z"); // no zone = UTC; 7 fraction digits cut to ms
    expect(e.subject).toBe('Q&A <b> "x" é🚀 会议 &amp;'); // decoded exactly once
    const row = rowOf(e);
    expect(row).toEqual({
      traceId: "4fad60af-a610-4474-853e-c44e4a7458fc",
      messageId: "<abc@contoso.com>",
      received: "2025-01-01T10:05:23.123Z",
      sender: "A@Contoso.com",
      recipient: "b@fabrikam.com",
      subject: 'Q&A <b> "x" é🚀 会议 &amp;',
      size: 12345,
      status: "Delivered",
      fromIP: "203.0.113.5",
      toIP: undefined,
      index: 7,
      organization: "contoso.onmicrosoft.com",
      windowStart: "2025-01-01T10:00:00.000Z",
      windowEnd: "2025-01-01T11:00:00.000Z",
    });
  });

  it("treats nulls, empty elements and missing properties as absent, keeps whitespace in subjects", () => {
    const e = parseAtom(
      feed([
        `<d:Received m:type="Edm.DateTime">2025-01-01T10:00:00Z</d:Received><d:Subject>  two  spaces </d:Subject><d:FromIP/><d:Status m:null="true"></d:Status><d:Size m:type="Edm.Int32" m:null="true" />`,
      ]),
      PAGE,
    );
    const row = rowOf(entryAt(e, 0));
    expect(row.subject).toBe("  two  spaces ");
    expect(row.fromIP).toBeUndefined();
    expect(row.status).toBeUndefined();
    expect(row.size).toBeUndefined();
    expect(row.recipient).toBeUndefined();
    expect(entryToRow({ subject: "no time" })).toBe("received is missing");
  });

  it("resolves namespaces by URI, not by the conventional prefixes", () => {
    const other = `xmlns:a="http://www.w3.org/2005/Atom" xmlns:x="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"`;
    const body =
      `<a:feed ${other}><a:entry><a:content><x:properties xmlns:p="http://schemas.microsoft.com/ado/2007/08/dataservices">` +
      `<p:Received x:type="Edm.DateTime">2025-01-01T10:00:00Z</p:Received><p:Size x:type="Edm.Int32">5</p:Size><p:ToIP x:null="true"/>` +
      // Same local name in a foreign namespace: not a MessageTrace property.
      `<q:Size xmlns:q="urn:other">999</q:Size></x:properties></a:content></a:entry>` +
      `<a:link rel="next" href="MessageTrace?$skiptoken=A%2BB&amp;$format=json"/></a:feed>`;
    const page = parseAtom(body, PAGE);
    expect(page.entries).toEqual([{ received: "2025-01-01T10:00:00.000Z", size: 5, toip: null }]);
    // No xml:base here: relative to the page URL.
    expect(page.next).toBe("https://reports.example/ecp/reportingwebservice/reporting.svc/MessageTrace?$skiptoken=A%2BB&$format=json");
  });

  it("reads an empty feed and resolves the next link against xml:base", () => {
    expect(parseAtom(feed([]), PAGE)).toEqual({ entries: [], next: undefined });
    const page = parseAtom(feed([], `<link rel="self" href="MessageTrace"/><link rel="next" href="MessageTrace?$skiptoken=abc"/>`), PAGE);
    expect(page.next).toBe("https://reports.example/ecp/ReportingWebService/Reporting.svc/MessageTrace?$skiptoken=abc");
  });

  it("a value that does not fit its type is that entry's problem, not the page's (issue 11)", () => {
    const page = parseAtom(
      feed([
        `<d:Received m:type="Edm.DateTime">yesterday</d:Received>`,
        FULL,
        `<d:Received m:type="Edm.DateTime">2025-01-01T10:00:00Z</d:Received><d:Size m:type="Edm.Int32">12k</d:Size>`,
      ]),
      PAGE,
    );
    expect(page.entries.map((e) => (e instanceof UnreadableEntry ? e.reason : "ok"))).toEqual([
      'Received is Edm.DateTime but holds "yesterday"',
      "ok",
      'Size is Edm.Int32 but holds "12k"',
    ]);
    expect(page.raws![2]).toMatchObject({ Size: "12k" });
  });

  it("fails the page on truncated XML, a wrong root, a DTD", () => {
    const whole = feed([FULL, FULL]);
    const bad = [
      whole.slice(0, Math.floor(whole.length / 2)),
      whole.slice(0, whole.lastIndexOf("</feed>")),
      `<?xml version="1.0"?><error xmlns="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><message>x</message></error>`,
      `<feed xmlns="urn:not-atom"><entry/></feed>`,
      `<!DOCTYPE feed [<!ENTITY a "aaaa">]>` + feed([]),
      "",
    ];
    for (const body of bad) {
      const err = (() => {
        try {
          parseAtom(body, PAGE);
        } catch (e) {
          return e;
        }
      })();
      expect(err, body.slice(0, 60)).toBeInstanceOf(CollectorError);
      expect((err as CollectorError).kind).toBe("transient");
      expect((err as CollectorError).message).toMatch(
        /^the Reporting Web Service returned a page that is not a usable MessageTrace report/,
      );
    }
  });
});

describe("JSON reader", () => {
  const item = {
    __metadata: { id: "x", uri: "x", type: "TenantReporting.MessageTrace" },
    Organization: "contoso.onmicrosoft.com",
    MessageId: "<abc@contoso.com>",
    Received: "/Date(1735725923123)/",
    SenderAddress: "a@contoso.com",
    RecipientAddress: "b@fabrikam.com",
    Subject: "Q&A 🚀",
    Status: "FilteredAsSpam",
    ToIP: null,
    FromIP: "203.0.113.5",
    Size: 12345,
    MessageTraceId: "4fad60af-a610-4474-853e-c44e4a7458fc",
    StartDate: "/Date(1735725600000)/",
    EndDate: "/Date(1735729200000+0000)/",
    Index: "3",
  };

  it("reads verbose v2 with /Date(ms)/ and string Int64, and JSON light v3, to the same row", () => {
    const v2 = parseRwsJson(JSON.stringify({ d: { results: [item], __next: "MessageTrace?$skiptoken=2" } }).replace(/\//g, "\\/"), PAGE);
    expect(v2.next).toBe("https://reports.example/ecp/reportingwebservice/reporting.svc/MessageTrace?$skiptoken=2");
    const light = {
      ...item,
      Received: "2025-01-01T10:05:23.123",
      StartDate: "2025-01-01T10:00:00Z",
      EndDate: "2025-01-01T11:00:00Z",
      Index: 3,
      "Received@odata.type": "Edm.DateTime",
    };
    delete (light as Record<string, unknown>).__metadata;
    const v3 = parseRwsJson(JSON.stringify({ "odata.metadata": "x", value: [light], "odata.nextLink": "https://reports.example/n" }), PAGE);
    expect(v3.next).toBe("https://reports.example/n");
    const r2 = rowOf(entryAt(v2, 0));
    expect(r2).toEqual(rowOf(entryAt(v3, 0)));
    expect(r2).toMatchObject({
      received: "2025-01-01T10:05:23.123Z",
      index: 3,
      size: 12345,
      toIP: undefined,
      windowEnd: "2025-01-01T11:00:00.000Z",
    });
    expect(parseRwsJson(JSON.stringify({ d: [] }), PAGE)).toEqual({ entries: [], next: undefined });
    expect(parseRwsJson(JSON.stringify({ value: [] }), PAGE)).toEqual({ entries: [], next: undefined });
  });

  it("fails the page on truncated JSON or JSON of another shape", () => {
    const whole = JSON.stringify({ d: { results: [item, item] } });
    for (const body of [whole.slice(0, whole.length - 5), "{}", '{"d":{"results":"no"}}', '{"value":[],"odata.nextLink":5}', "[]"]) {
      expect(() => parseRwsJson(body, PAGE), body).toThrow(/not a usable MessageTrace report/);
    }
  });

  it("an entry that is not an object, or a field holding an object, is that entry's problem, not the page's (issue 11)", () => {
    const page = parseRwsJson(
      JSON.stringify({
        value: [1, null, item, { ...item, Subject: ["a"] }, { ...item, Nav: { __deferred: { uri: "x" } }, Extra: { x: 1 } }],
      }),
      PAGE,
    );
    expect(page.entries.map((e) => (e instanceof UnreadableEntry ? e.reason : "ok"))).toEqual([
      "the entry is a number, not an object",
      "the entry is null, not an object",
      "ok",
      "Subject is an array, not a value",
      "ok",
    ]);
    expect(entryToRow({ ...entryAt(page, 2), status: 3, size: "big" })).toBe(
      "size is a string that is not a number; status is a number, not a string",
    );
  });

  it("reads whichever format the body is in, and refuses an HTML page", () => {
    const res = (body: string, ct = "application/json") => ({ status: 200, headers: { "content-type": ct }, body });
    expect(parseRwsBody(res(feed([FULL]), "application/json"), PAGE).entries).toHaveLength(1);
    expect(parseRwsBody(res(JSON.stringify({ value: [] }), "application/atom+xml"), PAGE).entries).toHaveLength(0);
    const html = `<!DOCTYPE html><html><head><title>Sign in to Outlook</title></head><body><form></form></body></html>`;
    for (const r of [res(html, "text/html; charset=utf-8"), res(html, "application/atom+xml")]) {
      const err = (() => {
        try {
          parseRwsBody(r, PAGE);
        } catch (e) {
          return e as CollectorError;
        }
      })()!;
      expect(err.kind).toBe("transient");
      expect(err.message).toBe(
        'the Reporting Web Service at https://reports.example/ecp/reportingwebservice/reporting.svc/MessageTrace answered HTTP 200 with an HTML page ("Sign in to Outlook") instead of the MessageTrace report',
      );
    }
  });
});

describe("query and values", () => {
  it("asks StartDate=start and EndDate=end (both inclusive on the service; the collector drops end)", () => {
    const w = { start: new Date("2025-01-01T10:00:00Z"), end: new Date("2025-01-01T11:00:00.250Z") };
    const u = new URL(windowUrl("https://h/ecp/reportingwebservice/reporting.svc/", w, "json"));
    expect(u.pathname).toBe("/ecp/reportingwebservice/reporting.svc/MessageTrace");
    expect(u.searchParams.get("$filter")).toBe(
      "StartDate eq datetime'2025-01-01T10:00:00Z' and EndDate eq datetime'2025-01-01T11:00:00.250Z'",
    );
    expect(u.searchParams.get("$format")).toBe("json");
    expect(u.searchParams.has("$top")).toBe(false);
    expect(new URL(windowUrl("https://h/r.svc", w, "xml")).searchParams.has("$format")).toBe(false);
    expect(datetimeLiteral(new Date(0))).toBe("datetime'1970-01-01T00:00:00Z'");
  });

  it("reads every DateTime spelling as UTC", () => {
    expect(odataTime("/Date(0)/")).toBe("1970-01-01T00:00:00.000Z");
    expect(odataTime("2025-01-01T10:00")).toBe("2025-01-01T10:00:00.000Z");
    expect(odataTime("2025-01-01T12:00:00+02:00")).toBe("2025-01-01T10:00:00.000Z");
    expect(odataTime("2025-01-01T10:00:00.5z")).toBe("2025-01-01T10:00:00.500Z");
    expect(odataTime("soon")).toBeUndefined();
  });
});

describe("error sentences", () => {
  const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;
  const xmlErr = (m: string) =>
    `<?xml version="1.0" encoding="utf-8"?><error xmlns="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><code></code><message xml:lang="en-US">${m}</message></error>`;
  const classify = (status: number, body: string, token = jwt({ roles: ["ReportingWebService.Read.All"] })) =>
    classifyRws({ status, headers: {}, body }, PAGE, token)!;

  it("names the missing role or permission for 'No permission to access the report'", () => {
    const noRole = classify(403, xmlErr("No permission to access the report for the organization."));
    expect(noRole.kind).toBe("permission");
    expect(noRole.message).toMatch(
      /^the app has ReportingWebService.Read.All but lacks the Entra role Global Reader \(or Security Reader\)/,
    );
    const noPerm = classify(
      403,
      JSON.stringify({
        error: { code: "", message: { lang: "en-US", value: "No permission to access the report for the organization." } },
      }),
      jwt({ roles: [] }),
    );
    expect(noPerm.message).toMatch(
      /^the app lacks the Exchange Online application permission ReportingWebService.Read.All \(token roles: none/,
    );
    expect(noPerm.hint).toMatch(/grant admin consent/);
    expect(classify(500, xmlErr("No permission to access the report for the organization.")).kind).toBe("permission");
  });

  it("classifies 401, the expired refresh token, 404, 400 and the transient statuses", () => {
    const e401 = classify(
      401,
      JSON.stringify({
        "odata.error": { code: "", message: { lang: "en-US", value: "Lifetime validation failed, the token is expired." } },
      }),
    );
    expect([e401.kind, e401.message]).toEqual([
      "auth",
      "the Reporting Web Service rejected the access token (HTTP 401: Lifetime validation failed, the token is expired.)",
    ]);
    const refresh = classify(400, xmlErr("AADSTS70008: The provided authorization code or refresh token has expired due to inactivity."));
    expect(refresh.kind).toBe("auth");
    expect(refresh.message).toMatch(/^the sign-in behind this collector has expired/);
    expect(classify(404, "").kind).toBe("config");
    const range = classify(400, xmlErr("StartDate is older than 10 days. Use a historical search for older data."));
    // A refused range is explained and not retried at once, but does not stop `run` (kind "rejected").
    expect([range.kind, range.code, range.message]).toEqual([
      "rejected",
      "QueryRejected",
      "the Reporting Web Service rejected the query (HTTP 400: StartDate is older than 10 days. Use a historical search for older data.)",
    ]);
    expect(range.hint).toMatch(/at most 10 days within the last 10 days/);
    expect(classify(503, "").kind).toBe("transient");
    expect(classify(429, "").retryAfter).toBe(30);
    expect(classify(200, "")).toBeUndefined();
    const html = classify(401, "<html><head><title>Sign in to Outlook</title></head></html>");
    expect(html.code).toBe("HtmlSignInPage");
    expect(describeError(e401)).toMatch(
      /^auth error: the Reporting Web Service rejected the access token \(HTTP 401: .*\) — a freshly fetched token/,
    );
  });

  it("extracts the service's text from each error dialect", () => {
    expect(serviceMessage(xmlErr("A &amp; B &lt;c&gt;"))).toBe("A & B <c>");
    expect(serviceMessage('{"error":{"message":{"value":"v2"}}}')).toBe("v2");
    expect(serviceMessage('{"odata.error":{"message":{"value":"v3"}}}')).toBe("v3");
    expect(serviceMessage("plain")).toBeUndefined();
  });
});
