// Issue 6: get-events (ISO and relative times, json/table, limit, cursor untouched), schema, and the
// cloud resolution table, through the real CLI against the simulator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { resolveEndpoints } from "../src/runtime.js";
import { graphSource } from "../src/sources/graph/index.js";
import { validateConfig } from "../src/config/load.js";
import { describeError } from "../src/errors.js";
import { FIELDS, PREFIX } from "../src/schema/fields.js";
import {
  compare,
  HOUR,
  MIN,
  parseNdjson,
  recordIds,
  runCli,
  simConfigInput,
  tempDir,
  truthIds,
  writeConfig,
  lastLogMessage,
  logEntries,
} from "./helpers/harness.js";

let sim: Simulator;
const NOW = Date.UTC(2026, 10, 22, 18, 0, 0);

beforeAll(async () => {
  sim = await startSimulator({ seed: 9, ratePerHour: 90 });
});
afterAll(async () => {
  await sim?.close();
});

describe("get-events", () => {
  it("relative times against the (pinned) clock, NDJSON records, and no state written", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir));
    const r = await runCli(["get-events", "--config", file, "--start", "2 hours ago", "--end", "10 minutes ago", "--limit", "0"], {
      env: { O365MT_NOW: new Date(NOW).toISOString() },
    });
    expect(r.code).toBe(0);
    const truth = sim.truth(new Date(NOW - 2 * HOUR), new Date(NOW - 10 * MIN));
    expect(truth.length).toBeGreaterThan(50);
    const got = parseNdjson(r.stdout);
    expect(compare(truthIds(truth), recordIds(got))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    expect(got[0]![PREFIX + "source"]).toBe("graph");
    expect(r.stderr).toContain(
      `${truth.length} record(s) received in [${new Date(NOW - 2 * HOUR).toISOString()}, ${new Date(NOW - 10 * MIN).toISOString()})`,
    );
    // Never touches the cursor: the state directory holds nothing.
    const stateDir = join(dir, "state");
    expect(existsSync(stateDir) ? readdirSync(stateDir) : []).toEqual([]);
  });

  it("ISO times, --limit and --format table (flat keys even when the config asks for nested)", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { key_style: "nested" }));
    const start = new Date(NOW - 3 * HOUR).toISOString();
    const end = new Date(NOW - 2 * HOUR).toISOString();
    const r = await runCli(["get-events", "--config", file, "--start", start, "--end", end, "--limit", "5", "--format", "table"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^received\s+status\s+sender\s+recipient\s+size\s+subject$/);
    expect(lines[1]).toMatch(/^-+ -+ -+ -+ -+ -+$/);
    expect(lines).toHaveLength(2 + 5);
    const truth = sim.truth(new Date(start), new Date(end));
    const times = new Set(truth.map((t) => new Date(t.receivedDateTime).toISOString()));
    for (const l of lines.slice(2)) expect(times.has(l.slice(0, 24))).toBe(true);
    expect(r.stderr).toContain("(stopped at --limit 5)");
  });

  it("bad input: one line, exit 2", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir));
    const bad = await runCli(["get-events", "--config", file, "--start", "yesterday-ish"]);
    expect(bad.code).toBe(2);
    expect(lastLogMessage(bad.stderr)).toMatch(/^config error: --start "yesterday-ish" is not a time — use ISO 8601/);
    const fmt = await runCli(["get-events", "--config", file, "--format", "xml"]);
    expect(fmt.code).toBe(2);
    expect(fmt.stderr.trim().split("\n")).toHaveLength(1);
    const order = await runCli(["get-events", "--config", file, "--start", "now", "--end", "1 hour ago"]);
    expect(order.stderr).toMatch(/is not before --end/);
  });
});

