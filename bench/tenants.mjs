// `node bench/tenants.mjs` (also `npm run bench`, case "tenants"): many tenants in one process, time-scaled.
// N simulated tenants (a separate process) × RATE messages/hour each; the collector's `run` polls all of them
// with simulated time running SCALE times faster (O365MT_NOW + O365MT_TIME_SCALE), window 5 and frequency 300
// simulated seconds. Measures the collector process only: peak RSS, CPU-seconds per simulated hour (÷ 3600 =
// the share of one core the same load takes in real time), records, each tenant's delivery latency (simulated
// time of output − receivedDateTime) and cursor lag at the end. Prints each target next to the measured figure.
// Flags: --tenants N (500) · --rate R (100 messages/h ≈ 250 rows/h) · --hours H (1) · --scale K (12) ·
// --concurrency C (16) · --quick (100 tenants, a quarter hour) · --out FILE (bench/results-tenants.json)
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BIN, cpuSecondsOf, ROOT, startService } from "./lib.mjs";

const { values: f } = parseArgs({
  options: {
    tenants: { type: "string" },
    rate: { type: "string" },
    hours: { type: "string" },
    scale: { type: "string" },
    concurrency: { type: "string" },
    quick: { type: "boolean" },
    out: { type: "string" },
  },
});
const N = Number(f.tenants ?? (f.quick ? 100 : 500));
const RATE = Number(f.rate ?? 100);
const HOURS = Number(f.hours ?? (f.quick ? 0.25 : 1));
// ×12: a poll interval of 300 simulated seconds is 25 real ones, so the 500 tenants' cycles, the simulators
// (another process) and whatever else shares the machine's two cores fit; every tenant is still polled 12 times.
const SCALE = Number(f.scale ?? 12);
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
    name: `t${i}`,
    tenant_id: t.tenantId,
    auth: { client_id: t.clientId, client_secret: t.clientSecret },
    endpoints: { login: t.url, graph: t.graphBase },
  })),
};
writeFileSync(join(dir, "fleet.yaml"), JSON.stringify(config));

console.error(`bench tenants: collector run, ${HOURS} simulated hour(s) at ×${SCALE} (${(HOURS * 3600) / SCALE} s)`);
const started = Date.now();
const child = spawn(process.execPath, [BIN, "run", "--config", join(dir, "fleet.yaml")], {
  cwd: ROOT,
  stdio: ["ignore", "pipe", "pipe"],
  env: { ...process.env, O365MT_NOW: new Date(T0).toISOString(), O365MT_TIME_SCALE: String(SCALE) },
});
let lines = 0;
let stderr = "";
// Delivery latency per tenant, in simulated minutes: when the record came out (the collector's scaled clock)
// minus its receivedDateTime.
const latency = new Map();
const MSG = (k) => `o365.message.${k}`;
let partial = "";
child.stdout.on("data", (c) => {
  const simAt = T0 + (Date.now() - started) * SCALE;
  const text = partial + c.toString("utf8");
  const parts = text.split("\n");
  partial = parts.pop();
  for (const line of parts) {
    if (!line) continue;
    lines++;
    try {
      const r = JSON.parse(line);
      const tenant = r[MSG("tenant_id")];
      let l = latency.get(tenant);
      if (!l) latency.set(tenant, (l = []));
      l.push((simAt - Date.parse(r[MSG("received")])) / MIN);
    } catch {
      /* counted; not a record */
    }
  }
});
child.stderr.on("data", (c) => {
  stderr += c;
  if (stderr.length > 1e6) stderr = stderr.slice(-1e5);
});
let peakKb = 0;
const poll = setInterval(() => {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
    if (m) peakKb = Math.max(peakKb, Number(m[1]));
  } catch {
    /* exited */
  }
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
const pct = (v, p) => v[Math.min(v.length - 1, Math.floor(v.length * p))];
// Per tenant: its 99th percentile and its worst record; then across tenants, the median and the worst.
const perTenant = [...latency.values()].map((v) => {
  v.sort((a, b) => a - b);
  return { p99: pct(v, 0.99), max: v[v.length - 1] };
});
const across = (k) => {
  const v = perTenant.map((t) => t[k]).sort((a, b) => a - b);
  return v.length ? { medianTenant: +pct(v, 0.5).toFixed(1), worstTenant: +v[v.length - 1].toFixed(1) } : null;
};
lags.sort((a, b) => a - b);
const result = {
  date: new Date().toISOString(),
  tenants: N,
  messagesPerTenantHour: RATE,
  simulatedHours: HOURS,
  timeScale: SCALE,
  tenantConcurrency: CONC,
  records: lines,
  exitCode: code,
  peakRssMB: Math.round(peakKb / 1024),
  cpuSecondsPerSimulatedHour: cpu === undefined ? null : +(cpu / HOURS).toFixed(1),
  coreShare: cpu === undefined ? null : +(cpu / HOURS / 3600).toFixed(4),
  lagMinutes: { median: +lags[Math.floor(N / 2)].toFixed(1), p99: +lags[Math.floor(N * 0.99)].toFixed(1), worst: +lags[N - 1].toFixed(1) },
  // Rows the simulators produced in the span, roughly (2.5 per message); the last 5–10 minutes are not due yet.
  recordsInSpanApprox: Math.round(N * RATE * 2.5 * HOURS),
  deliveryLatencyMinutes: { p99: across("p99"), max: across("max") },
  tenantsWithRecords: latency.size,
  // One tenant alone: a record waits at most one window (5 min: its window is read once it has ended) plus
  // one poll interval (5 min); its cursor is as far behind. The target allows one more cycle (5 min).
  singleTenantBoundMinutes: 5 + FREQ_SIM_S / 60,
  tenantsWithoutASuccessfulCycle: never,
  errors: stderr.split("\n").filter((l) => l.includes('"level":"error"')).length,
};
writeFileSync(f.out ?? join(ROOT, "bench/results-tenants.json"), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result, null, 2));

