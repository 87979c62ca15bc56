// Issue 12: golden responses. test/fixtures/ holds bodies shaped exactly like Microsoft's published examples
// and other collectors' recorded responses (docs §5, see test/fixtures/README.md). A real loopback server
// serves them to the real sources through the real collector; the records produced are asserted exactly.
import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolvePaths, validateConfig } from "../src/config/load.js";
import { CollectorError } from "../src/errors.js";
import { createLogger } from "../src/log/logger.js";
import { createRuntime } from "../src/runtime.js";
import { ROOT, tempDir } from "./helpers/harness.js";

const fixture = (name: string) => readFileSync(join(ROOT, "test/fixtures", name), "utf8");
const P = "o365.message.";
const TENANT = "00000000-0000-4000-8000-00000000cafe";
// A JWT-shaped token whose `roles` claim grants the report permission (the classifier reads it for its hints).
const TOKEN = [
  "e30",
  Buffer.from(JSON.stringify({ roles: ["ExchangeMessageTrace.Read.All", "ReportingWebService.Read.All"] })).toString("base64url"),
  "sig",
].join(".");

type Mode = "data" | "zones" | "sp-missing" | "json-light" | "verbose" | "403" | "401-iis" | "signin";
let mode: Mode = "data";
let server: Server;
let base = "";
const seen: Array<{ path: string; query: URLSearchParams; headers: IncomingHttpHeaders }> = [];