describe("schema", () => {
  it("prints the field table and a JSON Schema naming every field", async () => {
    const table = await runCli(["schema"]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^field\s+type\s+Graph\s+Reporting Web Service\s+notes$/);
    for (const f of FIELDS) expect(lines.some((l) => l.startsWith(PREFIX + f.name + " "))).toBe(true);
    const json = await runCli(["schema", "--json"]);
    const schema = JSON.parse(json.stdout);
    expect(Object.keys(schema.properties).sort()).toEqual(FIELDS.map((f) => PREFIX + f.name).sort());
    expect(schema.required).toContain(PREFIX + "received");
  });
});

describe("cloud resolution", () => {
  const base = { tenant_id: "contoso.onmicrosoft.com" };
  const table: Array<[string, string, string, string, string]> = [
    [
      "global",
      "https://login.microsoftonline.com",
      "https://graph.microsoft.com",
      "https://reports.office365.com/ecp/reportingwebservice/reporting.svc",
      "https://outlook.office365.com",
    ],
    [
      "gcc",
      "https://login.microsoftonline.com",
      "https://graph.microsoft.com",
      "https://reports.office365.com/ecp/reportingwebservice/reporting.svc",
      "https://outlook.office365.com",
    ],
    [
      "gcc-high",
      "https://login.microsoftonline.us",
      "https://graph.microsoft.us",
      "https://reports.office365.us/ecp/reportingwebservice/reporting.svc",
      "https://outlook.office365.us",
    ],
    [
      "dod",
      "https://login.microsoftonline.us",
      "https://dod-graph.microsoft.us",
      "https://webmail.apps.mil/ecp/reportingwebservice/reporting.svc",
      "https://webmail.apps.mil",
    ],
    [
      "china",
      "https://login.chinacloudapi.cn",
      "https://microsoftgraph.chinacloudapi.cn",
      "https://reports.partner.outlook.cn/ecp/reportingwebservice/reporting.svc",
      "https://partner.outlook.cn",
    ],
  ];
  it.each(table)("%s", (cloud, login, graph, rws, rwsResource) => {
    const config = validateConfig({ ...base, cloud, source: "rws" });
    expect(resolveEndpoints(config)).toEqual({ login, source: { base: rws, resource: rwsResource } });
    const graphOptions = validateConfig({ ...base, cloud }).source as Parameters<typeof graphSource.endpoint>[0];
    expect(graphSource.tokenResource(graphOptions, config.cloud)).toBe(graph);
    if (cloud === "global" || cloud === "gcc") expect(graphSource.endpoint(graphOptions, config.cloud)).toBe(graph);
  });

  it("endpoints.login and source.endpoint override the cloud's hosts", () => {
    const e = resolveEndpoints(
      validateConfig({
        ...base,
        cloud: "gcc-high",
        source: { type: "rws", endpoint: "https://rws.example.test/x" },
        endpoints: { login: "https://login.example.test" },
      }),
    );
    expect(e.login).toBe("https://login.example.test");
    expect(e.source.base).toBe("https://rws.example.test/x");
    expect(e.source.resource).toBe("https://outlook.office365.us");
    const g = resolveEndpoints(
      validateConfig({ ...base, cloud: "gcc-high", source: { type: "graph", endpoint: "https://graph.example.test" } }),
    );
    expect(g.source).toEqual({ base: "https://graph.example.test", resource: "https://graph.microsoft.us" });
  });

  it("the old endpoints.graph / .rws / .graph_version still work: moved into the chosen source, the other's dropped", () => {
    const input = {
      ...base,
      endpoints: {
        login: "https://login.example.test",
        graph: "https://graph.example.test",
        rws: "https://rws.example.test/x",
        graph_version: "beta",
      },
    };
    const graph = validateConfig(input);
    expect(graph.source).toEqual({ type: "graph", page_size: 5000, endpoint: "https://graph.example.test", graph_version: "beta" });
    expect(graph.endpoints).toEqual({ login: "https://login.example.test" });
    expect(validateConfig({ ...input, source: "rws" }).source).toEqual({
      type: "rws",
      format: "json",
      endpoint: "https://rws.example.test/x",
    });
    // Given both ways, the nested key wins; the caller's object is not changed.
    expect(validateConfig({ ...input, source: { type: "graph", endpoint: "https://new.example.test" } }).source).toMatchObject({
      endpoint: "https://new.example.test",
      graph_version: "beta",
    });
    expect(input.endpoints.graph).toBe("https://graph.example.test");
    expect(() => validateConfig({ ...base, endpoints: { graph: "not a url" } })).toThrow(/source\.endpoint = "not a url": Invalid URL/);
  });

  it.each(["gcc-high", "dod", "china"])("source graph is refused in %s with a clear line", (cloud) => {
    let err: unknown;
    try {
      resolveEndpoints(validateConfig({ ...base, cloud }));
    } catch (e) {
      err = e;
    }
    expect(describeError(err)).toBe(
      `config error: source graph is not offered in cloud ${cloud}: Graph message trace exists only in the global service — use source: rws for this cloud (or set source.endpoint if Microsoft has since added it)`,
    );
  });

  it("the CLI refuses graph in gcc-high with exit 2", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, { ...base, cloud: "gcc-high", state_dir: join(dir, "s") });
    const r = await runCli(["auth-test", "--config", file]);
    expect(r.code).toBe(2);
    expect(lastLogMessage(r.stderr)).toMatch(/^config error: source graph is not offered in cloud gcc-high/);
  });
});

