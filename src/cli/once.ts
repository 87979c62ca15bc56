// `once`: one poll cycle for exec inputs (Fluent Bit / Fluentd / Vector exec). NDJSON on stdout, logs on stderr.
import { parseArgs } from "node:util";
import { createRuntime } from "../runtime.js";
import { StateStore } from "../cursor/store.js";
import { clockFromEnv, EXIT_OK, printError, requireConfigPath, setup } from "./common.js";

export const ONCE_HELP = `Usage: o365-message-trace once --config FILE [--max-windows N]

Runs one poll cycle: reads every complete window after the cursor (up to max_windows_per_run), prints
one NDJSON record per message-recipient on stdout, moves the cursor after stdout has the records, exits.
Logs are JSON lines on stderr. A second copy started while one runs prints "already running" and exits 0.
Exit codes: 0 ok (or already running), 1 runtime failure, 2 configuration error.`;

export async function onceCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: "string", short: "c" }, "max-windows": { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    process.stdout.write(ONCE_HELP + "\n");
    return EXIT_OK;
  }
  let lock: { release(): void } | undefined;
  try {
    const overrides: Record<string, unknown> = {};
    if (values["max-windows"]) overrides.max_windows_per_run = Number(values["max-windows"]);
    const { config, logger } = setup(requireConfigPath(values.config, "once"), overrides);
    lock = new StateStore(config.state_dir, config.tenant_id, config.source).lock();
    const rt = createRuntime(config, { logger, clock: clockFromEnv() });
    try {
      const r = await rt.collector.runCycle();
      logger.info("cycle done", { windows: r.windows, rescanned: r.rescanned, records: r.records, duplicates_dropped: r.duplicates, cursor: r.cursor, behind: r.behind });
    } finally {
      await rt.close();
    }
    return EXIT_OK;
  } catch (err) {
    return printError(err);
  } finally {
    lock?.release();
  }
}
