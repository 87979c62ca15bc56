// Helpers shared by the reliability, crash and secrets tests: a collector driven cycle by cycle against a
// simulator whose clock the test moves, and a scanner that looks for credentials in captured text.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../src/config/schema.js";
import type { CollectorOptions } from "../../src/pipeline/collector-contract.js";
import { createLogger } from "../../src/log/logger.js";
import type { Simulator } from "../../src/sim/index.js";
import type { Envelope, Sink } from "../../src/types.js";
import { BIN, captureRuntime, recordIds } from "./harness.js";

export const MIN = 60_000;

/** Every log line the collector wrote, for the secret scan and for assertions on messages. */
export function captureLogger(level: "debug" | "info" | "warn" | "error" = "debug") {
  const lines: string[] = [];
  return { logger: createLogger({ level, write: (l) => void lines.push(l) }), lines };
}

export interface Driven {
  /** Identities delivered, in order, across every runtime the driver created. */
  delivered: string[];
  /** Raw NDJSON text of all runtimes. */
  stdout: string;
  logs: string[];
  cursor?: string;
  cycles: number;
}

/**
 * Run cycles while moving the simulated clock: cycle k runs at `from + k*step`. Every `restartEvery`
 * cycles the runtime is thrown away and a new one built from the same state dir (a restart).
 */
export async function driveCycles(
  sim: Simulator,
  config: Config,
  o: { from: number; to: number; step: number; restartEvery?: number; collector?: Partial<CollectorOptions> },
): Promise<Driven> {
  const out: Driven = { delivered: [], stdout: "", logs: [], cycles: 0 };
  let now = o.from;
  const clock = () => now;
  const { logger, lines } = captureLogger("debug");
  let cur = captureRuntime(config, sim, { clock, logger }, o.collector);
  const drain = async () => {
    await cur.rt.close();
    out.stdout += cur.raw();
    out.delivered.push(...recordIds(cur.records()));
  };
  for (; now <= o.to; now += o.step) {
    sim.setNow(now);
    const r = await cur.rt.collector.runCycle();
    out.cursor = r.cursor;
    out.cycles++;
    if (o.restartEvery && out.cycles % o.restartEvery === 0) {
      await drain();
      cur = captureRuntime(config, sim, { clock, logger }, o.collector);
    }
  }
  await drain();
  out.logs = lines;
  return out;
}

/** Text of every file in a directory tree (state dirs), for the secret scan. */
export function readTree(dir: string): string {
  if (!existsSync(dir)) return "";
  let text = "";
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    text += statSync(p).isDirectory() ? readTree(p) : `\n--- ${p}\n` + readFileSync(p, "utf8");
  }
  return text;
}

const JWT = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/;
const BEARER = /Bearer\s+(?!\[REDACTED)[A-Za-z0-9\-._~+/]{8,}/i;
const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const FORM_SECRET = /(client_secret|refresh_token|access_token|client_assertion)["']?\s*[:=]\s*["']?(?!\[REDACTED)[^"'&\s,}\]]{6,}/i;

/** Findings of credentials in `text`: known secret values plus anything shaped like a token or key. */
export function findSecrets(text: string, known: string[] = []): string[] {
  const hits: string[] = [];
  for (const k of known) if (k && text.includes(k)) hits.push(`known secret ${k.slice(0, 4)}…`);
  for (const [name, re] of [
    ["jwt", JWT],
    ["bearer", BEARER],
    ["pem key", PEM_KEY],
    ["credential parameter", FORM_SECRET],
  ] as const) {
    const m = re.exec(text);
    if (m) hits.push(`${name}: ${m[0].slice(0, 24)}…`);
  }
  return hits;
}

export interface OnceRun {
  stdout: string;
  stderr: string;
  /** Killed by us (SIGKILL), not finished on its own. */
  killed: boolean;
  code: number | null;
}

/** When to SIGKILL a `once` subprocess: after a time, after its n-th stdout chunk, or as soon as its stderr matches. */
export interface KillAt {
  afterMs?: number;
  afterChunks?: number;
  onStderr?: RegExp;
}

/** The real `once` as a subprocess at a pinned time (O365MT_NOW), killed with SIGKILL as `kill` says; a guard kills a hang. */
export function onceProcess(config: string, now: number, kill: KillAt = {}, guardMs = 60_000): Promise<OnceRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "once", "--config", config], {
      env: { ...process.env, O365MT_NOW: new Date(now).toISOString() },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let chunks = 0;
    let killed = false;
    const doKill = () => {
      if (!killed && child.exitCode === null) killed = child.kill("SIGKILL");
    };
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
      if (kill.afterChunks && ++chunks >= kill.afterChunks) doKill();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
      if (kill.onStderr?.test(stderr)) doKill();
    });
    const timer = kill.afterMs !== undefined ? setTimeout(doKill, kill.afterMs) : undefined;
    const guard = setTimeout(() => child.kill("SIGKILL"), guardMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      clearTimeout(guard);
      resolve({ stdout, stderr, killed: killed && code === null, code });
    });
  });
}

/** Passes records through until `limit` went out, then fails mid-send like a receiver that died. */
export function failingAfter(limit: number): (sink: Sink) => Sink {
  return (inner) => {
    let out = 0;
    return {
      name: inner.name,
      async send(batch: Envelope[]) {
        if (out + batch.length <= limit) {
          out += batch.length;
          return inner.send(batch);
        }
        await inner.send(batch.slice(0, limit - out));
        out = limit;
        throw new Error("receiver died mid-batch");
      },
      flush: () => inner.flush(),
      close: () => inner.close(),
    };
  };
}
