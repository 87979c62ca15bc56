// `once`: one poll cycle for exec inputs (Fluent Bit / Fluentd / Vector exec). NDJSON on stdout, logs on stderr.
import { loadFleet } from "../config/tenants.js";
import { TenantFleet, type TenantOutcome } from "../fleet/fleet.js";
import { createLogger } from "../log/logger.js";
import { acquireStartToken, EVERYTHING, open } from "../runtime.js";
import { defineCommand } from "./command.js";
import { clockFromEnv, EXIT_FAILURE, EXIT_OK, logCycle, requireConfigPath, setup } from "./common.js";

export const ONCE_HELP = `Usage: o365-message-trace once --config FILE [--max-windows N]

Runs one poll cycle: reads every complete window after the cursor (up to max_windows_per_run), prints
one NDJSON record per message-recipient on stdout, moves the cursor after stdout has the records, exits.
Logs are JSON lines on stderr. A second copy started while one runs prints "already running" and exits 0.
With \`tenants:\` it runs one cycle for every tenant this replica owns (tenant_concurrency at a time) and
prints one summary line per tenant on stderr.
Exit codes: 0 ok (or already running; with tenants: every tenant ok), 1 runtime failure (with tenants: any
tenant failed), 2 configuration error.`;

/** One stderr line per tenant: what `once` did for it. */
export function outcomeLine(o: TenantOutcome): string {
  if (o.busy) return `tenant ${o.tenant}: skipped (another process holds its lock)`;
  if (!o.ok) return `tenant ${o.tenant}: FAILED: ${o.error}`;
  const r = o.result!;
  return `tenant ${o.tenant}: ok, ${r.windows} window(s), ${r.records} record(s), cursor ${r.cursor}${r.behind ? " (behind)" : ""}`;
}

/** Most a `once` run waits for Retry-After in all: an exec run must not sit on the lock for an hour. */
export const ONCE_RETRY_AFTER_LIMIT_MS = 120_000;

export const command = defineCommand({
  name: "once",
  help: ONCE_HELP,
  options: { config: { type: "string", short: "c" }, "max-windows": { type: "string" } },
  async run(values) {
    const overrides: Record<string, unknown> = {};
    if (values["max-windows"]) overrides.max_windows_per_run = Number(values["max-windows"]);
    const file = requireConfigPath(values.config, "once");
    const fleet = loadFleet(file, { overrides });
    if (fleet.multi) {
      const logger = createLogger({ level: fleet.all[0]!.config.log.level });
      const tf = new TenantFleet(fleet, { logger, clock: clockFromEnv() });
      let outcomes: TenantOutcome[];
      try {
        outcomes = await tf.runOnce();
      } finally {
        await tf.close();
      }
      for (const o of outcomes) process.stderr.write(outcomeLine(o) + "\n");
      const failed = outcomes.filter((o) => !o.ok).length;
      process.stderr.write(
        `o365-message-trace: ${outcomes.length - failed} of ${outcomes.length} tenant(s) ok${failed ? `, ${failed} failed` : ""}\n`,
      );
      return failed ? EXIT_FAILURE : EXIT_OK;
    }
    const { config, logger } = setup(file, overrides);
    const clock = clockFromEnv();
    const rt = open(
      config,
      { ...EVERYTHING, lock: true },
      { logger, clock, clockPinned: clock !== undefined, retryAfterLimitMs: ONCE_RETRY_AFTER_LIMIT_MS },
    );
    try {
      await acquireStartToken(rt);
      logCycle(logger, await rt.collector.runCycle());
    } finally {
      await rt.close();
    }
    return EXIT_OK;
  },
});
