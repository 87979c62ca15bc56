// Issue 6: every outbound call (token and Graph) goes through the configured proxy — a real CONNECT proxy
// written here, counting tunnels and optionally demanding Proxy-Authorization; HTTPS_PROXY/NO_PROXY; CA; insecure.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { createLogger } from "../src/log/logger.js";
import { diagnose } from "../src/cli/auth-test.js";
import { describeError } from "../src/errors.js";
import { startConnectProxy, type TestProxy } from "./helpers/connect-proxy.js";
import { collectAgainstTruth, HOUR, simConfig, simConfigInput, tempDir, runCli, writeConfig } from "./helpers/harness.js";

let sim: Simulator;
let proxy: TestProxy;
let authProxy: TestProxy;
const logger = createLogger({ level: "error", write: () => {} });
const T0 = Date.UTC(2026, 10, 21, 0, 0, 0);

beforeAll(async () => {
  sim = await startSimulator({ seed: 11, ratePerHour: 80 });
  proxy = await startConnectProxy();
  authProxy = await startConnectProxy({ user: "collector", pass: "Pr0xy~Pass" });
});
afterAll(async () => {
  await proxy?.close();
  await authProxy?.close();
  await sim?.close();
});

function httpWith(dir: string, extra: Record<string, unknown>): Record<string, unknown> {
  return { ...(simConfigInput(sim, dir).http as Record<string, unknown>), ...extra };
}

describe("http.proxy.url", () => {
  it("token and Graph requests go through the proxy, and the records are complete", async () => {
    const dir = tempDir();
    const before = proxy.tunnels.length;
    const config = simConfig(sim, dir, {
      http: httpWith(dir, { proxy: { url: proxy.url } }),
      start: new Date(T0).toISOString(),
      window: 60,
      max_windows_per_run: 3,
    });
    const tokensBefore = sim.stats().tokensIssued;
    expect(await collectAgainstTruth(config, sim, T0, T0 + 3 * HOUR)).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    const tunnels = proxy.tunnels.slice(before);
    expect(tunnels.length).toBeGreaterThan(0);
    expect(new Set(tunnels)).toEqual(new Set([`127.0.0.1:${sim.port}`]));
    expect(sim.stats().tokensIssued).toBeGreaterThan(tokensBefore);
  });

  it("sends proxy credentials (username + password) and auth-test passes through it", async () => {
    const dir = tempDir();
    const before = authProxy.tunnels.length;
    const config = simConfig(sim, dir, {
      http: httpWith(dir, { proxy: { url: authProxy.url, username: "collector", password: "Pr0xy~Pass" } }),
    });
    const ok = await diagnose(config, { logger, env: {} });
    expect(ok).toMatch(/collection would work/);
    expect(authProxy.tunnels.length).toBeGreaterThan(before);
  });

  it("without credentials auth-test says the proxy wants them (407)", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, { retry: { count: 0 }, http: httpWith(dir, { proxy: { url: authProxy.url } }) });
    const refused = authProxy.refused;
    const err = await diagnose(config, { logger, env: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(describeError(err)).toMatch(
      /the proxy http:\/\/127\.0\.0\.1:\d+\/ refused us: it wants credentials \(HTTP 407\) — set http\.proxy\.username and O365_PROXY_PASSWORD/,
    );
    expect(authProxy.refused).toBeGreaterThan(refused);
  });
});

describe("a proxy that wants credentials, seen by once (issue 11)", () => {
  it("once reports the 407 like auth-test does, not as a timeout; a wrong proxy password never shows", async () => {
    const dir = tempDir();
    const noRetry = { count: 0, backoff: { initial: 0, max: 0, jitter: 0 } };
    const input = simConfigInput(sim, dir, { start: new Date(T0).toISOString(), retry: noRetry });
    for (const proxyUrl of [authProxy.url, authProxy.url.replace("http://", "http://collector:Wr0ngProxyPass@")]) {
      input.http = { ...(input.http as Record<string, unknown>), proxy: { url: proxyUrl } };
      const r = await runCli(["once", "--config", writeConfig(dir, input)], { env: { O365MT_NOW: new Date(T0 + 2 * HOUR).toISOString() } });
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).not.toMatch(/timed out/);
      expect(r.stderr).toMatch(
        /the proxy refused us: it wants credentials \(HTTP 407\).* — set http\.proxy\.username and O365_PROXY_PASSWORD/,
      );
      expect(r.stderr).not.toContain("Wr0ngProxyPass");
    }
  });
});

describe("HTTPS_PROXY / NO_PROXY from the environment", () => {
  it("HTTPS_PROXY routes through the proxy; NO_PROXY for the host bypasses it", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir);
    let before = proxy.tunnels.length;
    expect(await diagnose(config, { logger, env: { HTTPS_PROXY: proxy.url } })).toMatch(/collection would work/);
    expect(proxy.tunnels.length).toBeGreaterThan(before);
    before = proxy.tunnels.length;
    expect(await diagnose(config, { logger, env: { HTTPS_PROXY: proxy.url, NO_PROXY: "127.0.0.1" } })).toMatch(/collection would work/);
    expect(proxy.tunnels.length).toBe(before);
  });

  it("the CLI honours HTTPS_PROXY (subprocess get-events through the proxy)", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir));
    const before = proxy.tunnels.length;
    const r = await runCli(
      ["get-events", "--config", file, "--start", new Date(T0).toISOString(), "--end", new Date(T0 + HOUR).toISOString(), "--limit", "0"],
      { env: { HTTPS_PROXY: proxy.url, NO_PROXY: "" } },
    );
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").length).toBe(sim.truth(new Date(T0), new Date(T0 + HOUR)).length);
    expect(proxy.tunnels.length).toBeGreaterThan(before);
  });
});

describe("TLS trust", () => {
  it("without the CA file the simulator's certificate is refused, with a TLS sentence", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, { retry: { count: 0 }, http: { timeout: 10 } });
    const err = await diagnose(config, { logger, env: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(describeError(err)).toMatch(/config error: TLS verification of 127\.0\.0\.1:\d+ failed .*http\.ca_file/);
  });

  it("http.insecure works without the CA and logs a loud warning", async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const config = simConfig(sim, dir, { http: { timeout: 10, insecure: true } });
    const ok = await diagnose(config, { logger: createLogger({ level: "warn", write: (l) => lines.push(l) }), env: {} });
    expect(ok).toMatch(/collection would work/);
    expect(lines.join("")).toMatch(/TLS certificate verification is DISABLED/);
  });
});
