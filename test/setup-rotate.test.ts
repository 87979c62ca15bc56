// Issue 16: `setup --rotate-secret` — the new secret is verified before the env file is replaced and the old
// secret removed; a crash (SIGKILL) after any step leaves the env file with a secret that works, and a
// re-run finishes the rotation, leaving exactly one secret.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { directoryAt } from "../src/sim/directory.js";
import { runCli, tempDir } from "./helpers/harness.js";
import { runSetup, simFlags } from "./helpers/setup-harness.js";

let sim: Simulator;
let config: string;
let envFile: string;

beforeAll(async () => {
  sim = await startSimulator({ seed: 8, directory: { deviceCodeIntervalSeconds: 1, messageTraceServicePrincipal: true } });
  const dir = tempDir();
  config = join(dir, "o365.yaml");
  envFile = join(dir, "o365.env");
  const r = await runSetup(sim, [...simFlags(sim, dir), "--config-out", config, "--secret-out", envFile, "--poll-interval", "0.2s"]);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
}, 60_000);
afterAll(async () => {
  await sim?.close();
});

const secretIn = (file: string) => /^O365_CLIENT_SECRET=(.*)$/m.exec(readFileSync(file, "utf8"))![1]!;
const appCredentials = () => [...directoryAt(sim.url).applications.values()][0]!.passwordCredentials;
const authTest = (secret: string) => runCli(["auth-test", "--config", config], { env: { O365_CLIENT_SECRET: secret } });
const rotate = (env: NodeJS.ProcessEnv = {}) =>
  runSetup(sim, ["--rotate-secret", "--config-out", config, "--poll-interval", "0.2s"], { env });

describe("setup --rotate-secret", () => {
  it("replaces the secret, verifies it, then removes the old one", async () => {
    const old = secretIn(envFile);
    const r = await rotate();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    const verified = lines.findIndex((l) => l.startsWith("done:") && l.includes("now holds the new secret"));
    const removed = lines.findIndex((l) => l.startsWith("done: remove the old client secret"));
    expect(verified).toBeGreaterThan(-1);
    expect(removed).toBeGreaterThan(verified);
    const fresh = secretIn(envFile);
    expect(fresh).not.toBe(old);
    expect(r.stdout + r.stderr).not.toContain(fresh);
    expect(appCredentials()).toHaveLength(1);
    expect((await authTest(fresh)).code).toBe(0);
    const stale = await authTest(old);
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toMatch(/AADSTS7000215/);
  }, 60_000);

  for (const point of ["add", "stage", "verify", "promote"]) {
    it(`a crash after "${point}" leaves a working secret, and a re-run finishes with exactly one`, async () => {
      const before = secretIn(envFile);
      const crashed = await rotate({ O365MT_SETUP_CRASH_AFTER: point });
      expect(crashed.signal).toBe("SIGKILL");
      const now = secretIn(envFile);
      // Before the atomic replace the env file keeps the old secret; after it, the new (verified) one.
      if (point === "promote") expect(now).not.toBe(before);
      else expect(now).toBe(before);
      const check = await authTest(now);
      expect(check.code, check.stdout + check.stderr).toBe(0);

      const done = await rotate();
      expect(done.code, done.stdout + done.stderr).toBe(0);
      if (point === "stage" || point === "verify") expect(done.stdout).toMatch(/finish an interrupted rotation/);
      const final = secretIn(envFile);
      expect((await authTest(final)).code).toBe(0);
      expect(existsSync(`${envFile}.new`)).toBe(false);
      expect(appCredentials()).toHaveLength(1);
    }, 90_000);
  }
});
