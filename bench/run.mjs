// `npm run bench`: throughput, memory and request pacing of the collector against the simulated tenant
// (separate process), side by side with a minimal undici + JSON.parse loop over the same pages.
// Flags: --records N (default 1 000 000) · --quick (100 000) · --only a,b · --profile (CPU profiles of the
// collector cases into bench/profiles/) · --throttle LIMIT/WINSEC (default 10/6) · --throttle-records N ·
// --cold-runs N (default 7) · --node-args=… (extra node flags for the collector cases, e.g. V8 heap sizes) ·
// --heap-growth P (O365_HEAP_GROWTH for the collector cases: V8 heap growth in percent, 0 = V8's own) ·
// --young-generation small|v8 (O365_YOUNG_GENERATION for the collector cases: 1 MB semi-spaces, or V8's growth) ·
// --gc-threads main|v8 (O365_GC_THREADS for the collector cases: collections on the main thread, or V8's helpers) ·
// --rounds N (default 1: the baseline, floor, stdout, small, nodedupe and forward cases N times in alternation; the
// targets then print the median and range) · --out FILE (default bench/results.json).
// Every case reports records per CPU-second next to the wall-clock rate: the wall clock depends on how the
// two cores are shared with the simulator (and anything else running), CPU time far less. The targets of
// issue 19 are printed below the table, each next to the measured figure.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, platform, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cpuSecondsOf, killAll, ROOT, runCase, simControl, startService, startSim } from "./lib.mjs";
import { printTable, printTargets } from "./report.mjs";

const { values: flags } = parseArgs({
  options: {
    records: { type: "string" },
    quick: { type: "boolean" },
    only: { type: "string" },
    profile: { type: "boolean" },
    throttle: { type: "string" },
    "throttle-records": { type: "string" },
    "cold-runs": { type: "string" },
    "node-args": { type: "string" },
    "heap-growth": { type: "string" },
    "young-generation": { type: "string" },
    "gc-threads": { type: "string" },
    rounds: { type: "string" },
    out: { type: "string" },
    help: { type: "boolean" },
  },
});
if (flags.help) {
  process.stdout.write(
    "usage: npm run bench -- [--records N | --quick] [--only floor,stdout,small,nodedupe,forward,rws,coldstart,throttled,freshness,tenants] [--profile] [--throttle 10/6] [--throttle-records N] [--node-args=…] [--heap-growth P] [--young-generation small|v8] [--gc-threads main|v8] [--rounds N] [--out FILE]\n",
  );
  process.exit(0);
}
const N = Number(flags.records ?? (flags.quick ? 100_000 : 1_000_000));
const [TL, TW] = (flags.throttle ?? "10/6").split("/").map(Number);
const RWS_RECORDS = Math.min(N, flags.quick ? 100_000 : 250_000);
const NT = Number(flags["throttle-records"] ?? (flags.quick ? 150_000 : 500_000));
const only = flags.only ? new Set(flags.only.split(",")) : undefined;
const want = (c) => !only || only.has(c);
const COLD_RUNS = Math.max(1, Number(flags["cold-runs"] ?? 7));
const ROUNDS = Math.max(1, Math.floor(Number(flags.rounds ?? 1)) || 1);
// The flat-memory check: the stdout case again over the first tenth of the day (≈ N / 10 records, one window).
const SMALL_MINUTES = 144;
const PAGE = 5000;
const HOUR = 3_600_000;
// One 24-hour window (the brief's memory case), in the past so every record is visible, midnight-aligned.
const T0 = Math.floor((Date.now() - 3 * 24 * HOUR) / (24 * HOUR)) * 24 * HOUR;
const T1 = T0 + 24 * HOUR;
// The simulator's messages have 1–4 recipients (≈ 2.5 records each); each hour is ±25 % around the rate.
const rateFor = (records) => Math.max(1, Math.round(records / 24 / 2.5));

// V8 heap settings for the collector cases, cold start included (src/heap.ts).
const heapEnv = {
  ...(flags["heap-growth"] !== undefined ? { O365_HEAP_GROWTH: flags["heap-growth"] } : {}),
  ...(flags["young-generation"] !== undefined ? { O365_YOUNG_GENERATION: flags["young-generation"] } : {}),
  ...(flags["gc-threads"] !== undefined ? { O365_GC_THREADS: flags["gc-threads"] } : {}),
};

