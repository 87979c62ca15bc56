// Issue 16: `setup` against the simulated tenant, as a real subprocess with real msal-node device code
// sign-in (the test enters the code): fresh tenant → working `once`; re-run changes nothing; half-done
// tenants completed; a missing admin role is one clear line; the provisioning delay is waited out.
import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import type { DirectoryOptions } from "../src/sim/directory.js";
import { Agent, request } from "undici";
import { BIN, compare, HOUR, MIN, parseNdjson, recordIds, runCli, tempDir, truthIds } from "./helpers/harness.js";
import { runSetup, simFlags } from "./helpers/setup-harness.js";

const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function tenant(directory: DirectoryOptions = {}): Promise<Simulator> {
  sim = await startSimulator({ seed: 5, ratePerHour: 60, directory: { deviceCodeIntervalSeconds: 1, ...directory } });
  return sim;
}

const secretOf = (file: string) => /^O365_CLIENT_SECRET=(.*)$/m.exec(readFileSync(file, "utf8"))![1]!;
const writes = (s: Simulator) => s.stats().requests["directory-write"] ?? 0;

describe("setup", () => {
  it("takes a fresh tenant to a working `once` in one run, and a re-run changes nothing", async () => {
    const s = await tenant();
    const dir = tempDir();
    const config = join(dir, "o365.yaml");
    const envFile = join(dir, "o365.env");
    const args = [...simFlags(s, dir), "--config-out", config, "--secret-out", envFile, "--poll-interval", "0.2s"];
    const a = await runSetup(s, args);
    expect(a.stderr).toMatch(/enter the code/);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(a.stdout).toMatch(/plan for tenant/);
    expect(a.stdout).toMatch(/create the app registration 'o365-message-trace'/);
    expect(a.stdout).toMatch(/grant admin consent: Microsoft Graph application permission ExchangeMessageTrace\.Read\.All/);
    expect(a.stdout).toMatch(
      /create the service principal of the Microsoft app 8bd644d1-64a1-4d4b-ae52-2e0cbf64e373 that Graph message trace needs/,
    );
    expect(a.stdout).toMatch(/ready: collection would work/);
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const secret = secretOf(envFile);
    expect(a.stdout).not.toContain(secret);
    expect(a.stderr).not.toContain(secret);

    const once = await runCli(["once", "--config", config], {
      env: { O365MT_NOW: new Date(T0 + 2 * HOUR).toISOString(), O365_CLIENT_SECRET: secret },
    });
    expect(once.code, once.stderr).toBe(0);
    // A new state's first window with the defaults (delay 5, window 5): [now − 10 min, now − 5 min).
    const truth = truthIds(s.truth(new Date(T0 + 2 * HOUR - 10 * MIN), new Date(T0 + 2 * HOUR - 5 * MIN)));
    expect(truth.length).toBeGreaterThan(0);
    expect(compare(truth, recordIds(parseNdjson(once.stdout)))).toEqual({ lost: 0, duplicates: 0, extra: 0 });

    const before = writes(s);
    const configText = readFileSync(config, "utf8");
    const b = await runSetup(s, args);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(b.stdout).toMatch(/nothing to change/);
    expect(writes(s)).toBe(before);
    expect(readFileSync(config, "utf8")).toBe(configText);
    expect(secretOf(envFile)).toBe(secret);
  }, 60_000);

  it("from a clean start against `simulate` (its own process): setup, then `once` delivers the truth", async () => {
    const dir = tempDir();
    const caFile = join(dir, "ca.pem");
    const child = spawn(process.execPath, [BIN, "simulate", "--seed", "9", "--ca-out", caFile], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const info = await new Promise<Record<string, string>>((resolve, reject) => {
        let text = "";
        child.stdout!.on("data", (c: Buffer) => {
          text += c.toString("utf8");
          if (text.includes("\n")) resolve(JSON.parse(text.split("\n")[0]!));
        });
        child.on("exit", (code) => reject(new Error(`simulate exited ${code}`)));
      });
      const ca = readFileSync(caFile, "utf8");
      const config = join(dir, "o365.yaml");
      const envFile = join(dir, "o365.env");
      const flags = [
        "--tenant",
        info.tenantId!,
        "--login-endpoint",
        info.url!,
        "--graph-endpoint",
        info.graphBase!,
        "--rws-endpoint",
        info.rwsBase!,
        "--ca-file",
        caFile,
      ];
      const r = await runSetup({ ca }, [...flags, "--config-out", config, "--secret-out", envFile, "--poll-interval", "0.5s"]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const once = await runCli(["once", "--config", config], {
        env: { O365MT_NOW: new Date(T0 + 2 * HOUR).toISOString(), O365_CLIENT_SECRET: secretOf(envFile) },
      });
      expect(once.code, once.stderr).toBe(0);
      const agent = new Agent({ connect: { ca } });
      // A new state's first window with the defaults (delay 5, window 5): [now − 10 min, now − 5 min).
      const res = await request(
        `${info.url}/_sim/truth?from=${new Date(T0 + 2 * HOUR - 10 * MIN).toISOString()}&to=${new Date(T0 + 2 * HOUR - 5 * MIN).toISOString()}`,
        { dispatcher: agent },
      );
      const truth = ((await res.body.json()) as { value: Parameters<typeof truthIds>[0] }).value;
      await agent.close();
      expect(truth.length).toBeGreaterThan(0);
      expect(compare(truthIds(truth), recordIds(parseNdjson(once.stdout)))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    } finally {
      child.kill("SIGTERM");
    }
  }, 90_000);
});
