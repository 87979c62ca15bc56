// Issue 17, the real CLI with a tenants config: `once` summarises per tenant and fails when one did,
// `status` reads the state directories, `run` serves tenant-labelled metrics and per-tenant health.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimFleet, type SimFleet } from "../src/sim/index.js";
import { writeFleetConfig } from "./helpers/fleet-config.js";
import { BIN, compare, HOUR, parseNdjson, recordIds, runCli, tempDir, truthIds } from "./helpers/harness.js";

const T0 = Date.UTC(2026, 10, 20, 6, 0, 0);
const NOW = new Date(T0 + 2 * HOUR).toISOString();
const app = (i: number) => `11111111-2222-4333-8444-${String(5000 + i).padStart(12, "0")}`;
let sims: SimFleet;

beforeAll(async () => {
  sims = await startSimFleet(
    [0, 1, 2].map((i) => ({
      seed: 500 + i,
      ratePerHour: 50,
      tenantId: `00000000-0000-4000-8000-${String(6000 + i).padStart(12, "0")}`,
      organization: `cli${i}.onmicrosoft.com`,
      apps: [{ clientId: app(i), clientSecret: `secret-${i}` }],
    })),
  );
}, 60_000);
afterAll(async () => {
  await sims?.close();
});

/** t0 has the wrong secret; t1 and t2 are fine. */
function fleetConfig(dir: string, extra: Record<string, unknown> = {}): string {
  return writeFleetConfig(dir, sims, {
    start: T0,
    shared: {
      retry: { count: 1, backoff: { initial: 0.05, max: 0.1, jitter: 0.2 }, error_retry_span: 1, error_retry_count: 2 },
      log: { level: "info" },
      ...extra,
    },
    tenant: (_s, i) => ({ auth: { client_id: app(i), client_secret: `\${O365_SECRET_T${i}}` } }),
  });
}
const ENV = { O365_SECRET_T0: "wrong", O365_SECRET_T1: "secret-1", O365_SECRET_T2: "secret-2", O365MT_NOW: NOW };