function send(res: import("node:http").ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type }).end(body);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", base);
    const path = decodeURIComponent(url.pathname);
    seen.push({ path, query: url.searchParams, headers: req.headers });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(res, 400, "text/plain", "no token");
    if (/^\/v1\.0\/admin\/exchange\/tracing\/messageTraces$/.test(path)) {
      if (mode === "sp-missing") return send(res, 401, "application/json", fixture("graph-401-service-principal.json"));
      if (mode === "zones") {
        // The documented row with its time written in the other forms a DateTimeOffset can take.
        const page = JSON.parse(fixture("graph-list-page.json")) as { value: Array<Record<string, unknown>> };
        const row = page.value[0]!;
        const times = ["2025-06-13T10:31:00", "2025-06-13T10:32:00.1234567Z", "2025-06-13T12:33:00+02:00", "2025-06-13T10:34:00.5+00:00"];
        page.value = times.map((receivedDateTime, k) => ({ ...row, recipientAddress: `r${k}@contoso.com`, receivedDateTime }));
        return send(res, 200, "application/json", JSON.stringify(page));
      }
      return send(
        res,
        200,
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
        fixture("graph-list-page.json"),
      );
    }
    const details = /^\/v1\.0\/admin\/exchange\/tracing\/messageTraces\/([^/]+)\/getDetailsByRecipient\(recipientAddress='(.*)'\)$/.exec(
      path,
    );
    if (details) {
      if (details[1] === "5a1c3e20-7f4b-4c2d-9e11-0b6f2a9d4c71") return send(res, 200, "application/json", fixture("graph-details.json"));
      return send(res, 200, "application/json", '{"@odata.context":"x","value":[]}');
    }
    if (/^\/ecp\/reportingwebservice\/reporting\.svc\/messagetrace$/i.test(path)) {
      switch (mode) {
        case "json-light":
          // The fixture's next link is relative (`../../ReportingWebService/…`) with a numeric $skiptoken.
          return send(
            res,
            200,
            "application/json;odata=minimalmetadata;streaming=true;charset=utf-8",
            url.searchParams.get("$skiptoken") === "1"
              ? fixture("rws-json-light-empty-last-page.json")
              : fixture("rws-json-light-page1.json"),
          );
        case "verbose":
          return send(res, 200, "application/json;charset=utf-8", fixture("rws-verbose-json.json"));
        case "403":
          return send(res, 403, "application/json; charset=utf-8", fixture("rws-403-no-permission.json"));
        case "401-iis":
          return send(res, 401, "text/html", fixture("rws-401-iis.html"));
        case "signin":
          return send(res, 200, "text/html; charset=utf-8", fixture("rws-signin.html"));
      }
    }
    send(res, 404, "text/plain", `unexpected ${path}`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

/** One collector cycle over [start, start + 15 min) against the fixture server. */
async function run(m: Mode, source: "graph" | "rws", start: string, extra: Record<string, unknown> = {}) {
  mode = m;
  seen.length = 0;
  const dir = tempDir("o365mt-golden-");
  const config = resolvePaths(
    validateConfig({
      tenant_id: TENANT,
      source,
      format: "json",
      auth: { client_id: "11111111-2222-3333-4444-555555555555", client_secret: "unused" },
      endpoints: { graph: base, rws: `${base}/ecp/reportingwebservice/reporting.svc` },
      retry: { count: 0 },
      delay: 0,
      window: 15,
      start,
      max_windows_per_run: 1,
      local_domains: ["contoso.com"],
      state_dir: dir,
      log: { level: "error" },
      ...extra,
    }),
    dir,
  );
  const out = new PassThrough();
  let text = "";
  out.on("data", (c: Buffer) => (text += c.toString("utf8")));
  const tokens = { method: "test", getToken: async () => TOKEN };
  const rt = createRuntime(config, {
    logger: createLogger({ level: "error", write: () => {} }),
    stdout: out,
    tokens,
    clock: () => Date.parse(start) + 15 * 60_000,
  });
  try {
    const result = await rt.collector.runCycle().then(
      (r) => r,
      (e: unknown) => e as Error,
    );
    return {
      result,
      records: text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    };
  } finally {
    await rt.close();
  }
}

/** The fields every record of one source and tenant carries. */
const common = (source: string, organization: string) => ({
  [P + "organization"]: organization,
  [P + "tenant_id"]: TENANT,
  [P + "source"]: source,
});

describe("Graph: the documented list page and details", () => {
  const row1 = {
    [P + "id"]: "<0f2b9a7e-33c1-4d5e-8a90-1c2d3e4f5a6b@contoso.com>",
    [P + "trace_id"]: "5a1c3e20-7f4b-4c2d-9e11-0b6f2a9d4c71",
    [P + "received"]: "2025-06-13T10:30:00.000Z",
    [P + "sender"]: "alerts@contoso.com",
    [P + "subject"]: "Quarterly Report",
    [P + "size"]: 45678,
    [P + "status"]: "Delivered",
    [P + "from_ip"]: "203.0.113.10",
    [P + "index"]: 0,
    ...common("graph", TENANT),
    [P + "window_start"]: "2025-06-13T10:30:00.000Z",
    [P + "window_end"]: "2025-06-13T10:45:00.000Z",
    [P + "recipient"]: "pat@contoso.com",
  };
  const row2 = {
    [P + "id"]: "<a1b2c3d4-0000-4e5f-9a8b-7c6d5e4f3a2b@contoso.com>",
    [P + "trace_id"]: "9d3e2b1a-4c5d-4e6f-8a7b-1c2d3e4f5a60",
    [P + "received"]: "2025-06-13T10:44:59.000Z",
    [P + "sender"]: "kim.lee@contoso.com",
    [P + "subject"]: "Re: offer",
    [P + "size"]: 20311,
    [P + "window_start"]: "2025-06-13T10:30:00.000Z",
    [P + "window_end"]: "2025-06-13T10:45:00.000Z",
    ...common("graph", TENANT),
  };

  it('yields exactly these records: toIP "" omitted, whole seconds, JSON enum statuses normalised, recalled by name', async () => {
    const { result, records } = await run("data", "graph", "2025-06-13T10:30:00Z");
    expect(result).toMatchObject({ windows: 1, records: 3, duplicates: 0, cursor: "2025-06-13T10:45:00.000Z" });
    expect(records).toEqual([
      { ...row1, [P + "direction"]: "internal" },
      {
        ...row2,
        [P + "status"]: "Recalled",
        [P + "to_ip"]: "198.51.100.7",
        [P + "index"]: 1,
        [P + "recipient"]: "j.smith@fabrikam.com",
        [P + "direction"]: "outbound",
      },
      { ...row2, [P + "status"]: "GettingStatus", [P + "index"]: 2, [P + "recipient"]: "ana@contoso.com", [P + "direction"]: "internal" },
    ]);
    // Every Graph request asks for enum members added after the enum froze, with the documented filter form.
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.prefer).toBe("include-unknown-enum-members");
    expect(seen[0]!.query.get("$filter")).toBe(
      "receivedDateTime ge 2025-06-13T10:30:00.000Z and receivedDateTime le 2025-06-13T10:45:00.000Z",
    );
  });

  it("keeps detail events apart that share a whole-second dateTime, the event name, even every field", async () => {
    const { records } = await run("data", "graph", "2025-06-13T10:30:00Z", { details: true });
    const details = records.filter((r) => r[P + "detail.event"] !== undefined);
    const parent = { ...row1 };
    const ev = (date: string, event: string, description: string, data: string) => ({
      ...parent,
      [P + "detail.date"]: date,
      [P + "detail.event"]: event,
      [P + "detail.description"]: description,
      [P + "detail.data"]: data,
    });
    const rule = ev(
      "2025-06-13T10:30:05.000Z",
      "Transport rule",
      "Transport rule 'Add external disclaimer' was applied.",
      '<root><MEP Name="RuleId" String="1"/></root>',
    );
    expect(details).toEqual([
      ev(
        "2025-06-13T10:30:05.000Z",
        "Receive",
        "Message received by: AM6PR01MB1234.eurprd01.prod.outlook.com",
        '<root><MEP Name="ConnectorId" String="Default Frontend"/></root>',
      ),
      rule,
      rule,
      ev(
        "2025-06-13T10:30:10.000Z",
        "Deliver",
        "The message was successfully delivered.",
        '<root><MEP Name="DeliveryPriority" String="Normal"/></root>',
      ),
    ]);
    for (const s of seen) expect(s.headers.prefer).toBe("include-unknown-enum-members");
  });

  it("reads a zone-less time as UTC, 7 digits and offsets as the same instants, whatever the host's zone", async () => {
    // Under this suite's TZ (America/St_Johns) the platform parser would put the zone-less row 3.5 hours later,
    // outside the window: dropped. One parser for both APIs keeps it.
    const { records } = await run("zones", "graph", "2025-06-13T10:30:00Z");
    expect(records.map((r) => [r[P + "recipient"], r[P + "received"]])).toEqual([
      ["r0@contoso.com", "2025-06-13T10:31:00.000Z"],
      ["r1@contoso.com", "2025-06-13T10:32:00.123Z"],
      ["r2@contoso.com", "2025-06-13T10:33:00.000Z"],
      ["r3@contoso.com", "2025-06-13T10:34:00.500Z"],
    ]);
  });

  it("names the missing message trace service principal from the real 401, without retrying it", async () => {
    const { result } = await run("sp-missing", "graph", "2025-06-13T10:30:00Z");
    expect(result).toBeInstanceOf(CollectorError);
    expect(result).toMatchObject({ kind: "permission", code: "ServicePrincipalNotFound", status: 401 });
    expect((result as Error).message).toBe(
      "the Exchange message trace service principal (app 8bd644d1-64a1-4d4b-ae52-2e0cbf64e373) is not provisioned in this tenant",
    );
    expect(seen).toHaveLength(1);
  });
});

