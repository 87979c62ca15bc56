// Bench case "freshness": the default configuration over a simulated day, time-scaled (the simulated clock
// moves 5 minutes per cycle, the default `frequency`), against the field lateness model (most rows within
// minutes, a tail to 24 h) and the tenant's throttle (100 requests per 5-minute running window, counted on
// the simulated clock). Prints rows lost, requests used / budget, p50 / p99 delivery latency, re-scan
// coverage and dedupe memory for tenants of about 1 k, 100 k and 2.5 M rows per hour.
//
// Scaling, so that a day of a 2.5 M rows/hour tenant runs in about a minute: rows per hour AND page size are
// divided by the same factor k (e.g. 100 k rows/h with 5 000-row pages is run as 1 k rows/h with 50-row
// pages). Every request count, the budget, the planner's decisions, coverage and latency are the same as at
// full scale; only the rows per page differ. Dedupe memory is measured separately at full scale (identities
// fed to the spilling set at the real rate, trimmed as the collector does), for a shortened span when noted.
//
// Usage: node bench/freshness.mjs [--quick] [--json FILE] [--delay MINUTES] [--only 1k,100k,2.5M]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";

const { values: flags } = parseArgs({
  options: { quick: { type: "boolean" }, json: { type: "string" }, delay: { type: "string" }, only: { type: "string" } },
});
const dist = new URL("../dist/", import.meta.url);
const { startSimulator } = await import(new URL("sim/index.js", dist));
const { validateConfig, resolvePaths } = await import(new URL("config/load.js", dist));
const { createRuntime } = await import(new URL("runtime.js", dist));
const { createLogger } = await import(new URL("log/logger.js", dist));
const { SpillingSeenSet } = await import(new URL("dedupe/spill.js", dist));

const MIN = 60_000;
const HOUR = 60 * MIN;
const CYCLE = 5 * MIN;
// A cycle's requests take a few seconds in real life; here they share one simulated instant, so the next cycle
// starts one second more than `frequency` later for the running window to have moved past them.
const STEP = CYCLE + 1000;
/** Oldest re-scan band's period plus two cycles: a row visible this long before the end must have been read. */
const SETTLE = 240 + 10;
const PAGE = 5000;
const BUDGET = { limit: 100, window_seconds: 300 };
const BUDGET_PER_DAY = (BUDGET.limit * 86_400) / BUDGET.window_seconds;
// The simulator's messages have 1–4 recipients (≈ 2.5 rows each).
const ROWS_PER_MESSAGE = 2.5;
const SIM_ROWS_PER_HOUR = 1000;