const dir = mkdtempSync(join(tmpdir(), "o365mt-bench-"));
const profileDir = join(ROOT, "bench/profiles");
/** node flags that write the case's CPU profile to bench/profiles/<name>.cpuprofile (with --profile). */
const profileArgs = (name) => (flags.profile ? ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `${name}.cpuprofile`] : []);
const rows = [];
// 30 minutes for one round of everything, and 5 more for each further round of the throughput cases.
const limitMinutes = 30 + 5 * (ROUNDS - 1);
const deadline = setTimeout(() => {
  console.error(`bench: overall time limit (${limitMinutes} min) reached`);
  killAll();
  process.exit(3);
}, limitMinutes * 60_000);

/** The round a measured case belongs to (set by the round loop; 1 for the cases that run once). */
let round = 1;

function configFor(sim, name, extra) {
  const file = join(dir, `${name}-r${round}.yaml`);
  // JSON is YAML: the config loader reads it as is.
  writeFileSync(
    file,
    JSON.stringify({
      tenant_id: sim.tenantId,
      auth: { method: "client_secret", client_id: sim.clientId, client_secret: sim.clientSecret },
      endpoints: { login: sim.url, graph: sim.graphBase, rws: sim.rwsBase },
      http: { ca_file: sim.caFile, timeout: 120 },
      start: new Date(T0).toISOString(),
      window: 1440,
      delay: 0,
      max_windows_per_run: 1,
      page_size: PAGE,
      // Throughput cases run against an unthrottled simulator: the client budget must not pace them either.
      request_budget: { limit: 100000, window_seconds: 1 },
      // A state directory per round: a second round on the same state would find its window already done.
      state_dir: join(dir, `state-${name}-r${round}`),
      log: { level: "info" },
      ...extra,
    }),
  );
  return file;
}

async function collectorCase(name, sim, extra, { env = {} } = {}) {
  console.error(`bench: ${name}`);
  const before = await simControl(sim, "/_sim/stats");
  const simCpu0 = cpuSecondsOf(sim.pid);
  const nodeArgs = flags["node-args"] ? flags["node-args"].split(" ").filter(Boolean) : [];
  nodeArgs.push(...profileArgs(name));
  const r = await runCase("collector", ["once", "--config", configFor(sim, name, extra)], {
    env: { O365MT_NOW: new Date(T1).toISOString(), ...heapEnv, ...env },
    nodeArgs,
  });
  const after = await simControl(sim, "/_sim/stats");
  const simCpu = simCpu0 === undefined ? undefined : cpuSecondsOf(sim.pid) - simCpu0;
  const diff = (k) => (after.requests[k] ?? 0) - (before.requests[k] ?? 0);
  const done = r.logs.find((l) => l.msg === "cycle done");
  const failure =
    r.code !== 0
      ? r.stderr
          .trim()
          .split("\n")
          .filter((l) => !l.startsWith("{"))
          .pop() || `exit ${r.code}`
      : undefined;
  return {
    ...r,
    simCpu,
    records: done?.records,
    graphRequests: diff("graph"),
    rwsRequests: diff("rws"),
    throttled: after.throttled - before.throttled,
    failure,
  };
}

function row(name, r, extra = {}) {
  const records = r.records ?? 0;
  const out = {
    case: name,
    round,
    records,
    wallSeconds: r.wallMs / 1000,
    recordsPerSecond: records / (r.wallMs / 1000),
    peakRssMB: r.maxRssKb / 1024,
    cpuSeconds: (r.userCpuMs + r.systemCpuMs) / 1000,
    // Main-thread GC pauses (bench/child.mjs): scavenges, and the rest (mark-compact and its steps).
    ...(r.gc ? { gcMinorSeconds: r.gc.minorMs / 1000, gcMajorSeconds: r.gc.majorMs / 1000, gcMinorCount: r.gc.minor } : {}),
    ...extra,
  };
  // What the case could do if the simulator answered instantly: records per CPU-second of the case itself.
  out.recordsPerCpuSecond = records / out.cpuSeconds;
  const base = name.startsWith("baseline") ? out : rows.find((x) => x.round === round && x.case.startsWith("baseline"));
  if (base?.recordsPerCpuSecond) out.cpuRatioToBaseline = out.recordsPerCpuSecond / base.recordsPerCpuSecond;
  // Simulator busy share during the case: near 100 % means the simulator, not the case, set the pace.
  if (r.simCpu !== undefined) out.simulatorBusy = r.simCpu / out.wallSeconds;
  if (r.failure) out.error = r.failure;
  rows.push(out);
  return out;
}

