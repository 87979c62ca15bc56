// Logs a pipeline can read: every stderr line one JSON object (or text when asked), the level from the
// environment, tenant and source on every line, secrets censored by key and by value.
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/log/logger.js";
import { registerSecret } from "../src/log/redact.js";
import { renderText } from "../src/log/text-format.js";
import { validateConfig } from "../src/config/load.js";
import { parseDurationMs } from "../src/config/duration.js";
import { logEntries, runCli, tempDir, writeConfig } from "./helpers/harness.js";

describe("logger", () => {
  it("writes one JSON object per line: time, level, msg, fields, then tenant and source", () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => void lines.push(l), base: { tenant: "contoso", source: "graph" } });
    log.info("window delivered", { records: 3 });
    log.child({ route: "rws" }).warn("retrying", { error: new Error("boom") });
    log.debug("hidden at info");
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
    expect(Object.keys(JSON.parse(lines[0]!))).toEqual(["time", "level", "msg", "records", "tenant", "source"]);
    expect(JSON.parse(lines[1]!)).toMatchObject({
      level: "warn",
      msg: "retrying",
      route: "rws",
      error: { name: "Error", message: "boom" },
      tenant: "contoso",
      source: "graph",
    });
  });

  it("censors secret keys whatever their value, and known secret values anywhere", () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => void lines.push(l) });
    registerSecret("Very~Secret~Value~42");
    log.info("request", {
      headers: { authorization: "Basic dXNlcjpwYXNz", cookie: "session=abc" },
      client_secret: "short1",
      note: "the secret is Very~Secret~Value~42",
    });
    const text = lines.join("");
    expect(text).not.toContain("dXNlcjpwYXNz");
    expect(text).not.toContain("session=abc");
    expect(text).not.toContain("short1");
    expect(text).not.toContain("Very~Secret~Value~42");
    expect(JSON.parse(lines[0]!).headers).toEqual({ authorization: "[REDACTED]", cookie: "[REDACTED]" });
  });

  it("text format: one readable line per entry", () => {
    const lines: string[] = [];
    createLogger({ format: "text", write: (l) => void lines.push(l), base: { tenant: "contoso", source: "graph" } }).warn(
      "request failed, retrying",
      { attempt: 2, error: "timed out after 1s" },
    );
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\S+Z WARN {2}request failed, retrying attempt=2 error="timed out after 1s" tenant=contoso source=graph\n$/,
    );
    expect(renderText("not json")).toBe("not json");
  });
});

describe("log settings in the config and the environment", () => {
  it("log.format and O365_LOG_LEVEL / O365_LOG_FORMAT", () => {
    expect(validateConfig({ tenant_id: "t", log: { format: "text" } }).log.format).toBe("text");
    expect(() => validateConfig({ tenant_id: "t", log: { format: "xml" } })).toThrow(/log\.format = "xml"/);
  });

  it("a subprocess: every stderr line is JSON with tenant and source, O365_LOG_LEVEL=debug adds debug lines, =error silences info", async () => {
    const dir = tempDir();
    // A sink that cannot be reached: the command fails after logging, so every kind of line shows up.
    const file = writeConfig(dir, {
      tenant_id: "contoso.onmicrosoft.com",
      auth: { client_id: "app", client_secret: "s3cr3t-value" },
      endpoints: { login: "https://127.0.0.1:1", graph: "https://127.0.0.1:1" },
      retry: { count: 0 },
      state_dir: "state",
    });
    const debug = await runCli(["once", "--config", file], { env: { O365_LOG_LEVEL: "debug" } });
    expect(debug.code).toBe(1);
    const entries = logEntries(debug.stderr); // throws on any non-JSON line
    expect(entries.length).toBeGreaterThan(1);
    expect(entries.some((e) => e.level === "debug")).toBe(true);
    for (const e of entries) expect(e, JSON.stringify(e)).toMatchObject({ tenant: "contoso.onmicrosoft.com", source: "graph" });
    expect(entries.at(-1)!.level).toBe("error");
    expect(debug.stderr).not.toContain("s3cr3t-value");

    const quiet = await runCli(["once", "--config", file], { env: { O365_LOG_LEVEL: "error" } });
    expect(logEntries(quiet.stderr).map((e) => e.level)).toEqual(["error"]);

    const text = await runCli(["once", "--config", file], { env: { O365_LOG_FORMAT: "text" } });
    expect(text.stderr.trim().split("\n").pop()).toMatch(/^\S+Z ERROR .* tenant=contoso\.onmicrosoft\.com source=graph$/);
  });
});

describe("duration keys", () => {
  it("accept a number in the key's unit or a string with a unit", () => {
    const c = validateConfig({
      tenant_id: "t",
      window: "1h",
      delay: "90m",
      frequency: "5m",
      http: { timeout: "2m" },
      rescan: { horizon: "1d" },
      retry: { backoff: { initial: "500ms" } },
      request_budget: { window_seconds: "300s" },
    });
    const { window, delay, frequency, http, rescan, retry, request_budget: budget } = c;
    const got = [window, delay, frequency, http.timeout, rescan.horizon, retry.backoff.initial, budget.window_seconds];
    expect(got).toEqual([60, 90, 300, 120, 1440, 0.5, 300]);
    expect(validateConfig({ tenant_id: "t", window: 15, frequency: "600" }).frequency).toBe(600);
    expect(parseDurationMs("1h30m")).toBe(90 * 60_000);
    expect(parseDurationMs("1 h 30 m")).toBe(90 * 60_000);
    expect(parseDurationMs("soon")).toBeUndefined();
  });

  it("a bad duration names the key, the value and the units", () => {
    expect(() => validateConfig({ tenant_id: "t", window: "an hour" })).toThrow(
      /window = "an hour": a duration: a number of minutes, or a number with a unit such as "300s", "15m", "1h"/,
    );
    expect(() => validateConfig({ tenant_id: "t", window: "90s" })).toThrow(
      /window = "90s": must be whole minutes \(90s is 1\.5 minutes\)/,
    );
    expect(() => validateConfig({ tenant_id: "t", window: "2d" })).toThrow(/window = "2d": .*1440/);
  });
});
