// `simulate`: run the simulated tenant (src/sim) as a standalone process, e.g. for demos and for benchmarks that
// drive a collector in another process.
import { writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { stringify } from "yaml";
import { CollectorError } from "../errors.js";
import { startSimulator } from "../sim/server.js";
import type { FaultKind, SimOptions } from "../sim/types.js";
import { defineCommand } from "./command.js";
import { EXIT_OK } from "./common.js";

const HELP = `Usage: o365-message-trace simulate [options]

Starts a simulated Microsoft 365 tenant over HTTPS on loopback (Entra token endpoint, Graph message
trace, legacy Reporting Web Service) and prints one JSON line describing it. Stops on SIGINT/SIGTERM.

  --host HOST               listen address (default 127.0.0.1)
  --port N                  listen port (default random)
  --seed N                  traffic seed (default 1)
  --rate N                  mean messages per hour (default 60)
  --late-fraction F         fraction of records that appear late (default 0)
  --late-max-minutes N      maximum lateness in minutes (default 60)
  --status-change-fraction F  share of rows first visible as gettingStatus/pending that change to their
                            final status later (default 0)
  --status-change-max-minutes N  latest change, minutes after the row became visible (default 240)
  --rws-filter received|processing  what the legacy report's StartDate/EndDate select on (default received)
  --throttle LIMIT/WINSEC   running-window request budget, e.g. 100/300
  --fault-rate R            random faults on data routes with probability R (all kinds but slow)
  --ca-out FILE             write the server certificate (PEM) for clients to trust
  --config-out FILE         write a ready collector config for this simulator (endpoints, ids, CA file
                            next to it unless --ca-out is given), then: o365-message-trace once --config FILE
  -h, --help                this text

Control endpoints (no auth): GET /_sim/truth?from=ISO&to=ISO[&visible=1], POST /_sim/clock {"now":ISO},
POST /_sim/faults <FaultSpec>, DELETE /_sim/faults, GET /_sim/stats.`;

/** A collector config for this simulator: try once/run (and a shipper) against it in one step. */
type SimIds = { tenantId: string; clientId: string; clientSecret: string; url: string; graphBase: string; rwsBase: string } & {
  organization: string;
};

export function simulatorConfig(sim: SimIds, caFile: string): string {
  const config = {
    tenant_id: sim.tenantId,
    auth: { method: "client_secret", client_id: sim.clientId, client_secret: sim.clientSecret },
    endpoints: { login: sim.url },
    http: { ca_file: caFile },
    source: { type: "graph", endpoint: sim.graphBase },
    delay: "5m",
    window: "15m",
    start: "2 hours ago",
    frequency: "1m",
    local_domains: [sim.organization, "contoso.com"],
    state_dir: "./state",
  };
  return (
    "# Written by `o365-message-trace simulate --config-out`: a config for the simulated tenant running now\n" +
    "# (its client secret is a public test value). Try: o365-message-trace once --config THIS_FILE\n" +
    "# It is valid only while that simulator runs (its port and certificate change on every start).\n" +
    `# For the legacy report instead: source: { type: rws, endpoint: ${sim.rwsBase} }\n` +
    stringify(config)
  );
}

const ALL_FAULTS: FaultKind[] = ["429", "500", "503", "truncated", "html-signin", "token-expired", "reset"];

function usage(message: string): CollectorError {
  return new CollectorError("config", message, { hint: "see: o365-message-trace simulate --help" });
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw usage(`--${name} must be a number, got '${v}'`);
  return n;
}

/** The simulator's options from the command's flags; a usage error names the bad flag. */
function simOptions(s: (k: string) => string | undefined): SimOptions {
  const opts: SimOptions = {};
  if (s("host")) opts.host = s("host");
  const port = num(s("port"), "port");
  if (port !== undefined) opts.port = port;
  const seed = num(s("seed"), "seed");
  if (seed !== undefined) opts.seed = seed;
  const rate = num(s("rate"), "rate");
  if (rate !== undefined) opts.ratePerHour = rate;
  const lf = num(s("late-fraction"), "late-fraction");
  if (lf !== undefined) opts.late = { fraction: lf, maxLagMinutes: num(s("late-max-minutes"), "late-max-minutes") ?? 60 };
  const sc = num(s("status-change-fraction"), "status-change-fraction");
  if (sc !== undefined) {
    const max = num(s("status-change-max-minutes"), "status-change-max-minutes");
    opts.statusChanges = { fraction: sc, ...(max !== undefined ? { maxMinutes: max } : {}) };
  }
  const rf = s("rws-filter");
  if (rf !== undefined) {
    if (rf !== "received" && rf !== "processing") throw usage(`--rws-filter must be received or processing, got '${rf}'`);
    opts.rwsFilter = rf;
  }
  const th = s("throttle");
  if (th) {
    const m = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(th);
    if (!m) throw usage(`--throttle must be LIMIT/WINDOWSEC, e.g. 100/300, got '${th}'`);
    opts.throttle = { limit: Number(m[1]), windowMs: Number(m[2]) * 1000 };
  }
  // "slow" is left out of the random mix: its 30 s default would look like a hang in a demo.
  const fr = num(s("fault-rate"), "fault-rate");
  if (fr !== undefined) opts.faultRate = { rate: fr, kinds: ALL_FAULTS, seed: opts.seed ?? 1 };
  return opts;
}

export const command = defineCommand({
  name: "simulate",
  help: HELP,
  options: {
    host: { type: "string" },
    port: { type: "string" },
    seed: { type: "string" },
    rate: { type: "string" },
    "late-fraction": { type: "string" },
    "late-max-minutes": { type: "string" },
    throttle: { type: "string" },
    "status-change-fraction": { type: "string" },
    "status-change-max-minutes": { type: "string" },
    "rws-filter": { type: "string" },
    "fault-rate": { type: "string" },
    "ca-out": { type: "string" },
    "config-out": { type: "string" },
  },
  async run(values) {
    const s = (k: string) => (values as Record<string, string | undefined>)[k];
    const opts = simOptions(s);
    const sim = await startSimulator(opts);
    let caFile: string | undefined;
    const configFile = s("config-out") ? resolve(s("config-out")!) : undefined;
    if (s("ca-out") || configFile) {
      caFile = s("ca-out") ? resolve(s("ca-out")!) : join(dirname(configFile!), "sim-ca.pem");
      await writeFile(caFile, sim.ca, { mode: 0o644 });
    }
    if (configFile) await writeFile(configFile, simulatorConfig(sim, caFile!), { mode: 0o644 });
    // A simulator printing its own fake credentials is the point: clients copy them from here.
    process.stdout.write(
      JSON.stringify({
        url: sim.url,
        authority: sim.authority,
        tenantId: sim.tenantId,
        organization: sim.organization,
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        graphBase: sim.graphBase,
        rwsBase: sim.rwsBase,
        managedIdentityEndpoint: sim.managedIdentityEndpoint,
        managedIdentityHeader: sim.managedIdentityHeader,
        caFile,
        configFile,
        knownAuthority: new URL(sim.url).host,
      }) + "\n",
    );
    await new Promise<void>((done) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        done();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    await sim.close();
    return EXIT_OK;
  },
});