// Issue 17's targets next to the measured figures.
const bound = result.singleTenantBoundMinutes + FREQ_SIM_S / 60;
const worstLatency = result.deliveryLatencyMinutes.max?.worstTenant;
const rows = [
  [`peak RSS, ${N} tenants in one process`, `${result.peakRssMB} MB`, "≤ 400 MB", result.peakRssMB <= 400],
  [
    "CPU: share of one core (CPU-s per simulated hour ÷ 3600)",
    result.coreShare === null ? "n/a" : `${(result.coreShare * 100).toFixed(2)} % (${result.cpuSecondsPerSimulatedHour} CPU-s/h)`,
    "< 5 %",
    result.coreShare !== null && result.coreShare < 0.05,
  ],
  [
    "worst tenant's delivery latency (max)",
    worstLatency === undefined ? "no records" : `${worstLatency} min (median tenant ${result.deliveryLatencyMinutes.max.medianTenant})`,
    `≤ ${bound} min`,
    worstLatency !== undefined && worstLatency <= bound,
  ],
  [
    "worst tenant's cursor lag at the end",
    `${result.lagMinutes.worst} min (median ${result.lagMinutes.median})`,
    `≤ ${bound} min`,
    result.lagMinutes.worst <= bound,
  ],
  [
    "tenants with records / without a successful cycle",
    `${result.tenantsWithRecords} / ${never}`,
    `${N} / 0`,
    result.tenantsWithRecords === N && never === 0,
  ],
];
const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
console.log("");
console.log(`| ${"tenants bench".padEnd(w[0])} | ${"measured".padEnd(w[1])} | ${"target".padEnd(w[2])} | met |`);
for (const [what, got, want, ok] of rows)
  console.log(`| ${what.padEnd(w[0])} | ${got.padEnd(w[1])} | ${want.padEnd(w[2])} | ${ok ? "yes" : "no"} |`);
console.log(
  `(×${SCALE} time, ${HOURS} simulated hour(s), tenant_concurrency ${CONC}; single-tenant bound ${result.singleTenantBoundMinutes} min + one cycle)`,
);
