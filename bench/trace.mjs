// Where does a collector run's wall time go? Runs the collector in this process against a simulator process
// (1 M records, one 24 h window, page 5000, stdout → wherever this script's stdout points: use /dev/null) and
// prints, for the measured second pass: event-loop idle vs active time, both processes' CPU time and run-queue
// wait (/proc/<pid>/task/*/schedstat: time runnable but not running), and summed time per phase of each page
// (request → response headers, body, parse, filter/map, send, flush, journal), from timestamps around awaits;
// also the peak of process.memoryUsage() sampled every 200 ms.
// Usage: node bench/trace.mjs > /dev/null   (env: N=records, DEDUPE=0 to turn dedupe off). Linux only.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import diagnostics from "node:diagnostics_channel";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { killAll, startSim } from "./lib.mjs";

const { validateConfig, resolvePaths } = await import("../dist/config/load.js");
const { createRuntime } = await import("../dist/runtime.js");
const { StateStore } = await import("../dist/cursor/store.js");
const N = Number(process.env.N ?? 1_000_000);
const dedupe = process.env.DEDUPE !== "0";
const HOUR = 3_600_000;
const T0 = Math.floor((Date.now() - 3 * 24 * HOUR) / (24 * HOUR)) * 24 * HOUR;
const dir = mkdtempSync(join(tmpdir(), "o365mt-trace-"));
const a = await startSim(["--seed", "1", "--rate", String(Math.round(N / 24 / 2.5))], join(dir, "ca.pem"));
const sim = a.info;
/** [running ms, runnable-but-waiting ms] summed over a process's threads. */
const sched = (pid) => {
  let run = 0;
  let wait = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const [r, w] = readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ").map(Number);
    run += r;
    wait += w;
  }
  return [run / 1e6, wait / 1e6];
};
const ev = [];
const mark = (k) => ev.push([k, performance.now()]);
diagnostics.channel("undici:request:create").subscribe(() => mark("req"));
diagnostics.channel("undici:request:headers").subscribe(() => mark("hdr"));
diagnostics.channel("undici:request:trailers").subscribe(() => mark("body"));
const journal = StateStore.prototype.journal;
StateStore.prototype.journal = function (e) {
  mark("j0");
  const r = journal.call(this, e);
  mark("j1");
  return r;
};
const logger = {
  debug() {},
  info() {},
  warn: (...x) => console.error(...x),
  error: (...x) => console.error(...x),
  child() {
    return this;
  },
};

async function run(label) {
  const config = resolvePaths(
    validateConfig({
      tenant_id: sim.tenantId,
      auth: { client_id: sim.clientId, client_secret: sim.clientSecret },
      endpoints: { login: sim.url, graph: sim.graphBase, rws: sim.rwsBase },
      start: new Date(T0).toISOString(),
      window: 1440,
      delay: 0,
      max_windows_per_run: 1,
      page_size: 5000,
      request_budget: { limit: 100000, window_seconds: 1 },
      state_dir: join(dir, `state-${label}`),
      dedupe,
    }),
    dir,
  );
  const rt = createRuntime(config, {
    logger,
    caPem: readFileSync(join(dir, "ca.pem"), "utf8"),
    clock: () => T0 + 24 * HOUR,
    wrapSink: (s) => ({
      name: s.name,
      async send(b) {
        mark("s0");
        await s.send(b);
        mark("s1");
      },
      async flush() {
        mark("f0");
        await s.flush();
        mark("f1");
      },
      close: () => s.close(),
    }),
  });
  const read = rt.source.readWindow.bind(rt.source);
  rt.source.readWindow = async function* (w, sig) {
    for await (const p of read(w, sig)) {
      mark("parsed");
      yield p;
    }
  };
  ev.length = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const s0 = sched(a.child.pid);
  const c0 = sched(process.pid);
  const peak = {};
  const sampler = setInterval(() => {
    for (const [k, v] of Object.entries(process.memoryUsage())) peak[k] = Math.max(peak[k] ?? 0, Math.round(v / 2 ** 20));
  }, 200);
  const r = await rt.collector.runCycle();
  clearInterval(sampler);
  const s1 = sched(a.child.pid);
  const c1 = sched(process.pid);
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  await rt.close();
  return {
    peakMemoryMB: peak,
    records: r.records,
    wallMs: Math.round(performance.now() - t0),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    loopIdleMs: Math.round(elu.idle),
    loopActiveMs: Math.round(elu.active),
    simRunMs: Math.round(s1[0] - s0[0]),
    simRunQueueWaitMs: Math.round(s1[1] - s0[1]),
    collectorRunMs: Math.round(c1[0] - c0[0]),
    collectorRunQueueWaitMs: Math.round(c1[1] - c0[1]),
  };
}

try {
  await run("warm"); // the simulator generates each hour on first use
  const res = await run("measured");
  const sum = {};
  const add = (k, v) => (sum[k] = (sum[k] ?? 0) + v);
  const last = {};
  for (const [k, t] of ev) {
    if (k === "hdr" && last.req !== undefined) add("request → headers", t - last.req);
    if (k === "body" && last.hdr !== undefined) add("headers → body", t - last.hdr);
    if (k === "parsed" && last.body !== undefined) add("body → parsed page", t - last.body);
    if (k === "s0" && last.parsed !== undefined) add("parsed → send (filter, dedupe, map)", t - last.parsed);
    if (k === "s1") add("send", t - last.s0);
    if (k === "f1") add("flush", t - last.f0);
    if (k === "j1") add("journal (write; the sync runs in the background)", t - last.j0);
    last[k] = t;
  }
  console.error(JSON.stringify(res));
  console.error(JSON.stringify(Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, Math.round(v)])), null, 1));
  console.error(
    "first events (ms):",
    ev
      .slice(0, 40)
      .map(([k, t]) => `${k}@${Math.round(t - ev[0][1])}`)
      .join(" "),
  );
} finally {
  await a.stop();
  killAll();
  rmSync(dir, { recursive: true, force: true });
}