const pendingRow = (name, why) => rows.push({ case: name, pending: why });

try {
  if (flags.profile) mkdirSync(profileDir, { recursive: true });
  console.error(`bench: ${N} records in one 24 h window, page ${PAGE}; simulator starting`);
  const a = await startSim(["--seed", "1", "--rate", String(rateFor(N))], join(dir, "ca-a.pem"));
  const sim = { ...a.info, caFile: join(dir, "ca-a.pem"), pid: a.child.pid };

  const baselineArgs = [
    JSON.stringify({
      url: sim.url,
      graphBase: sim.graphBase,
      tenantId: sim.tenantId,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      caFile: sim.caFile,
      start: new Date(T0).toISOString(),
      end: new Date(T1).toISOString(),
      pageSize: PAGE,
    }),
  ];
  // The first pass warms the simulator (it generates each hour on first use); the second is measured.
  const warm = await runCase("baseline", baselineArgs);
  if (warm.code !== 0) throw new Error(`baseline failed: ${warm.stderr}`);
  // The throughput cases, ROUNDS times in alternation (--rounds); the cases below run once, in round 1's terms.
  let first;
  for (round = 1; round <= ROUNDS; round++) {
    if (ROUNDS > 1) console.error(`bench: round ${round} of ${ROUNDS}`);
    const simCpu0 = cpuSecondsOf(sim.pid);
    // With --profile the measured pass is profiled too, so the collector's self time per function can be set
    // against the baseline's (bench/profile-summary.mjs on both files).
    const baseRun = await runCase("baseline", baselineArgs, { nodeArgs: profileArgs("baseline") });
    if (simCpu0 !== undefined) baseRun.simCpu = cpuSecondsOf(sim.pid) - simCpu0;
    // The same query as the minimal loop: the collector must make exactly its requests (rows at exactly the
    // window end come back from `le end` and are dropped by both, so this can exceed ceil(records / page)).
    const expectedRequests = baseRun.pages;
    const b = row("baseline (undici + JSON.parse → /dev/null)", baseRun, { apiRequests: baseRun.pages });
    const ratio = (r) => (r.recordsPerSecond && b.recordsPerSecond ? r.recordsPerSecond / b.recordsPerSecond : undefined);
    const check = (r) => (r.records === baseRun.records ? "" : `records ${r.records} ≠ baseline ${baseRun.records}`);

    if (want("floor")) {
      // Upper bound for the stdout case: the mandatory per-record work fused per item (bench/floor.mjs), under
      // the collector's V8 settings, and again under V8's own (what the memory settings cost the bound).
      for (const [name, env] of [
        ["floor: mandatory work per item, collector's V8 settings", heapEnv],
        ["floor: the same, V8's own heap and GC threads", { O365_HEAP_GROWTH: "0", O365_YOUNG_GENERATION: "v8", O365_GC_THREADS: "v8" }],
      ]) {
        console.error(`bench: ${name}`);
        const r = await runCase("floor", baselineArgs, {
          env,
          nodeArgs: profileArgs(name.startsWith("floor: the same") ? "floor-v8" : "floor"),
        });
        const o = row(name, r, { apiRequests: r.pages });
        o.note = check(o);
      }
    }

    if (want("stdout")) {
      const r = await collectorCase("stdout", sim, { sink: { type: "stdout" } });
      const o = row("collector once, stdout → /dev/null", r, { apiRequests: r.graphRequests, expectedRequests });
      o.ratioToBaseline = ratio(o);
      o.note = check(o);
    }

    if (want("small")) {
      // Peak RSS must not grow with the window: the same day, a window a tenth as long (≈ N / 10 records).
      const r = await collectorCase(
        "small",
        sim,
        { sink: { type: "stdout" }, window: SMALL_MINUTES },
        { env: { O365MT_NOW: new Date(T0 + SMALL_MINUTES * 60_000).toISOString() } },
      );
      const o = row(`collector once, stdout, first ${SMALL_MINUTES} min (flat-memory check)`, r, { apiRequests: r.graphRequests });
      o.ratioToBaseline = ratio(o);
    }

    if (want("nodedupe")) {
      // Same, with dedupe (and so the per-page journal and the identity set) off: what the identities cost.
      const r = await collectorCase("nodedupe", sim, { sink: { type: "stdout" }, dedupe: false });
      const o = row("collector once, stdout, dedupe off", r, { apiRequests: r.graphRequests, expectedRequests });
      o.ratioToBaseline = ratio(o);
      o.note = check(o);
    }

    if (want("forward")) {
      const recv = await startService([join(ROOT, "bench/forward-receiver.mjs")], { label: "forward receiver" });
      const r = await collectorCase("forward", sim, {
        sink: { type: "forward", forward: { host: "127.0.0.1", port: recv.info.port, require_ack_response: true } },
      });
      const got = await recv.stop();
      if (r.failure && /not available/.test(r.failure)) pendingRow("collector once, forward + acks", r.failure);
      else {
        const o = row("collector once, forward + acks (local receiver)", r, {
          apiRequests: r.graphRequests,
          expectedRequests,
          receiverRecords: got?.records,
        });
        o.ratioToBaseline = ratio(o);
        o.note = [check(o), got && got.records !== o.records ? `receiver counted ${got.records}` : ""].filter(Boolean).join("; ");
      }
    }
    first ??= { ratio, check };
  }
  round = 1;
  const { ratio, check } = first;

  if (want("rws")) {
    // The XML path is far slower: it reads the first hours of the same day (≈ RWS_RECORDS records) only.
    const hours = Math.max(1, Math.min(24, Math.round((24 * RWS_RECORDS) / N)));
    const r = await collectorCase(
      "rws",
      sim,
      { source: "rws", format: "xml", window: hours * 60 },
      { env: { O365MT_NOW: new Date(T0 + hours * HOUR).toISOString() } },
    );
    if (r.failure && /not available/.test(r.failure)) pendingRow("collector once, legacy RWS (XML) → /dev/null", r.failure);
    else {
      const o = row(`collector once, legacy RWS (XML, first ${hours} h) → /dev/null`, r, { apiRequests: r.rwsRequests });
      o.ratioToBaseline = ratio(o);
      if (hours === 24) o.note = check(o);
    }
  }
  if (want("coldstart")) {
    // What the exec input pays every few minutes: `once` with nothing due (start, config, state, plan, exit).
    // The cursor starts at the window end and the clock is half a window later, and re-scans are off, so no
    // window is ever due; `once` still signs in (a token at start, issue 11). The first run creates the state;
    // the median of the next COLD_RUNS is reported. The simulator's CA comes in through NODE_EXTRA_CA_CERTS,
    // not http.ca_file: that is the system trust store, as in a deployment without a TLS-inspecting proxy
    // (http.ca_file costs one parse of Node's ~140 root certificates more, about 0.03 s; docs/performance.md).
    console.error(`bench: cold start (${COLD_RUNS} runs)`);
    const file = configFor(sim, "coldstart", {
      sink: { type: "stdout" },
      start: new Date(T1).toISOString(),
      window: 60,
      rescan: { horizon: 0 },
      http: { timeout: 120 },
    });
    const env = { O365MT_NOW: new Date(T1 + 30 * 60_000).toISOString(), NODE_EXTRA_CA_CERTS: sim.caFile, ...heapEnv };
    const runs = [];
    for (let i = 0; i <= COLD_RUNS; i++) {
      const r = await runCase("collector", ["once", "--config", file], {
        env,
        nodeArgs: flags["node-args"] ? flags["node-args"].split(" ").filter(Boolean) : [],
      });
      if (r.code !== 0) throw new Error(`cold start run failed: ${r.stderr}`);
      if (i > 0) runs.push(r);
    }
    const median = (f) => {
      const v = runs.map(f).sort((x, y) => x - y);
      return v[(v.length - 1) >> 1];
    };
    const cpu = (r) => (r.userCpuMs + r.systemCpuMs) / 1000;
    rows.push({
      case: `once, nothing due (median of ${COLD_RUNS} runs)`,
      records: 0,
      wallSeconds: median((r) => r.wallMs) / 1000,
      cpuSeconds: median(cpu),
      peakRssMB: median((r) => r.maxRssKb) / 1024,
      coldStart: true,
      note: `CPU ${runs.map((r) => cpu(r).toFixed(2)).join(" ")} s`,
    });
  }
  await a.stop();

  if (want("throttled")) {
    console.error(`bench: throttled backfill, simulator budget ${TL} requests / ${TW} s, ${NT} records`);
    const t = await startSim(["--seed", "2", "--rate", String(rateFor(NT)), "--throttle", `${TL}/${TW}`], join(dir, "ca-t.pem"));
    const tsim = { ...t.info, caFile: join(dir, "ca-t.pem"), pid: t.child.pid };
    const r = await collectorCase("throttled", tsim, { sink: { type: "stdout" }, request_budget: { limit: TL, window_seconds: TW } });
    await t.stop();
    const pages = r.graphRequests;
    // Lower bound on wall time under "at most L requests in any W": the first L at once, then L per window.
    const idealSeconds = (Math.ceil(pages / TL) - 1) * TW;
    const ceilingPerHour = TL * PAGE * (3600 / TW);
    const o = row(`throttled backfill (sim ${TL} req/${TW} s, client budget same)`, r, {
      apiRequests: pages,
      expectedRequests: pages,
      responses429: r.throttled,
      idealSeconds,
      ceilingRecordsPerHour: ceilingPerHour,
    });
    o.recordsPerHour = o.recordsPerSecond * 3600;
    o.efficiency = idealSeconds / o.wallSeconds;
    o.realBudgetEquivalentPerHour = o.efficiency * 100 * PAGE * 12;
  }
} finally {
  clearTimeout(deadline);
  killAll();
  rmSync(dir, { recursive: true, force: true });
}