describe("CLI with many tenants", () => {
  it("once: every tenant's records, a per-tenant summary, exit 1 because one failed; status shows it", async () => {
    const dir = tempDir();
    const file = fleetConfig(dir);
    const r = await runCli(["once", "--config", file], { env: ENV });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tenant t0: FAILED: auth error: .*client secret is wrong/);
    expect(r.stderr).toMatch(/tenant t1: ok, 8 window\(s\), \d+ record\(s\)/);
    expect(r.stderr).toMatch(/2 of 3 tenant\(s\) ok, 1 failed/);
    expect(r.stderr).not.toContain("secret-1");
    const records = parseNdjson(r.stdout);
    for (const i of [1, 2]) {
      const s = sims.sims[i]!;
      const mine = records.filter((x) => x["o365.message.tenant_id"] === s.tenantId);
      const truth = truthIds(s.truth(new Date(T0), new Date(T0 + 2 * HOUR)));
      expect(compare(truth, recordIds(mine))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    }
    // Log lines carry the tenant.
    expect(r.stderr.split("\n").some((l) => l.includes('"msg":"cycle done"') && l.includes('"tenant":"t2"'))).toBe(true);

    const st = await runCli(["status", "--config", file, "--json"], { env: ENV });
    expect(st.code).toBe(1);
    const rows = JSON.parse(st.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((x) => [x.tenant, x.healthy, x.cursor])).toEqual([
      ["t0", false, null],
      ["t1", true, NOW],
      ["t2", true, NOW],
    ]);
    expect(String(rows[0]!.last_error)).toMatch(/client secret is wrong/);
    const table = await runCli(["status", "--config", file], { env: ENV });
    expect(table.stdout.split("\n")[0]).toMatch(/^TENANT\s+CURSOR\s+LAG\s+LAST SUCCESS\s+LAST ERROR$/);
  }, 60_000);

  it("run: tenant-labelled metrics, /healthz healthy while any tenant is, /healthz?tenant= per tenant", async () => {
    const dir = tempDir();
    const file = fleetConfig(dir, { frequency: 1, metrics: { listen: "127.0.0.1:0" } });
    const child = spawn(process.execPath, [BIN, "run", "--config", file], {
      env: { ...process.env, ...ENV },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.stdout.resume();
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    try {
      let address: string | undefined;
      for (let i = 0; i < 200 && !address; i++) {
        address = /"address":"([^"]+)"/.exec(stderr)?.[1];
        if (!address) await new Promise((r) => setTimeout(r, 100));
      }
      expect(address).toBeDefined();
      const get = async (path: string) => {
        const res = await fetch(`http://${address}${path}`);
        return { status: res.status, body: await res.text() };
      };
      // t0 is past its tolerance (3 intervals) after a few seconds of failing.
      let t0 = await get("/healthz?tenant=t0");
      for (let i = 0; i < 100 && t0.status !== 503; i++) {
        await new Promise((r) => setTimeout(r, 100));
        t0 = await get("/healthz?tenant=t0");
      }
      expect(t0.status).toBe(503);
      // t1 is healthy once its first cycle is done (on a loaded machine that may take longer than the tolerance).
      let t1 = await get("/healthz?tenant=t1");
      for (let i = 0; i < 100 && t1.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        t1 = await get("/healthz?tenant=t1");
      }
      expect(
        t1.status,
        t1.body +
          stderr
            .split("\n")
            .filter((l) => l.includes('"error"'))
            .slice(0, 5)
            .join("\n"),
      ).toBe(200);
      expect((await get("/healthz?tenant=nope")).status).toBe(404);
      const all = await get("/healthz");
      expect(all.status, all.body).toBe(200);
      expect(JSON.parse(all.body)).toMatchObject({ mode: "any", tenants: 3, healthy: 2, unhealthy_tenants: ["t0"] });
      const metrics = (await get("/metrics")).body;
      expect(metrics).toMatch(/o365mt_records_emitted_total\{tenant="t1"\} [1-9]/);
      expect(metrics).toMatch(/o365mt_cycles_total\{tenant="t0",result="error"\} [1-9]/);
      expect(metrics).toMatch(/o365mt_tenant_healthy\{tenant="t0"\} 0/);
      // Lateness and latency per tenant, from real deliveries (issue 14's series, labelled).
      expect(metrics).toMatch(/o365mt_delivery_latency_seconds_count\{tenant="t1"\} [1-9]/);
      expect(metrics).toMatch(/o365mt_found_lateness_seconds_count\{tenant="t2",tier="new"\} [1-9]/);
      expect(metrics).toMatch(/o365mt_list_requests_total\{tenant="t1",kind="new"\} [1-9]/);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  }, 60_000);

  it("backfill, get-events and auth-test work on one tenant: --tenant NAME or tenant_id, required when there are several", async () => {
    const dir = tempDir();
    const file = fleetConfig(dir);
    for (const cmd of [["get-events"], ["auth-test"], ["backfill", "--from", new Date(T0).toISOString()]]) {
      const r = await runCli([cmd[0]!, "--config", file, ...cmd.slice(1)], { env: ENV });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`${cmd[0]}: the config lists 3 tenants; say which one with --tenant NAME.*tenants: t0, t1, t2`));
      expect(r.stdout).toBe("");
    }
    const typo = await runCli(["get-events", "--config", file, "--tenant", "t9"], { env: ENV });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/--tenant t9: no tenant of this name or tenant_id in the config.*did you mean --tenant t\d/);

    // get-events by name: that tenant's rows only, exactly its truth.
    const span = ["--start", new Date(T0).toISOString(), "--end", new Date(T0 + HOUR).toISOString(), "--limit", "0"];
    const ev = await runCli(["get-events", "--config", file, "--tenant", "t1", ...span], { env: ENV });
    expect(ev.code, ev.stderr).toBe(0);
    const truth1 = truthIds(sims.sims[1]!.truth(new Date(T0), new Date(T0 + HOUR)));
    expect(compare(truth1, recordIds(parseNdjson(ev.stdout)))).toEqual({ lost: 0, duplicates: 0, extra: 0 });

    // auth-test by tenant_id (any case): the right tenant's credentials; t0's wrong secret fails alone.
    const ok = await runCli(["auth-test", "--config", file, "--tenant", sims.sims[2]!.tenantId.toUpperCase()], { env: ENV });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/auth-test: collection would work/);
    const bad = await runCli(["auth-test", "--config", file, "--tenant", "t0"], { env: ENV });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/client secret is wrong/);

    // backfill: that tenant's records, its cursor in its own state directory.
    const bf = await runCli(
      [
        "backfill",
        "--config",
        file,
        "--tenant",
        "t2",
        "--from",
        new Date(T0).toISOString(),
        "--to",
        new Date(T0 + HOUR).toISOString(),
        "--window",
        "30",
        "--progress-every",
        "0",
      ],
      { env: ENV },
    );
    expect(bf.code, bf.stderr).toBe(0);
    const truth2 = truthIds(sims.sims[2]!.truth(new Date(T0), new Date(T0 + HOUR)));
    expect(compare(truth2, recordIds(parseNdjson(bf.stdout)))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    expect(readdirSync(join(dir, "state", "t2")).some((f) => f.endsWith(".state.json"))).toBe(true);
    expect(existsSync(join(dir, "state", "t1"))).toBe(false);
  }, 90_000);
});
