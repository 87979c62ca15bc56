// Shared test harness: a simulator, a config pointed at it, the CLI as a real subprocess, captured output.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PassThrough } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { stringify } from "yaml";
import { resolvePaths, validateConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { StateStore } from "../../src/cursor/store.js";
import { createLogger } from "../../src/log/logger.js";
import type { CollectorOptions } from "../../src/pipeline/collector-contract.js";
import { EVERYTHING, open, type Runtime, type RuntimeOptions } from "../../src/runtime.js";
import { identity } from "../../src/schema/mapper.js";
import type { Simulator, GraphTraceItem } from "../../src/sim/index.js";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const BIN = join(ROOT, "bin/o365-message-trace.js");
export const MIN = 60_000;

/**
 * A full garbage collection, for tests that prove an object is not retained (a WeakRef's target is gone after
 * it). Outside the current job first: a WeakRef keeps its target alive until the job that created it ends.
 */
export async function collectGarbage(): Promise<void> {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  for (let i = 0; i < 2; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
}
export const HOUR = 60 * MIN;

export function tempDir(prefix = "o365mt-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A config (as YAML-able object) pointing at the simulator. */
export function simConfigInput(sim: Simulator, dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const caFile = join(dir, "sim-ca.pem");
  writeFileSync(caFile, sim.ca);
  return {
    tenant_id: sim.tenantId,
    auth: { method: "client_secret", client_id: sim.clientId, client_secret: sim.clientSecret },
    endpoints: { login: sim.url, graph: sim.graphBase, rws: sim.rwsBase },
    http: { ca_file: caFile, timeout: 30 },
    retry: { count: 3, backoff: { initial: 0.05, max: 0.2, jitter: 0.2 }, error_retry_span: 1, error_retry_count: 3 },
    // Tests page a lot on purpose; the production default (100 requests / 5 min) would only slow them.
    request_budget: { limit: 100000, window_seconds: 1 },
    delay: 0,
    window: 15,
    state_dir: join(dir, "state"),
    local_domains: ["contoso.com", sim.organization],
    log: { level: "warn" },
    ...extra,
  };
}

export function simConfig(sim: Simulator, dir: string, extra: Record<string, unknown> = {}): Config {
  return resolvePaths(validateConfig(simConfigInput(sim, dir, extra), "test config"), dir);
}

export function writeConfig(dir: string, input: Record<string, unknown>, name = "config.yaml"): string {
  const file = join(dir, name);
  writeFileSync(file, stringify(input));
  return file;
}

/** In-process runtime whose stdout sink writes into a buffer; returns parsed records. `collector`: option overrides. */
export function captureRuntime(
  config: Config,
  sim: Simulator,
  opts: Partial<RuntimeOptions> = {},
  collector: Partial<CollectorOptions> = {},
): { rt: Runtime; records: () => Array<Record<string, unknown>>; raw: () => string } {
  const out = new PassThrough();
  let text = "";
  out.on("data", (c: Buffer) => (text += c.toString("utf8")));
  const rt = open(
    config,
    { ...EVERYTHING, collector },
    { logger: createLogger({ level: "error", write: () => {} }), caPem: sim.ca, stdout: out, ...opts },
  );
  return {
    rt,
    raw: () => text,
    records: () =>
      text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

/** Identities `(trace_id, recipient, status)` of truth rows, each with the status the truth shows now. */
export function truthIds(items: GraphTraceItem[]): string[] {
  return items.map((t) => identity(t.id, t.recipientAddress, t.status));
}

export function recordIds(records: Array<Record<string, unknown>>): string[] {
  return records.map((r) =>
    identity(r["o365.message.trace_id"] as string, r["o365.message.recipient"] as string, r["o365.message.status"] as string),
  );
}

/** Lost and duplicated identities of `delivered` against `expected`. */
export function compare(expected: string[], delivered: string[]): { lost: number; duplicates: number; extra: number } {
  const exp = new Set(expected);
  const got = new Map<string, number>();
  for (const id of delivered) got.set(id, (got.get(id) ?? 0) + 1);
  let duplicates = 0;
  for (const n of got.values()) if (n > 1) duplicates += n - 1;
  return {
    lost: [...exp].filter((id) => !got.has(id)).length,
    duplicates,
    extra: [...got.keys()].filter((id) => !exp.has(id)).length,
  };
}

/** Lost and extra only, for a test that allows (and measures on its own) repeats after a receiver fault. */
export function lostAndExtra(expected: string[], delivered: string[]): { lost: number; extra: number } {
  const { lost, extra } = compare(expected, delivered);
  return { lost, extra };
}

/** What the simulator holds for [from, to) compared with what was delivered: all three must be 0. */
export function againstTruth(sim: Simulator, from: number, to: number, delivered: Array<Record<string, unknown>>) {
  return compare(truthIds(sim.truth(new Date(from), new Date(to))), recordIds(delivered));
}

/** One in-process cycle from `config.start` with the clock at `to`, compared with the truth of [from, to). */
export async function collectAgainstTruth(config: Config, sim: Simulator, from: number, to: number) {
  const { rt, records } = captureRuntime(config, sim, { clock: () => to });
  try {
    await rt.collector.runCycle();
  } finally {
    await rt.close();
  }
  return againstTruth(sim, from, to, records());
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the real CLI (compiled dist/) as a subprocess; `nodeArgs` go to node before the launcher. */
export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onSpawn?: (pid: number) => void; nodeArgs?: string[] } = {},
): Promise<CliResult> {
  return new Promise((resolveP, reject) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    if (child.pid) opts.onSpawn?.(child.pid);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolveP({ code, signal, stdout, stderr });
    });
  });
}

export function parseNdjson(text: string): Array<Record<string, unknown>> {
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

export type LogEntry = { time: string; level: string; msg: string } & Record<string, unknown>;

/** Our stderr is one JSON log object per line when it is not a terminal; a line that is not JSON fails the test. */
export function logEntries(stderr: string): LogEntry[] {
  return stderr
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as LogEntry;
      } catch {
        throw new Error(`stderr line is not a JSON object: ${line}`);
      }
    });
}

/** The messages alone, one per line: what a person reads. */
export function logMessages(stderr: string): string {
  return logEntries(stderr)
    .map((e) => e.msg)
    .join("\n");
}

/** The last message, e.g. the one-line fatal error. */
export function lastLogMessage(stderr: string): string {
  return logEntries(stderr).at(-1)?.msg ?? "";
}

/** The Graph cursor committed under `dir/state`, read from the file as it is (undefined before the first commit). */
export function storedCursor(sim: Simulator, dir: string): string | undefined {
  const file = new StateStore(join(dir, "state"), sim.tenantId, "graph").file;
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { cursor?: string }).cursor : undefined;
}

/** A Graph state under `dir/state` with only a cursor (no identities), as an earlier run would leave it. */
export function writeStoredCursor(sim: Simulator, dir: string, cursor: string): void {
  mkdirSync(join(dir, "state"), { recursive: true, mode: 0o700 });
  const state = { version: 1, tenant_id: sim.tenantId, source: "graph", cursor, windows_done: 1, records_delivered: 0, cycles: 1 };
  writeFileSync(new StateStore(join(dir, "state"), sim.tenantId, "graph").file, JSON.stringify(state), { mode: 0o600 });
}
