// Issue 17: auth.client_secret_file (a mounted Kubernetes/Docker secret) in the classic single-tenant config
// too, not only in tenant entries: relative to the config file, one clear line when missing or empty,
// O365_CLIENT_SECRET still wins, and the secret never shows in output. `--tenant` on a single-tenant config
// names its tenant_id or is refused.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.js";
import { loadFleet, pickTenant } from "../src/config/tenants.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { compare, HOUR, parseNdjson, recordIds, runCli, simConfigInput, tempDir, truthIds, writeConfig } from "./helpers/harness.js";

const T0 = Date.UTC(2026, 10, 21, 0, 0, 0);
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ seed: 171, ratePerHour: 40 });
});
afterAll(async () => {
  await sim?.close();
});

/** A single-tenant config whose secret is in `secret.txt` beside it. */
function configWithSecretFile(dir: string, secret = sim.clientSecret): string {
  const input = simConfigInput(sim, dir, { start: new Date(T0).toISOString(), state_dir: join(dir, "state") });
  const auth: Record<string, unknown> = { ...(input.auth as Record<string, unknown>), client_secret_file: "secret.txt" };
  delete auth.client_secret;
  writeFileSync(join(dir, "secret.txt"), `${secret}\n`, { mode: 0o600 });
  return writeConfig(dir, { ...input, auth });
}

describe("client_secret_file in a single-tenant config", () => {
  it("loads the secret from the file (trimmed, relative to the config); O365_CLIENT_SECRET wins; missing or empty: one clear error", () => {
    const dir = tempDir();
    const file = configWithSecretFile(dir);
    expect(loadConfig(file, { env: {} }).auth.client_secret).toBe(sim.clientSecret);
    expect(loadConfig(file, { env: { O365_CLIENT_SECRET: "from-env" } }).auth.client_secret).toBe("from-env");
    writeFileSync(join(dir, "secret.txt"), "\n");
    expect(() => loadConfig(file, { env: {} })).toThrow(/auth\.client_secret_file .*secret\.txt is empty/);
    const other = tempDir();
    const missing = configWithSecretFile(other);
    writeFileSync(missing, readFileSync(missing, "utf8").replace("secret.txt", "nope.txt"));
    expect(() => loadConfig(missing, { env: {} })).toThrow(/auth\.client_secret_file .*nope\.txt cannot be read: ENOENT/);
  });

  it("once collects with it (exactly the truth) and prints no part of the secret", async () => {
    const dir = tempDir();
    const file = configWithSecretFile(dir);
    const r = await runCli(["once", "--config", file], { env: { O365MT_NOW: new Date(T0 + HOUR).toISOString(), O365_CLIENT_SECRET: "" } });
    expect(r.code, r.stderr).toBe(0);
    const truth = truthIds(sim.truth(new Date(T0), new Date(T0 + HOUR)));
    expect(compare(truth, recordIds(parseNdjson(r.stdout)))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    expect(r.stdout + r.stderr).not.toContain(sim.clientSecret);
  }, 60_000);

  it("--tenant on a single-tenant config: its tenant_id (any case) or nothing; anything else is refused", () => {
    const dir = tempDir();
    const fleet = loadFleet(configWithSecretFile(dir), { env: {} });
    expect(pickTenant(fleet, undefined, "get-events").config.tenant_id).toBe(sim.tenantId);
    expect(pickTenant(fleet, sim.tenantId.toUpperCase(), "get-events").config.tenant_id).toBe(sim.tenantId);
    expect(() => pickTenant(fleet, "contoso", "get-events")).toThrow(/--tenant contoso: no tenant of this name or tenant_id in the config/);
  });
});