describe("top level: typos, version, help", () => {
  it("a mistyped command names the closest one and exits 2", async () => {
    const r = await runCli(["bakfill"]);
    expect(r.code).toBe(2);
    expect(logEntries(r.stderr)).toHaveLength(1); // off a terminal: one JSON line, no usage text
    expect(lastLogMessage(r.stderr)).toBe(
      'unknown command "bakfill" (did you mean "backfill"?) — run o365-message-trace --help for the list',
    );
    const far = await runCli(["xyzzy"]);
    expect(lastLogMessage(far.stderr)).toBe('unknown command "xyzzy" — run o365-message-trace --help for the list');
    const flag = await runCli(["once", "--confg", "x.yaml"]);
    expect(flag.code).toBe(2);
    expect(lastLogMessage(flag.stderr)).toMatch(/^once: Unknown option '--confg'.* \(see: o365-message-trace once --help\)$/);
  });

  it("-V prints the version like --version", async () => {
    const [a, b] = await Promise.all([runCli(["-V"]), runCli(["--version"])]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(a.stdout).toBe(b.stdout);
  });

  it("help lists every command, the environment variables and the exit codes", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const cmd of [
      "run",
      "once",
      "backfill",
      "get-events",
      "auth-test",
      "login-url",
      "auth-code",
      "auth-reset",
      "schema",
      "demo",
      "simulate",
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^  ${cmd} `, "m"));
    }
    expect(r.stdout).toMatch(/^ {2}O365_CLIENT_SECRET +overrides auth\.client_secret$/m);
    expect(r.stdout).toMatch(/^ {2}O365_FORWARD_SHARED_KEY +overrides sink\.forward\.shared_key$/m);
    expect(r.stdout).toMatch(/^ {2}O365_CONFIG +/m);
    expect(r.stdout).toMatch(/^Exit codes: 0 ok .*1 runtime failure, 2 configuration or usage error\.$/m);
  });

  it("simulate is a command like the others: --help, and a bad flag value is one usage line, exit 2", async () => {
    const help = await runCli(["simulate", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: o365-message-trace simulate \[options\]/);
    const bad = await runCli(["simulate", "--port", "x"]);
    expect(bad.code).toBe(2);
    expect(lastLogMessage(bad.stderr)).toBe("config error: --port must be a number, got 'x' — see: o365-message-trace simulate --help");
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("a mistyped config key is one line naming the closest key", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, { tenant_id: "contoso.onmicrosoft.com", max_window_per_run: 3 });
    const r = await runCli(["once", "--config", file]);
    expect(r.code).toBe(2);
    expect(lastLogMessage(r.stderr)).toMatch(
      /unknown key\(s\) "max_window_per_run" \(did you mean "max_windows_per_run"\?\) — fix that key/,
    );
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});
