// A tenants config (`tenants:` list) for a fleet of simulators, written beside its CA: the shared test defaults
// (no request pacing, delay 0, 15-minute windows from `start`), one entry per simulator with its endpoints, and
// each test's own shared keys and per-tenant keys on top.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { Simulator, SimFleet } from "../../src/sim/index.js";

export interface FleetConfigOptions {
  /** Where new cursors begin (ms). */
  start: number;
  /** Top-level keys over the defaults (retry, log, state_dir, tenant_concurrency…). */
  shared?: Record<string, unknown>;
  /** Each tenant's own keys (auth, name…) over its defaults (name `t<i>`, tenant id, endpoints). */
  tenant(sim: Simulator, i: number): Record<string, unknown>;
}

/** Writes `<dir>/ca.pem` and `<dir>/fleet.yaml`; returns the config file. */
export function writeFleetConfig(dir: string, fleet: SimFleet, o: FleetConfigOptions): string {
  writeFileSync(join(dir, "ca.pem"), fleet.ca);
  const file = join(dir, "fleet.yaml");
  writeFileSync(
    file,
    stringify({
      http: { ca_file: "ca.pem" },
      request_budget: { limit: 100000, window_seconds: 1 },
      delay: 0,
      window: 15,
      max_windows_per_run: 100,
      start: new Date(o.start).toISOString(),
      state_dir: "state",
      ...o.shared,
      tenants: fleet.sims.map((sim, i) => ({
        name: `t${i}`,
        tenant_id: sim.tenantId,
        endpoints: { login: sim.url, graph: sim.graphBase, rws: sim.rwsBase },
        ...o.tenant(sim, i),
      })),
    }),
  );
  return file;
}