const tenants = [
  { key: "1k", name: "1 k rows/h", rowsPerHour: 1_000 },
  { key: "100k", name: "100 k rows/h", rowsPerHour: 100_000 },
  { key: "2.5M", name: "2.5 M rows/h", rowsPerHour: 2_500_000 },
].filter((t) => !flags.only || flags.only.split(",").includes(t.key));
// A simulated day of collection (--quick: 8 hours); what counts as lost is defined where it is measured.
const SPAN = flags.quick ? 8 * HOUR : 24 * HOUR;
const T0 = Date.UTC(2026, 10, 20);

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function collect(t) {
  const k = Math.max(1, t.rowsPerHour / SIM_ROWS_PER_HOUR);
  const pageSize = Math.max(1, Math.round(PAGE / k));
  const sim = await startSimulator({
    seed: 140,
    ratePerHour: t.rowsPerHour / k / ROWS_PER_MESSAGE,
    maxRecipients: 4,
    lateness: { model: "field" },
    throttle: { limit: BUDGET.limit, windowMs: BUDGET.window_seconds * 1000 },
    throttleClock: "sim",
  });
  const dir = mkdtempSync(join(tmpdir(), "o365mt-fresh-"));
  try {
    const caFile = join(dir, "ca.pem");
    writeFileSync(caFile, sim.ca);
    // Everything else at its default: delay, window, frequency, rescan, request_budget, dedupe.
    const config = resolvePaths(
      validateConfig({
        tenant_id: sim.tenantId,
        auth: { method: "client_secret", client_id: sim.clientId, client_secret: sim.clientSecret },
        endpoints: { login: sim.url, graph: sim.graphBase },
        http: { ca_file: caFile },
        page_size: pageSize,
        ...(flags.delay !== undefined ? { delay: Number(flags.delay) } : {}),
        state_dir: join(dir, "state"),
      }),
      dir,
    );
    let now = T0 + 10 * MIN;
    const clock = () => now;
    const delivered = new Map();
    const latencies = [];
    let duplicates = 0;
    const logs = [];
    const logger = createLogger({ level: "info", write: (l) => logs.push(l) });
    const rt = createRuntime(config, {
      logger,
      clock,
      caPem: sim.ca,
      stdout: new Writable({ write: (_c, _e, cb) => cb() }),
      wrapSink: (sink) => ({
        name: sink.name,
        async send(batch) {
          for (const e of batch) {
            if (delivered.has(e.id)) duplicates++;
            delivered.set(e.id, now);
            latencies.push((now - e.time) / MIN);
          }
        },
        flush: () => Promise.resolve(),
        close: () => sink.close(),
      }),
    });
    const end = T0 + SPAN;
    const started = Date.now();
    let covered = [];
    try {
      for (; now <= end; now += STEP) {
        sim.setNow(now);
        await rt.collector.runCycle();
      }
    } finally {
      await rt.close();
    }
    for (const l of logs) {
      const m = /"msg":"cycle freshness","covered_minutes":(\d+)/.exec(l);
      if (m) covered.push(Number(m[1]));
    }
    const state = rt.store.load().state;
    const from = new Date(state.origin);
    const cursor = new Date(state.cursor);
    // Lost: rows received in [origin, cursor) that were visible SETTLE minutes before the end (every band has
    // been re-read since) and never delivered. Pending: visible later, not delivered yet (their band's next
    // read is still to come): not lost, and listed apart.
    const { identity } = await import(new URL("schema/mapper.js", dist));
    sim.setNow(end - SETTLE * MIN);
    const promised = sim.truth(from, cursor, { visibleOnly: true });
    sim.setNow(end);
    const visible = sim.truth(from, cursor, { visibleOnly: true });
    const missing = (rows) => rows.filter((r) => !delivered.has(identity(r.id, r.recipientAddress, r.status))).length;
    const lost = missing(promised);
    const pending = missing(visible) - lost;
    const lostSettled = pending;
    const stats = sim.stats();
    latencies.sort((a, b) => a - b);
    const days = (end - T0) / (24 * HOUR);
    return {
      tenant: t.name,
      scale: k,
      pageSize,
      rows: visible.length,
      lost,
      pending: lostSettled,
      duplicates,
      requests: stats.requests.graph ?? 0,
      budget: Math.round(BUDGET_PER_DAY * days),
      responses429: stats.throttled,
      p50Minutes: quantile(latencies, 0.5),
      p99Minutes: quantile(latencies, 0.99),
      coveredMinutes: covered.length ? Math.min(...covered.slice(Math.floor(covered.length / 2))) : 0,
      wallSeconds: (Date.now() - started) / 1000,
    };
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Dedupe memory at full scale: identities of a tenant's rows fed at the real rate, one cycle at a time, into
 * the spilling set the collector uses, trimmed and pruned the way the collector does with the default plan
 * (hot: the last ≈ 80 minutes; kept: the 24 h horizon plus the oldest band). Reports the peak resident bytes.
 */
async function dedupeMemory(rowsPerHour, hours) {
  const dir = mkdtempSync(join(tmpdir(), "o365mt-mem-"));
  try {
    const seen = new SpillingSeenSet(join(dir, "seen"));
    const perCycle = Math.round((rowsPerHour * CYCLE) / HOUR);
    let n = 0;
    for (let t = T0; t < T0 + hours * HOUR; t += CYCLE) {
      for (let i = 0; i < perCycle; i++)
        seen.add(`${(n++).toString(36)}-trace|rcpt@contoso.com|delivered`, t + Math.floor((i * CYCLE) / perCycle));
      seen.trim(t - 80 * MIN);
      seen.prune(t - (24 * 60 + 245 + 10) * MIN);
    }
    return { peakMB: seen.peakBytes / 2 ** 20, hours, identities: n };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
for (const t of tenants) {
  process.stderr.write(`bench: freshness ${t.name} (simulated ${SPAN / HOUR} h)\n`);
  const r = await collect(t);
  const hours = t.rowsPerHour >= 1_000_000 ? (flags.quick ? 2 : 6) : flags.quick ? 4 : 26;
  const mem = await dedupeMemory(t.rowsPerHour, hours);
  r.dedupeMB = mem.peakMB;
  r.dedupeHours = mem.hours;
  rows.push(r);
}
if (flags.json) writeFileSync(flags.json, JSON.stringify(rows, null, 2) + "\n");

const f = (n, d = 0) =>
  n === undefined || Number.isNaN(n) ? "" : Number(n).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const head = [
  "tenant",
  "scale",
  "rows",
  "lost",
  "dup",
  "requests / budget",
  "429",
  "p50 min",
  "p99 min",
  "covered h",
  "dedupe MB",
  "wall s",
];
const body = rows.map((r) => [
  r.tenant,
  `1/${f(r.scale)} (page ${r.pageSize})`,
  f(r.rows),
  `${r.lost}${r.pending ? ` (+${r.pending} pending)` : ""}`,
  f(r.duplicates),
  `${f(r.requests)} / ${f(r.budget)} (${f((100 * r.requests) / r.budget)} %)`,
  f(r.responses429),
  f(r.p50Minutes, 1),
  f(r.p99Minutes, 0),
  f(r.coveredMinutes / 60, 1),
  `${f(r.dedupeMB, 1)}${r.dedupeHours < 24 ? ` (${r.dedupeHours} h)` : ""}`,
  f(r.wallSeconds, 1),
]);
const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
const line = (cells) => "| " + cells.map((c, i) => String(c).padEnd(w[i])).join(" | ") + " |";
console.log(
  `freshness: defaults (delay ${flags.delay ?? 5}, window 5, frequency 300 s, rescan 24 h, budget 100 / 5 min), field lateness, simulated ${SPAN / HOUR} h`,
);
console.log(line(head));
console.log("|" + w.map((n) => "-".repeat(n + 2)).join("|") + "|");
for (const b of body) console.log(line(b));
