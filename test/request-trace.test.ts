// `log.requests: FILE`: one JSON line per API exchange for support cases; no secret or token ever in it.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { configureRequestTrace, safeBody, safeHeaders, safeUrl, traceRequest } from "../src/net/trace.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { HOUR, logEntries, runCli, simConfigInput, tempDir, writeConfig } from "./helpers/harness.js";

let sim: Simulator;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const env = { O365MT_NOW: new Date(T0 + 2 * HOUR).toISOString() };

beforeAll(async () => {
  sim = await startSimulator({ seed: 4, ratePerHour: 80 });
});
afterAll(async () => {
  await sim?.close();
});
afterEach(() => configureRequestTrace(undefined));

describe("request trace file (subprocess)", () => {
  it("is off by default", async () => {
    const dir = tempDir();
    const r = await runCli(
      ["once", "--config", writeConfig(dir, simConfigInput(sim, dir, { start: new Date(T0).toISOString(), max_windows_per_run: 1 }))],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "config.yaml"), "utf8")).not.toContain("requests");
    expect(existsSync(join(dir, "requests.jsonl"))).toBe(false);
  });

  it("logs token and Graph exchanges with status and duration, and no secret, token or credential header", async () => {
    const dir = tempDir();
    const input = simConfigInput(sim, dir, {
      start: new Date(T0).toISOString(),
      max_windows_per_run: 2,
      page_size: 20,
      log: { level: "debug", requests: "requests.jsonl" },
    });
    const r = await runCli(["once", "--config", writeConfig(dir, input)], { env });
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(dir, "requests.jsonl"), "utf8");
    expect((statSync(join(dir, "requests.jsonl")).mode & 0o777).toString(8)).toBe("600");
    const lines = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const token = lines.find((l) => l.request.method === "POST" && /\/oauth2\/v2\.0\/token(\?|$)/.test(l.request.url));
    expect(token, text.slice(0, 500)).toBeDefined();
    expect(token.response.status).toBe(200);
    expect(token.request.body).toMatch(/client_secret=\[REDACTED\]/);
    expect(token.request.body).toMatch(/grant_type=client_credentials/);
    const graph = lines.filter((l) => l.request.url.includes("messageTraces"));
    expect(graph.length).toBeGreaterThan(2);
    for (const l of graph) {
      expect(l.request.method).toBe("GET");
      expect(l.response.status).toBe(200);
      expect(l.duration_ms).toBeTypeOf("number");
      expect(l.request.headers.authorization).toBe("[REDACTED]");
      expect(l.response.body.length).toBeLessThanOrEqual(1025);
    }
    // The point of the test: nothing that could sign in is in the file.
    expect(text).not.toContain(sim.clientSecret);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/); // no JWT (access token)
    expect(text).not.toMatch(/Bearer\s+(?!\[REDACTED\])/i);
    // log.level debug: a short line per exchange in the log too, also clean.
    const debug = logEntries(r.stderr).filter((e) => e.msg === "api request");
    expect(debug.length).toBe(lines.length);
    expect(debug.find((e) => e.method === "POST")).toMatchObject({ level: "debug", status: 200, tenant: sim.tenantId, source: "graph" });
    expect(r.stderr).not.toContain(sim.clientSecret);
  });
});

describe("request trace pieces", () => {
  it("rotates at the size cap, keeping one old file", () => {
    const dir = tempDir();
    const file = join(dir, "trace.jsonl");
    configureRequestTrace({ file, maxBytes: 4096 });
    for (let i = 0; i < 40; i++)
      traceRequest("GET", `https://graph.example/v1.0/x?i=${i}`, {}, undefined)!.response(200, {}, "x".repeat(200));
    expect(existsSync(file + ".1")).toBe(true);
    expect(statSync(file).size).toBeLessThanOrEqual(4096);
    expect(statSync(file + ".1").size).toBeLessThanOrEqual(4096);
    const last = readFileSync(file, "utf8").trim().split("\n").pop()!;
    expect(JSON.parse(last).request.url).toBe("https://graph.example/v1.0/x?i=39");
  });

  it("censors credentials in URLs, headers and bodies", () => {
    expect(safeUrl("https://u:p@login.example/t?code=abc123&state=1&$skiptoken=next")).toBe(
      "https://login.example/t?code=[REDACTED]&state=1&$skiptoken=next",
    );
    expect(
      safeHeaders({ Authorization: "Bearer abc", Cookie: "a=b", "X-IDENTITY-HEADER": "mi-secret", Accept: "application/json" }),
    ).toEqual({ authorization: "[REDACTED]", cookie: "[REDACTED]", "x-identity-header": "[REDACTED]", accept: "application/json" });
    expect(safeBody("grant_type=refresh_token&refresh_token=0.AAA-opaque&client_assertion=x.y.z&scope=a b")).toBe(
      "grant_type=refresh_token&refresh_token=[REDACTED]&client_assertion=[REDACTED]&scope=a+b",
    );
    expect(safeBody('{"token_type":"Bearer","access_token":"opaque-token-value","refresh_token":"0.AAA"}')).not.toMatch(
      /opaque-token-value|0\.AAA/,
    );
    expect(safeBody("y".repeat(5000))!.length).toBe(1025);
  });
});
