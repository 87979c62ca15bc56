// Process plumbing for the benchmark: start the simulator / receiver / one case as child processes on
// 127.0.0.1, read their one-line JSON answers, bound every child in time, and stop them all on exit.
import { spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const BIN = join(ROOT, "bin/o365-message-trace.js");
const CHILD = join(ROOT, "bench/child.mjs");
const children = new Set();

export function killAll() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  children.clear();
}
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"])
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });

function track(child) {
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

/** Spawn a long-running helper that prints one JSON line when ready. */
export function startService(args, { timeoutMs = 60_000, label }) {
  const child = track(spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }));
  let stderr = "";
  child.stderr.on("data", (c) => (stderr += c));
  const lines = createInterface({ input: child.stdout });
  const it = lines[Symbol.asyncIterator]();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${label} did not start in ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code}) before it was ready: ${stderr}`));
    });
    it.next().then(({ value }) => {
      clearTimeout(timer);
      child.removeAllListeners("exit");
      child.on("exit", () => children.delete(child));
      resolve({
        info: JSON.parse(value),
        child,
        /** SIGTERM, then the next JSON line it prints (if any) — the receiver's counts. */
        async stop() {
          if (child.exitCode !== null) return undefined;
          const last = it.next();
          child.kill("SIGTERM");
          const kill = setTimeout(() => child.kill("SIGKILL"), 5_000);
          const r = await Promise.race([last, new Promise((r) => child.once("exit", () => r({ done: true })))]);
          clearTimeout(kill);
          return r && !r.done && r.value ? JSON.parse(r.value) : undefined;
        },
      });
    }, reject);
  });
}

/**
 * Run one case: `node [nodeArgs] bench/child.mjs mode ...args`, stdout to /dev/null, stderr captured
 * (collector logs), the resource report from fd 3.
 */
export function runCase(mode, args, { env = {}, nodeArgs = [], timeoutMs = 15 * 60_000 } = {}) {
  const devnull = openSync("/dev/null", "w");
  const child = track(
    spawn(process.execPath, [...nodeArgs, CHILD, mode, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", devnull, "pipe", "pipe"],
    }),
  );
  let stderr = "";
  let report = "";
  child.stderr.on("data", (c) => {
    stderr += c;
    if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
  });
  child.stdio[3].on("data", (c) => (report += c));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      let r = {};
      try {
        r = JSON.parse(report.trim().split("\n").pop() || "{}");
      } catch {
        /* reported below */
      }
      resolve({ ...r, code, signal, stderr, logs: parseLogs(stderr) });
    });
  });
}

function parseLogs(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      /* not a log line */
    }
  }
  return out;
}

/** GET a simulator control endpoint (no auth) over its own CA. */
export async function simControl(sim, path) {
  const { Agent, request } = await import("undici");
  const dispatcher = new Agent({ connect: { ca: readFileSync(sim.caFile, "utf8") } });
  try {
    const res = await request(`${sim.url}${path}`, { dispatcher });
    return await res.body.json();
  } finally {
    await dispatcher.close();
  }
}

/** CPU seconds used so far by a child (Linux /proc; undefined elsewhere). */
export function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return undefined;
  }
}

export async function startSim(extraArgs, caFile) {
  return startService([BIN, "simulate", "--port", "0", "--host", "127.0.0.1", "--ca-out", caFile, ...extraArgs], { label: "simulator" });
}
