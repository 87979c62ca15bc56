// Issue 6: auth-test names each failure in one sentence, against the simulator; exit 0 only when collection works.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:net";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { diagnose } from "../src/cli/auth-test.js";
import { createLogger } from "../src/log/logger.js";
import { CollectorError, describeError } from "../src/errors.js";
import { runCli, simConfig, simConfigInput, tempDir, writeConfig, lastLogMessage } from "./helpers/harness.js";

let sim: Simulator;
const logger = createLogger({ level: "error", write: () => {} });

beforeAll(async () => {
  sim = await startSimulator({ seed: 3, ratePerHour: 60 });
  sim.addApp({ clientId: "aaaaaaaa-0000-4000-8000-000000000001", clientSecret: "no-roles-secret", graphRoles: [], rwsRoles: [] });
  sim.addApp({ clientId: "aaaaaaaa-0000-4000-8000-000000000002", clientSecret: "no-sp-secret", servicePrincipalProvisioned: false });
  sim.addApp({ clientId: "aaaaaaaa-0000-4000-8000-000000000003", clientSecret: "no-reader-secret", globalReader: false });
});
afterAll(async () => {
  await sim?.close();
});

/** The diagnosis line a user would see, or "OK: …". */
async function diag(extra: Record<string, unknown>, opts: { wallClock?: () => number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const config = simConfig(sim, tempDir(), { retry: { count: 0 }, ...extra });
  try {
    return "OK: " + (await diagnose(config, { logger, caPem: sim.ca, env: opts.env ?? {}, wallClock: opts.wallClock }));
  } catch (err) {
    expect(err).toBeInstanceOf(CollectorError);
    return describeError(err);
  }
}

const app = (id: string, secret: string) => ({ auth: { method: "client_secret", client_id: id, client_secret: secret } });

describe("auth-test diagnoses (in process, real msal and HTTP against the simulator)", () => {
  it("says collection would work when everything is right (Graph and RWS)", async () => {
    expect(await diag({})).toMatch(/^OK: collection would work: .*ExchangeMessageTrace\.Read\.All.*Graph message trace answered/);
    expect(await diag({ source: "rws" })).toMatch(/^OK: collection would work: .*ReportingWebService\.Read\.All/);
  });

  it("wrong secret", async () => {
    expect(await diag(app(sim.clientId, "not-the-secret"))).toMatch(
      /auth error: sign-in failed: the client secret is wrong \(AADSTS7000215\)/,
    );
  });

  it("unknown application", async () => {
    expect(await diag(app("bbbbbbbb-0000-4000-8000-00000000000f", "x"))).toMatch(
      /application \(client id\) was not found in this tenant \(AADSTS700016\)/,
    );
  });

  it("unknown tenant and malformed tenant", async () => {
    expect(await diag({ tenant_id: "deadbeef-0000-4000-8000-000000000000" })).toMatch(/tenant deadbeef-.* was not found \(AADSTS90002\)/);
    expect(await diag({ tenant_id: "not a tenant!" })).toMatch(/malformed \(AADSTS900023\)/);
  });

  it("missing ExchangeMessageTrace.Read.All (Graph) and ReportingWebService.Read.All (legacy)", async () => {
    const g = await diag(app("aaaaaaaa-0000-4000-8000-000000000001", "no-roles-secret"));
    expect(g).toMatch(/permission error: the token has no ExchangeMessageTrace\.Read\.All permission .*grant admin consent/);
    const r = await diag({ ...app("aaaaaaaa-0000-4000-8000-000000000001", "no-roles-secret"), source: "rws" });
    expect(r).toMatch(/the token has no ReportingWebService\.Read\.All permission.*Global Reader/);
  });

  it("legacy API without the Global Reader role", async () => {
    const r = await diag({ ...app("aaaaaaaa-0000-4000-8000-000000000003", "no-reader-secret"), source: "rws" });
    expect(r).toMatch(/permission error: .*/);
    expect(r).toMatch(/Global Reader/);
  });

  it("service principal not yet provisioned", async () => {
    const r = await diag(app("aaaaaaaa-0000-4000-8000-000000000002", "no-sp-secret"));
    expect(r).toMatch(
      /permission error: the Exchange message trace service principal \(app 8bd644d1-64a1-4d4b-ae52-2e0cbf64e373\) is not provisioned.*up to 24 h/,
    );
  });

  it("clock skew against the login server's Date header", async () => {
    expect(await diag({}, { wallClock: () => Date.now() + 2 * 3_600_000 })).toMatch(
      /clock is 120 minutes ahead of the login server's.*sync the clock/,
    );
    expect(await diag({}, { wallClock: () => Date.now() - 10 * 60_000 })).toMatch(/clock is 10 minutes behind/);
  });

  it("proxy failure: nothing listens at the proxy address", async () => {
    // Bind then close a port, so the address is surely refused.
    const srv: Server = createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const http = simConfigInput(sim, tempDir()).http as Record<string, unknown>;
    const r = await diag({ http: { ...http, proxy: { url: `http://127.0.0.1:${port}` } } });
    expect(r).toMatch(new RegExp(`the proxy http://127\\.0\\.0\\.1:${port}/ failed to connect us to 127\\.0\\.0\\.1:${sim.port}`));
  });

  it("graph in a cloud without Graph message trace is refused before any request", async () => {
    expect(await diag({ cloud: "gcc-high", endpoints: { login: sim.url, rws: sim.rwsBase } })).toMatch(
      /config error: source graph is not offered in cloud gcc-high.*use source: rws/,
    );
  });
});

describe("auth-test command (subprocess)", () => {
  it("exit 0 with the steps and the success sentence", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir));
    const r = await runCli(["auth-test", "--config", file]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: login endpoint 127\.0\.0\.1:\d+ reachable, tenant found, clock in agreement$/m);
    expect(r.stdout).toMatch(/^ok: token acquired \(client_secret\); it carries ExchangeMessageTrace\.Read\.All$/m);
    expect(r.stdout).toMatch(/^auth-test: collection would work: /m);
  });

  it("exit 1 and exactly one line for a wrong secret, without echoing it", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { retry: { count: 0 } }));
    const r = await runCli(["auth-test", "--config", file], { env: { O365_CLIENT_SECRET: "Wrong~Secret~Value" } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(lastLogMessage(r.stderr)).toMatch(/^auth error: sign-in failed: the client secret is wrong \(AADSTS7000215\) — copy the secret/);
    expect(r.stderr + r.stdout).not.toContain("Wrong~Secret~Value");
  });
});