const machine = {
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  memoryGB: Math.round(totalmem() / 2 ** 30),
  os: `${platform()} ${release()}`,
  node: process.version,
};
const outFile = flags.out ?? join(ROOT, "bench/results.json");
writeFileSync(
  outFile,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine,
      records: N,
      pageSize: PAGE,
      window: "1440 min",
      throttle: { limit: TL, windowSeconds: TW, records: NT },
      heapSettings: { ...heapEnv, nodeArgs: flags["node-args"] ?? "" },
      rows,
    },
    null,
    2,
  ) + "\n",
);
printTable(rows);
printTargets(rows);
console.log(
  `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB, ${machine.os}, node ${machine.node}; results in ${outFile}`,
);

// Case "freshness" (issue 14): a simulated day of the default configuration against late rows, in its own
// process with its own table (bench/freshness.mjs; run that file directly to skip the throughput cases).
if (want("freshness")) {
  const { spawnSync } = await import("node:child_process");
  const r = spawnSync(process.execPath, [join(ROOT, "bench/freshness.mjs"), ...(flags.quick ? ["--quick"] : [])], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
    timeout: 30 * 60_000,
  });
  if (r.status !== 0) console.log(`freshness: failed (exit ${r.status})`);
}

// Case "tenants" (issue 17): 500 tenants in one process, time-scaled (bench/tenants.mjs; --quick: 100 tenants).
if (want("tenants")) {
  const { spawnSync } = await import("node:child_process");
  const r = spawnSync(process.execPath, [join(ROOT, "bench/tenants.mjs"), ...(flags.quick ? ["--quick"] : [])], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
    timeout: 20 * 60_000,
  });
  if (r.status !== 0) console.log(`tenants: failed (exit ${r.status})`);
}
