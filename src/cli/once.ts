// `once`: one poll cycle for exec inputs (Fluent Bit / Fluentd / Vector exec). NDJSON on stdout, logs on stderr.
import { EVERYTHING, open } from "../runtime.js";
import { defineCommand } from "./command.js";
import { clockFromEnv, EXIT_OK, logCycle, requireConfigPath, setup } from "./common.js";

export const ONCE_HELP = `Usage: o365-message-trace once --config FILE [--max-windows N]

Runs one poll cycle: reads every complete window after the cursor (up to max_windows_per_run), prints
one NDJSON record per message-recipient on stdout, moves the cursor after stdout has the records, exits.
Logs are JSON lines on stderr. A second copy started while one runs prints "already running" and exits 0.
Exit codes: 0 ok (or already running), 1 runtime failure, 2 configuration error.`;

export const command = defineCommand({
  name: "once",
  help: ONCE_HELP,
  options: { config: { type: "string", short: "c" }, "max-windows": { type: "string" } },
  async run(values) {
    const overrides: Record<string, unknown> = {};
    if (values["max-windows"]) overrides.max_windows_per_run = Number(values["max-windows"]);
    const { config, logger } = setup(requireConfigPath(values.config, "once"), overrides);
    const rt = open(config, { ...EVERYTHING, lock: true }, { logger, clock: clockFromEnv() });
    try {
      logCycle(logger, await rt.collector.runCycle());
    } finally {
      await rt.close();
    }
    return EXIT_OK;
  },
});
