// `simulate` and `once` as two real processes, the way an operator tries a config: repeated `once` runs
// reproduce the simulator's truth (fetched over its HTTP control API), even with random faults on.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, compare, HOUR, parseNdjson, recordIds, runCli, tempDir, truthIds, writeConfig } from "./helpers/harness.js";
import type { GraphTraceItem } from "../src/sim/index.js";

let child: ChildProcess;
let info: { url: string; tenantId: string; clientId: string; clientSecret: string; rwsBase: string; graphBase: string };
const dir = tempDir();
const caFile = join(dir, "sim-ca.pem");
const T0 = Date.UTC(2026, 10, 22, 0, 0, 0);

beforeAll(async () => {
  child = spawn(
    process.execPath,
    [BIN, "simulate", "--port", "0", "--seed", "5", "--rate", "200", "--fault-rate", "0.15", "--ca-out", caFile],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`simulate exited ${code}`)));
  });
  info = JSON.parse(first);
});
afterAll(async () => {
  child?.kill("SIGTERM");
});

describe("simulate + once (two processes)", () => {
  it("prints its endpoints and credentials as one JSON line and writes its CA", () => {
    expect(info.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(readFileSync(caFile, "utf8")).toContain("BEGIN CERTIFICATE");
  });

  it("repeated `once` runs reproduce the truth despite random faults", async () => {
    const config = writeConfig(dir, {
      tenant_id: info.tenantId,
      auth: { client_id: info.clientId, client_secret: info.clientSecret },
      endpoints: { login: info.url, graph: info.graphBase, rws: info.rwsBase },
      http: { ca_file: caFile, timeout: 20 },
      retry: { count: 8, backoff: { initial: 0.02, max: 0.1, jitter: 0.2 } },
      request_budget: { limit: 100000, window_seconds: 1 },
      delay: 0,
      window: 30,
      page_size: 40,
      max_windows_per_run: 3,
      start: new Date(T0).toISOString(),
      state_dir: join(dir, "state"),
      log: { level: "warn" },
    });
    const env = { O365MT_NOW: new Date(T0 + 3 * HOUR).toISOString() };
    let out = "";
    for (let i = 0; i < 3; i++) {
      const r = await runCli(["once", "--config", config], { env });
      expect(r.code, r.stderr).toBe(0);
      out += r.stdout;
    }
    const res = await request(`${info.url}/_sim/truth?from=${new Date(T0).toISOString()}&to=${new Date(T0 + 3 * HOUR).toISOString()}`, {
      dispatcher: new Agent({ connect: { ca: readFileSync(caFile, "utf8") } }),
    });
    const truth = (await res.body.json()) as { count: number; value: GraphTraceItem[] };
    expect(truth.count).toBeGreaterThan(300);
    expect(compare(truthIds(truth.value), recordIds(parseNdjson(out)))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });
});
