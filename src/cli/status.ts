// `status`: per tenant, where its cursor stands, how far behind now it is, when it last succeeded and its
// last error — read from the state directories only (no network, no lock: safe beside a running daemon).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadFleet, type TenantConfig } from "../config/tenants.js";
import { StateStore } from "../cursor/store.js";
import { STATUS_FILE, type TenantStatus } from "../fleet/fleet.js";
import { ownerOf } from "../fleet/shard.js";
import { defineCommand } from "./command.js";
import { EXIT_FAILURE, EXIT_OK, requireConfigPath } from "./common.js";

export const STATUS_HELP = `Usage: o365-message-trace status --config FILE [--json]

Prints, for every tenant of the config (one line each): its cursor, the lag behind now, the last successful
cycle and the last error, read from its state directory (no network; safe while the collector runs).
With shard set, the replica that owns each tenant. Exit 1 when any tenant's last cycle failed.`;

export interface StatusRow {
  tenant: string;
  tenant_id: string;
  cursor: string | null;
  lag_seconds: number | null;
  last_success: string | null;
  last_error: string | null;
  healthy: boolean | null;
  records_delivered: number;
  owner?: number;
}

export function tenantStatus(t: TenantConfig, now = Date.now()): StatusRow {
  const c = t.config;
  const { state } = new StateStore(c.state_dir, c.tenant_id, c.source.type).load();
  const file = join(c.state_dir, STATUS_FILE);
  let s: Partial<TenantStatus> = {};
  if (existsSync(file)) {
    try {
      s = JSON.parse(readFileSync(file, "utf8")) as TenantStatus;
    } catch {
      s = { last_error: `${file} cannot be read` };
    }
  }
  const cursor = state.cursor ?? null;
  return {
    tenant: t.name,
    tenant_id: c.tenant_id,
    cursor,
    lag_seconds: cursor ? Math.max(0, Math.round((now - Date.parse(cursor)) / 1000)) : null,
    last_success: s.last_success ?? state.updated ?? null,
    last_error: s.healthy === false ? (s.last_error ?? null) : null,
    healthy: s.healthy ?? null,
    records_delivered: state.records_delivered,
  };
}

function duration(s: number | null): string {
  if (s === null) return "-";
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

export const command = defineCommand({
  name: "status",
  help: STATUS_HELP,
  options: { config: { type: "string", short: "c" }, json: { type: "boolean" } },
  async run(values) {
    const fleet = loadFleet(requireConfigPath(values.config, "status"));
    const rows = fleet.all.map((t) => ({ ...tenantStatus(t), ...(fleet.shard ? { owner: ownerOf(t.name, fleet.shard.count) } : {}) }));
    if (values.json) {
      process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
    } else {
      const table = [["TENANT", "CURSOR", "LAG", "LAST SUCCESS", ...(fleet.shard ? ["REPLICA"] : []), "LAST ERROR"]];
      for (const r of rows) {
        table.push([
          r.tenant,
          r.cursor ?? "-",
          duration(r.lag_seconds),
          r.last_success ?? "-",
          ...(r.owner !== undefined ? [String(r.owner)] : []),
          r.last_error ?? "-",
        ]);
      }
      const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
      for (const row of table) process.stdout.write(row.map((v, i) => (i === row.length - 1 ? v : v.padEnd(widths[i]!))).join("  ") + "\n");
    }
    return rows.some((r) => r.healthy === false) ? EXIT_FAILURE : EXIT_OK;
  },
});
