// Issue 16: `setup` on half-done tenants, with an under-privileged admin, through a provisioning delay
// (waited out, or stopped and resumed), for the legacy source, with a certificate, and as a dry run.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { directoryAt, type DirectoryOptions } from "../src/sim/directory.js";
import { GRAPH_APP_ID } from "../src/sim/directory-store.js";
import { runCli, tempDir } from "./helpers/harness.js";
import { startConnectProxy } from "./helpers/connect-proxy.js";
import { runSetup, simFlags } from "./helpers/setup-harness.js";

const PERMISSION = "ExchangeMessageTrace.Read.All";
const MESSAGE_TRACE_APP = "8bd644d1-64a1-4d4b-ae52-2e0cbf64e373";
let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function tenant(directory: DirectoryOptions = {}): Promise<Simulator> {
  sim = await startSimulator({ seed: 6, directory: { deviceCodeIntervalSeconds: 1, ...directory } });
  return sim;
}

function files() {
  const dir = tempDir();
  return { dir, config: join(dir, "o365.yaml"), env: join(dir, "o365.env") };
}

const planLines = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("  - "));
const writes = (s: Simulator) => s.stats().requests["directory-write"] ?? 0;
// The one-line errors: error-level JSON log lines (the device-code prompts are plain lines for the admin).
const errorLines = (stderr: string) =>
  stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { level: string; msg: string })
    .filter((e) => e.level === "error")
    .map((e) => e.msg);

describe("setup on a half-done tenant", () => {
  it("app registered but no service principal and no consent: adds exactly those", async () => {
    const s = await tenant({ messageTraceServicePrincipal: true });
    const d = directoryAt(s.url);
    const roleId = d.spByAppId(GRAPH_APP_ID)!.appRoles.find((r) => r.value === PERMISSION)!.id;
    const app = d.createApplication("o365-message-trace", [
      { resourceAppId: GRAPH_APP_ID, resourceAccess: [{ id: roleId, type: "Role" }] },
    ]);
    const f = files();
    const r = await runSetup(s, [...simFlags(s, f.dir), "--config-out", f.config, "--secret-out", f.env, "--poll-interval", "0.2s"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(planLines(r.stdout).map((l) => l.replace(/'.*'|\/\S+/g, "…"))).toEqual([
      "  - create the service principal (enterprise application) of the app registration",
      "  - grant admin consent: Microsoft Graph application permission ExchangeMessageTrace.Read.All to the app",
      "  - create a client secret … expiring in 180 days, written to … (mode 0600)",
      "  - write the config …",
    ]);
    expect(d.applications.size).toBe(1);
    expect(readFileSync(f.config, "utf8")).toContain(app.appId);
    expect(r.stdout).toMatch(/ready: collection would work/);
  }, 60_000);

  it("consented app but no message trace service principal: creates only that", async () => {
    const s = await tenant();
    const d = directoryAt(s.url);
    const app = d.createApplication("o365-message-trace", []);
    d.addServicePrincipal(app.appId, app.displayName, s.tenantId);
    d.grant(app.appId, GRAPH_APP_ID, PERMISSION);
    const f = files();
    const r = await runSetup(s, [
      ...simFlags(s, f.dir),
      "--client-id",
      app.appId,
      "--config-out",
      f.config,
      "--secret-out",
      f.env,
      "--poll-interval",
      "0.2s",
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const plan = planLines(r.stdout).join("\n");
    expect(plan).toMatch(/add the Microsoft Graph application permission ExchangeMessageTrace\.Read\.All to the app registration/);
    expect(plan).toMatch(/create the service principal of the Microsoft app 8bd644d1\S* that Graph message trace needs/);
    expect(plan).not.toMatch(/grant admin consent|service principal \(enterprise application\)|create the app registration/);
    expect(d.spByAppId(MESSAGE_TRACE_APP)).toBeDefined();
    expect(d.appRoleAssignments.size).toBe(1);
  }, 60_000);
});

describe("setup with an admin who lacks a role", () => {
  it("stops with one line naming the missing role; a re-run by a privileged admin completes", async () => {
    const s = await tenant({ adminRoles: ["Application Administrator"] });
    const f = files();
    const args = [...simFlags(s, f.dir), "--config-out", f.config, "--secret-out", f.env, "--poll-interval", "0.2s"];
    const a = await runSetup(s, args);
    expect(a.code).toBe(1);
    const lines = errorLines(a.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /the signed-in account admin@contoso\.onmicrosoft\.com lacks the Entra role Privileged Role Administrator \(or Global Administrator\), needed to grant admin consent/,
    );
    expect(a.stdout).toMatch(/done: create the app registration/);

    directoryAt(s.url).setAdminRoles(["Privileged Role Administrator", "Application Administrator"]);
    const b = await runSetup(s, args);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(planLines(b.stdout).join("\n")).not.toMatch(/create the app registration|enterprise application/);
    expect(b.stdout).toMatch(/grant admin consent/);
    expect(directoryAt(s.url).applications.size).toBe(1);
  }, 60_000);

  it("a declined sign-in is one clear line and changes nothing", async () => {
    const s = await tenant();
    const f = files();
    const r = await runSetup(s, [...simFlags(s, f.dir), "--config-out", f.config, "--secret-out", f.env], { action: "deny" });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/administrator declined the sign-in/)]);
    expect(writes(s)).toBe(0);
    expect(existsSync(f.config)).toBe(false);
  }, 60_000);

  it("a sign-in app the tenant does not offer is one clear line", async () => {
    const s = await tenant();
    const f = files();
    const r = await runSetup(s, [
      ...simFlags(s, f.dir),
      "--admin-client-id",
      "99999999-0000-4000-8000-000000000000",
      "--config-out",
      f.config,
      "--secret-out",
      f.env,
    ]);
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(
        /sign-in app 99999999-0000-4000-8000-000000000000 cannot be used for a device code sign-in .* --admin-client-id/,
      ),
    ]);
  }, 60_000);
});

