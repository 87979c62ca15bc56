// Issue 2: `once` as a real subprocess — failures are one clear line, exit non-zero, state untouched;
// the lock keeps a second run out; config errors name the key; the secret never leaks.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { StateStore } from "../src/cursor/store.js";
import {
  compare,
  HOUR,
  parseNdjson,
  recordIds,
  runCli,
  simConfigInput,
  tempDir,
  truthIds,
  writeConfig,
  logEntries,
  lastLogMessage,
} from "./helpers/harness.js";

let sim: Simulator;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const NOW = new Date(T0 + 2 * HOUR).toISOString();
const env = { O365MT_NOW: NOW };

function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir)) out[f] = readFileSync(join(dir, f), "base64");
  return out;
}

beforeAll(async () => {
  sim = await startSimulator({ seed: 11, ratePerHour: 60 });
  sim.addApp({ clientId: "22222222-0000-0000-0000-000000000001", clientSecret: "no-role-secret-123", graphRoles: [] });
  sim.addApp({ clientId: "22222222-0000-0000-0000-000000000002", clientSecret: "no-sp-secret-456", servicePrincipalProvisioned: false });
});
afterAll(async () => {
  await sim?.close();
});

describe("once (subprocess)", () => {
  it("prints NDJSON for the pending windows, then nothing new on the next run", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { start: new Date(T0).toISOString(), max_windows_per_run: 4 }));
    const a = await runCli(["once", "--config", file], { env });
    expect(a.stderr).not.toMatch(/"level":"error"/);
    expect(a.code).toBe(0);
    const b = await runCli(["once", "--config", file], { env });
    expect(b.code).toBe(0);
    const c = await runCli(["once", "--config", file], { env });
    expect(c.code).toBe(0);
    expect(c.stdout).toBe(""); // all 8 windows of the 2 hours delivered by a and b
    const truth = truthIds(sim.truth(new Date(T0), new Date(T0 + 2 * HOUR)));
    expect(compare(truth, recordIds([...parseNdjson(a.stdout), ...parseNdjson(b.stdout)]))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });

  const failures: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      "wrong secret",
      { auth: { client_id: "11111111-2222-3333-4444-555555555555", client_secret: "definitely-wrong-secret" } },
      /client secret is wrong \(AADSTS7000215\)/,
    ],
    [
      "unknown app",
      { auth: { client_id: "99999999-9999-9999-9999-999999999999", client_secret: "whatever-secret-1" } },
      /not found in this tenant \(AADSTS700016\)/,
    ],
    ["unknown tenant", { tenant_id: "nosuch.onmicrosoft.com" }, /tenant was not found \(AADSTS90002\)/],
    [
      "missing permission",
      { auth: { client_id: "22222222-0000-0000-0000-000000000001", client_secret: "no-role-secret-123" } },
      /lacks the Graph application permission ExchangeMessageTrace\.Read\.All/,
    ],
    [
      "service principal not provisioned",
      { auth: { client_id: "22222222-0000-0000-0000-000000000002", client_secret: "no-sp-secret-456" } },
      /service principal .* is not provisioned/,
    ],
  ];
  for (const [name, patch, message] of failures) {
    it(`${name}: one clear line, non-zero exit, state unchanged byte for byte`, async () => {
      const dir = tempDir();
      const good = simConfigInput(sim, dir, { start: new Date(T0).toISOString(), max_windows_per_run: 2 });
      const ok = await runCli(["once", "--config", writeConfig(dir, good)], { env });
      expect(ok.code).toBe(0);
      const before = snapshot(join(dir, "state"));
      expect(Object.keys(before).length).toBeGreaterThan(0);
      const bad = { ...good, ...patch, auth: { ...(good.auth as object), ...((patch.auth as object) ?? {}) } };
      const r = await runCli(["once", "--config", writeConfig(dir, bad, "bad.yaml")], { env });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      const lines = logEntries(r.stderr).filter((l) => l.level === "error");
      expect(lines).toHaveLength(1);
      expect(lines[0]!.msg).toMatch(message);
      expect(snapshot(join(dir, "state"))).toEqual(before);
    });
  }

  it("a second concurrent run says already running, exits 0 and changes nothing", async () => {
    const dir = tempDir();
    const input = simConfigInput(sim, dir, { start: new Date(T0).toISOString() });
    const file = writeConfig(dir, input);
    const store = new StateStore(join(dir, "state"), sim.tenantId, "graph");
    const lock = store.lock(); // held by this (live) process, as a running `once` would
    try {
      const before = snapshot(join(dir, "state"));
      const r = await runCli(["once", "--config", file], { env });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/already running \(pid \d+ holds .*\.lock\); skipping this run/);
      expect(snapshot(join(dir, "state"))).toEqual(before);
    } finally {
      lock.release();
    }
  });

  it("takes over a lock left by a killed process", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { start: new Date(T0).toISOString(), max_windows_per_run: 1 }));
    const store = new StateStore(join(dir, "state"), sim.tenantId, "graph");
    store.lock().release(); // create dir
    writeFileSync(store.lockFile, "999999\n"); // a pid that does not exist
    const r = await runCli(["once", "--config", file], { env });
    expect(r.code).toBe(0);
    expect(parseNdjson(r.stdout).length).toBeGreaterThan(0);
  });

  const configErrors: Array<[string, Record<string, unknown>, RegExp]> = [
    ["window out of range", { window: 5000 }, /window = 5000: .*1440/],
    ["delay out of range", { delay: -1 }, /delay = -1/],
    ["missing tenant", { tenant_id: undefined }, /tenant_id is missing — add tenant_id: .* \(or set O365_TENANT_ID\)/],
    ["unknown key", { windwo: 10 }, /unknown key\(s\) "windwo"/],
    ["bad sink type", { sink: { type: "kafka" } }, /sink\.type = "kafka"/],
  ];
  for (const [name, patch, message] of configErrors) {
    it(`config error (${name}) names the key and exits 2`, async () => {
      const dir = tempDir();
      const input: Record<string, unknown> = { ...simConfigInput(sim, dir), ...patch };
      if ("tenant_id" in patch && patch.tenant_id === undefined) delete input.tenant_id;
      const r = await runCli(["once", "--config", writeConfig(dir, input)], { env });
      expect(r.code).toBe(2);
      expect(logEntries(r.stderr)).toHaveLength(1);
      expect(lastLogMessage(r.stderr)).toMatch(message);
      expect(existsSync(join(dir, "state"))).toBe(false);
    });
  }

  it("never writes the client secret or a token to stdout, stderr or state", async () => {
    const dir = tempDir();
    const input = simConfigInput(sim, dir, { start: new Date(T0).toISOString(), max_windows_per_run: 2, log: { level: "debug" } });
    const secret = sim.clientSecret;
    delete (input.auth as Record<string, unknown>).client_secret;
    const file = writeConfig(dir, input);
    const ok = await runCli(["once", "--config", file], { env: { ...env, O365_CLIENT_SECRET: secret } });
    expect(ok.code).toBe(0);
    const bad = await runCli(["once", "--config", file], { env: { ...env, O365_CLIENT_SECRET: secret + "x" } });
    expect(bad.code).toBe(1);
    const state = Object.values(snapshot(join(dir, "state")))
      .map((b) => Buffer.from(b, "base64").toString())
      .join("\n");
    for (const text of [ok.stdout, ok.stderr, bad.stdout, bad.stderr, state]) {
      expect(text).not.toContain(secret);
      expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/); // no JWT
    }
    expect(ok.stderr).toMatch(/"level":"debug"/); // debug logs were on, and still clean
  });
});