describe("the legacy report's real shapes", () => {
  it("JSON light: zone-less 7-digit Received is UTC, null IPs omitted, a relative next link to an empty last page", async () => {
    const { result, records } = await run("json-light", "rws", "2022-09-05T18:00:00Z");
    const win = { [P + "window_start"]: "2022-09-04T09:01:46.036Z", [P + "window_end"]: "2022-09-06T09:01:46.036Z" };
    expect(records).toEqual([
      {
        [P + "id"]: "<7d1e5a90c3b24f6e@eu.prod.example>",
        [P + "trace_id"]: "c1f0a2b3-1111-4222-8333-08da8f69e0f6",
        [P + "received"]: "2022-09-05T18:10:13.490Z",
        [P + "sender"]: "noreply@contoso.com",
        [P + "subject"]: "Role assigned",
        [P + "size"]: 87891,
        [P + "status"]: "Delivered",
        [P + "from_ip"]: "203.0.113.44",
        [P + "to_ip"]: "198.51.100.20",
        [P + "index"]: 0,
        ...common("rws", "contoso.com"),
        ...win,
        [P + "recipient"]: "kim@contoso.com",
        [P + "direction"]: "internal",
      },
      // Received far outside the queried window: the report's bounds are not Received times, so it is kept.
      {
        [P + "id"]: "<b9c0d1e2f3a4@mail.fabrikam.com>",
        [P + "trace_id"]: "d2e1b3c4-2222-4333-8444-08dab38f1a07",
        [P + "received"]: "2022-10-21T17:25:30.600Z",
        [P + "sender"]: "billing@fabrikam.com",
        [P + "subject"]: "Invoice",
        [P + "size"]: 4410,
        [P + "status"]: "FilteredAsSpam",
        [P + "index"]: 1,
        ...common("rws", "contoso.com"),
        ...win,
        [P + "recipient"]: "kim@contoso.com",
        [P + "direction"]: "inbound",
      },
    ]);
    expect(result).toMatchObject({ windows: 1, records: 2, cursor: "2022-09-05T18:15:00.000Z" });
    // `../../ReportingWebService/…` resolved against the request URL; the numeric $skiptoken as given.
    expect(seen.map((s) => s.path)).toEqual([
      "/ecp/reportingwebservice/reporting.svc/MessageTrace",
      "/ecp/ReportingWebService/Reporting.svc/MessageTrace",
    ]);
    expect(seen[1]!.query.get("$skiptoken")).toBe("1");
  });

  it("verbose JSON: /Date(ms)/ times, GettingStatus, null ToIP", async () => {
    const { records } = await run("verbose", "rws", "2022-07-25T12:15:00Z");
    const shared = {
      [P + "sender"]: "someone@example.org",
      [P + "from_ip"]: "192.0.2.1",
      ...common("rws", "contoso.onmicrosoft.com"),
      [P + "window_start"]: "2022-07-23T12:28:17.628Z",
      [P + "window_end"]: "2022-07-25T12:28:17.628Z",
      [P + "recipient"]: "lee@contoso.com",
      [P + "direction"]: "inbound",
    };
    expect(records).toEqual([
      {
        [P + "id"]: "<CAB12x9@mail.example.org>",
        [P + "trace_id"]: "e3f2c4d5-3333-4444-8555-08da6e3c2b18",
        [P + "received"]: "2022-07-25T12:26:13.240Z",
        [P + "subject"]: "Hello",
        [P + "size"]: 87680,
        [P + "status"]: "GettingStatus",
        [P + "index"]: 0,
        ...shared,
      },
      // Received before the window (12:10 < 12:15): kept, as the report returned it.
      {
        [P + "id"]: "<CAB12x8@mail.example.org>",
        [P + "trace_id"]: "f4a3d5e6-4444-4555-8666-08da6e3c2b18",
        [P + "received"]: "2022-07-25T12:10:01.000Z",
        [P + "subject"]: "Earlier",
        [P + "size"]: 1024,
        [P + "status"]: "Delivered",
        [P + "index"]: 1,
        ...shared,
      },
    ]);
  });

  it("the real 403 body names the missing Global Reader role", async () => {
    const { result } = await run("403", "rws", "2022-09-05T18:00:00Z");
    expect(result).toMatchObject({ kind: "permission", code: "MissingGlobalReaderRole", status: 403 });
    expect((result as Error).message).toBe(
      'the app has ReportingWebService.Read.All but lacks the Entra role Global Reader (or Security Reader) the report needs ("No permission to access the report for the organization .")',
    );
  });

  it("IIS's HTML 401 page is a refused credential (after one fresh token), not a glitch to retry", async () => {
    const { result } = await run("401-iis", "rws", "2022-09-05T18:00:00Z", {
      retry: { count: 2, backoff: { initial: 0, max: 0, jitter: 0 } },
    });
    expect(result).toMatchObject({ kind: "auth", code: "InvalidCredentials", status: 401 });
    expect((result as Error).message).toBe(
      'the Reporting Web Service refused the credentials (HTTP 401: "401 - Unauthorized: Access is denied due to invalid credentials.")',
    );
    expect(seen).toHaveLength(2);
  });

  it("the HTML sign-in page with HTTP 200 is a failed page, never rows", async () => {
    const { result, records } = await run("signin", "rws", "2022-09-05T18:00:00Z");
    expect(records).toEqual([]);
    expect(result).toMatchObject({ kind: "transient", code: "HtmlSignInPage", status: 200 });
    expect((result as Error).message).toMatch(
      /answered HTTP 200 with an HTML page \("Sign in to Outlook"\) instead of the MessageTrace report$/,
    );
  });
});