describe("setup against the wrong tenant", () => {
  it("an unknown tenant is one clear line (AADSTS90002) before any code is shown", async () => {
    const s = await tenant();
    const f = files();
    const r = await runSetup(s, [
      ...simFlags(s, f.dir),
      "--tenant",
      "nosuch.onmicrosoft.com",
      "--config-out",
      f.config,
      "--secret-out",
      f.env,
    ]);
    expect(r.code).toBe(1);
    expect(r.codes).toHaveLength(0);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/tenant was not found \(AADSTS90002\)/)]);
  }, 60_000);
});

describe("setup waits for provisioning", () => {
  it("waits out the service principal's provisioning delay, saying what it waits for", async () => {
    const s = await tenant({ provisioningDelayMs: 2500 });
    const f = files();
    const r = await runSetup(s, [...simFlags(s, f.dir), "--config-out", f.config, "--secret-out", f.env, "--poll-interval", "0.3s"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(/waiting for Microsoft to provision the Exchange message trace service principal .*check 1 failed/);
    expect(r.stdout).toMatch(/waited \d+s \(\d+ checks\) for Microsoft to finish provisioning/);
    expect(r.stdout).toMatch(/ready: collection would work/);
  }, 60_000);

  it("stops after --wait with exit 75 and `--resume` finishes later without signing in", async () => {
    const s = await tenant({ provisioningDelayMs: 3600_000 });
    const f = files();
    const a = await runSetup(s, [
      ...simFlags(s, f.dir),
      "--config-out",
      f.config,
      "--secret-out",
      f.env,
      "--poll-interval",
      "0.2s",
      "--wait",
      "1s",
    ]);
    expect(a.code, a.stdout + a.stderr).toBe(75);
    expect(a.stdout).toMatch(/not ready yet: still waiting for Microsoft to provision/);
    expect(a.stdout).toMatch(/setup --resume --config-out/);
    const record = JSON.parse(readFileSync(`${f.config}.setup.json`, "utf8"));
    expect(record.waiting_since).toBeTruthy();

    directoryAt(s.url).provisioningDelayMs = 0;
    const b = await runSetup(s, ["--resume", "--config-out", f.config, "--poll-interval", "0.2s"]);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(b.codes).toHaveLength(0);
    expect(b.stdout).toMatch(/ready: collection would work/);
    expect(JSON.parse(readFileSync(`${f.config}.setup.json`, "utf8")).waiting_since).toBeUndefined();
  }, 60_000);
});

describe("setup variants", () => {
  it("rws: consents ReportingWebService.Read.All and assigns Global Reader; survives slow_down", async () => {
    const s = await tenant({ slowDownPolls: 1 });
    const f = files();
    const r = await runSetup(s, [
      ...simFlags(s, f.dir),
      "--source",
      "rws",
      "--config-out",
      f.config,
      "--secret-out",
      f.env,
      "--poll-interval",
      "0.2s",
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Office 365 Exchange Online application permission ReportingWebService\.Read\.All/);
    expect(r.stdout).toMatch(/assign the Entra role Global Reader/);
    expect(r.stdout).not.toMatch(/8bd644d1/);
    expect(r.stdout).toMatch(/ready: collection would work: .*ReportingWebService\.Read\.All, and the reporting web service answered/);
  }, 60_000);

  it("certificate: key 0600, certificate uploaded, config ready; re-run changes nothing", async () => {
    const s = await tenant({ messageTraceServicePrincipal: true });
    const f = files();
    const args = [...simFlags(s, f.dir), "--credential", "certificate", "--config-out", f.config, "--poll-interval", "0.2s"];
    const a = await runSetup(s, args);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(statSync(join(f.dir, "o365.key.pem")).mode & 0o777).toBe(0o600);
    expect(readFileSync(f.config, "utf8")).toMatch(/method: certificate/);
    expect(a.stdout).toMatch(/ready: collection would work: certificate sign-in/);
    expect(a.stdout + a.stderr).not.toMatch(/PRIVATE KEY/);
    const before = writes(s);
    const b = await runSetup(s, args);
    expect(b.stdout).toMatch(/nothing to change/);
    expect(writes(s)).toBe(before);
    const auth = await runCli(["auth-test", "--config", f.config]);
    expect(auth.code, auth.stderr).toBe(0);
  }, 60_000);

  it("signs in and talks to Graph through HTTPS_PROXY", async () => {
    const s = await tenant({ messageTraceServicePrincipal: true });
    const proxy = await startConnectProxy();
    try {
      const f = files();
      const env = { HTTPS_PROXY: proxy.url, https_proxy: proxy.url, NO_PROXY: "", no_proxy: "" };
      const r = await runSetup(s, [...simFlags(s, f.dir), "--config-out", f.config, "--secret-out", f.env, "--poll-interval", "0.2s"], {
        env,
      });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(proxy.tunnels.length).toBeGreaterThan(0);
      expect(new Set(proxy.tunnels)).toEqual(new Set([new URL(s.url).host]));
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it("--dry-run prints the plan and changes nothing", async () => {
    const s = await tenant();
    const f = files();
    const r = await runSetup(s, [...simFlags(s, f.dir), "--dry-run", "--config-out", f.config, "--secret-out", f.env]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(planLines(r.stdout).length).toBe(6);
    expect(r.stdout).toMatch(/dry run: nothing was changed/);
    expect(writes(s)).toBe(0);
    expect(existsSync(f.config) || existsSync(f.env)).toBe(false);
  }, 60_000);

  it("--print-secret prints the new secret once on stdout and nowhere else", async () => {
    const s = await tenant({ messageTraceServicePrincipal: true });
    const f = files();
    const r = await runSetup(s, [...simFlags(s, f.dir), "--print-secret", "--config-out", f.config, "--poll-interval", "0.2s"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const printed = r.stdout.match(/^O365_CLIENT_SECRET=(.+)$/gm) ?? [];
    expect(printed).toHaveLength(1);
    const secret = printed[0]!.split("=")[1]!;
    expect(r.stdout.split(secret).length).toBe(2);
    expect(r.stderr).not.toContain(secret);
    expect(readFileSync(f.config, "utf8")).not.toContain(secret);
    expect(readFileSync(`${f.config}.setup.json`, "utf8")).not.toContain(secret);
  }, 60_000);
});
