// `node bench/tenants.mjs`: many tenants in one process, time-scaled. N simulated tenants (a separate
// process) × RATE messages/hour each; the collector's `run` polls all of them with simulated time running
// SCALE times faster (O365MT_TIME_SCALE), frequency 300 simulated seconds. Measures the collector process
// only: peak RSS, CPU-seconds per simulated hour, records, and the worst tenant's lag at the end.
// Flags: --tenants N (500) · --rate R (100 messages/h ≈ 250 rows/h) · --hours H (1) · --scale K (60) ·
// --concurrency C (16) · --out FILE (bench/results-tenants.json)
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BIN, cpuSecondsOf, ROOT, startService } from "./lib.mjs";

const { values: f } = parseArgs({ options: { tenants: { type: "string" }, rate: { type: "string" }, hours: { type: "string" }, scale: { type: "string" }, concurrency: { type: "string" }, out: { type: "string" } } });
const N = Number(f.tenants ?? 500);
const RATE = Number(f.rate ?? 100);
const HOURS = Number(f.hours ?? 1);
const SCALE = Number(f.scale ?? 60);
const CONC = Number(f.concurrency ?? 16);
const MIN = 60_000;
const FREQ_SIM_S = 300;
const dir = mkdtempSync(join(tmpdir(), "o365mt-bench-tenants-"));
// Simulated time starts at a past, hour-aligned instant: all data is visible, the clock then runs scaled.
const T0 = Math.floor((Date.now() - 2 * 24 * 3600_000) / 3600_000) * 3600_000;

console.error(`bench tenants: starting ${N} simulated tenants`);
const sim = await startService([join(ROOT, "bench/tenants-sim.mjs"), String(N), String(RATE)], { timeoutMs: 300_000, label: "simulators" });
writeFileSync(join(dir, "ca.pem"), sim.info.ca);
const config = {
  http: { ca_file: join(dir, "ca.pem"), timeout: 60 },
  delay: 0,
  window: 5,
  frequency: Math.max(1, FREQ_SIM_S / SCALE),
  max_windows_per_run: 12,
  start: new Date(T0).toISOString(),
  state_dir: join(dir, "state"),
  log: { level: "warn" },
  tenant_concurrency: CONC,
  tenants: sim.info.tenants.map((t, i) => ({
    name: `t${i}`, tenant_id: t.tenantId, auth: { client_id: t.clientId, client_secret: t.clientSecret },
    endpoints: { login: t.url, graph: t.graphBase },
  })),
};
writeFileSync(join(dir, "fleet.yaml"), JSON.stringify(config));

console.error(`bench tenants: collector run, ${HOURS} simulated hour(s) at ×${SCALE} (${(HOURS * 3600) / SCALE} s)`);
const started = Date.now();
const child = spawn(process.execPath, [BIN, "run", "--config", join(dir, "fleet.yaml")], {
  cwd: ROOT, stdio: ["ignore", "pipe", "pipe"],
  env: { ...process.env, O365MT_NOW: new Date(T0).toISOString(), O365MT_TIME_SCALE: String(SCALE) },
});
let lines = 0;
let stderr = "";
child.stdout.on("data", (c) => { for (const b of c) if (b === 10) lines++; });
child.stderr.on("data", (c) => { stderr += c; if (stderr.length > 1e6) stderr = stderr.slice(-1e5); });
let peakKb = 0;
const poll = setInterval(() => {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
    if (m) peakKb = Math.max(peakKb, Number(m[1]));
  } catch { /* exited */ }
}, 500);
await new Promise((r) => setTimeout(r, (HOURS * 3600_000) / SCALE));
const cpu = cpuSecondsOf(child.pid);
const simNow = T0 + (Date.now() - started) * SCALE;
child.kill("SIGTERM");
const code = await new Promise((r) => child.on("close", (c) => r(c)));
clearInterval(poll);
await sim.stop();

// Each tenant's lag at the end: simulated now minus its cursor (from its status file).
const lags = config.tenants.map((t) => {
  try {
    const s = JSON.parse(readFileSync(join(dir, "state", t.name, "status.json"), "utf8"));
    return s.cursor ? (simNow - Date.parse(s.cursor)) / MIN : Infinity;
  } catch {
    return Infinity;
  }
});
const never = lags.filter((l) => !Number.isFinite(l)).length;
lags.sort((a, b) => a - b);
const result = {
  date: new Date().toISOString(), tenants: N, messagesPerTenantHour: RATE, simulatedHours: HOURS, timeScale: SCALE, tenantConcurrency: CONC,
  records: lines, exitCode: code, peakRssMB: Math.round(peakKb / 1024),
  cpuSecondsPerSimulatedHour: cpu === undefined ? null : +(cpu / HOURS).toFixed(1),
  coreShare: cpu === undefined ? null : +((cpu / HOURS) / 3600).toFixed(4),
  lagMinutes: { median: +lags[Math.floor(N / 2)].toFixed(1), p99: +lags[Math.floor(N * 0.99)].toFixed(1), worst: +lags[N - 1].toFixed(1) },
  // Records expected in the simulated span, roughly (2.5 rows per message): compare with `records`.
  // A single tenant's lag is at most one window (5 min) plus one poll interval (5 min) behind now.
  singleTenantBoundMinutes: 5 + FREQ_SIM_S / 60,
  tenantsWithoutASuccessfulCycle: never,
  errors: stderr.split("\n").filter((l) => l.includes('"level":"error"')).length,
};
writeFileSync(f.out ?? join(ROOT, "bench/results-tenants.json"), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result, null, 2));
