// `demo` (`npm run demo`): the real collector, real msal-node and undici, against the embedded simulated
// tenant over local HTTPS. Prints NDJSON on stdout and, on stderr, the check against the simulator's truth.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateConfig, resolvePaths } from "../config/load.js";
import { CollectorError } from "../errors.js";
import { EVERYTHING, open } from "../runtime.js";
import { identity } from "../schema/mapper.js";
import type { Envelope, Sink } from "../types.js";
import { defineCommand } from "./command.js";
import { answerLogger, EXIT_FAILURE, EXIT_OK, loggerFor } from "./common.js";

const HELP = `Usage: npm run demo [-- options]   or   o365-message-trace demo [options]

Starts a simulated Microsoft 365 tenant on 127.0.0.1 (token endpoint, Graph, legacy reporting service),
collects a few windows with the real collector and prints the o365.message.* records on stdout.
  --source graph|rws     API to read (default graph)
  --format json|xml      legacy service response format (default json)
  --windows N            windows to collect (default 4)
  --window MINUTES       window size (default 15)
  --rate N               simulated messages per hour (default 40)
  --seed N               traffic seed (default 1)
  --key-style flat|nested, --group-by recipient|message
  --quiet                print only the summary, not the records`;

/** Remembers what went out, to compare with the simulator's truth. */
class RecordingSink implements Sink {
  readonly name: string;
  readonly ids: string[] = [];
  constructor(private readonly inner: Sink) {
    this.name = inner.name;
  }
  async send(batch: Envelope[]) {
    for (const e of batch) this.ids.push(e.id);
    await this.inner.send(batch);
  }
  flush() {
    return this.inner.flush();
  }
  close() {
    return this.inner.close();
  }
}

/** A whole-number flag in [min, max], or the one-line what/where/how-to-fix error. */
function wholeFlag(name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new CollectorError("config", `demo ${name} ${JSON.stringify(value)} is not a whole number from ${min} to ${max}`, {
      hint: `e.g. ${name} ${Math.max(min, Math.min(max, 4))}`,
    });
  }
  return n;
}

export const command = defineCommand({
  name: "demo",
  help: HELP,
  options: {
    source: { type: "string", default: "graph" },
    format: { type: "string", default: "json" },
    windows: { type: "string", default: "4" },
    window: { type: "string", default: "15" },
    rate: { type: "string", default: "40" },
    seed: { type: "string", default: "1" },
    "key-style": { type: "string", default: "flat" },
    "group-by": { type: "string", default: "recipient" },
    quiet: { type: "boolean" },
  },
  run: demo,
});

async function demo(values: {
  source: string;
  format: string;
  windows: string;
  window: string;
  rate: string;
  seed: string;
  "key-style": string;
  "group-by": string;
  quiet?: boolean;
}): Promise<number> {
  // Checked before the simulator starts: a bad number is one line, not "Invalid time value" later.
  const numbers = {
    windows: wholeFlag("--windows", values.windows, 1, 1000),
    window: wholeFlag("--window", values.window, 1, 1440),
    rate: wholeFlag("--rate", values.rate, 0, 1_000_000),
    seed: wholeFlag("--seed", values.seed, 0, 2 ** 31),
  };
  const { startSimulator } = await import("../sim/index.js");
  const sim = await startSimulator({ seed: numbers.seed, ratePerHour: numbers.rate });
  const stateDir = mkdtempSync(join(tmpdir(), "o365mt-demo-"));
  try {
    const windows = numbers.windows;
    const windowMin = numbers.window;
    const now = Date.now();
    const step = windowMin * 60_000;
    const delayMin = 5;
    const end = Math.floor((now - delayMin * 60_000) / step) * step;
    const start = end - windows * step;
    const config = resolvePaths(
      validateConfig(
        {
          tenant_id: sim.tenantId,
          source: values.source,
          format: values.format,
          auth: { method: "client_secret", client_id: sim.clientId, client_secret: sim.clientSecret },
          endpoints: { login: sim.url, graph: sim.graphBase, rws: sim.rwsBase },
          delay: delayMin,
          window: windowMin,
          start: new Date(start).toISOString(),
          max_windows_per_run: windows,
          key_style: values["key-style"],
          group_by: values["group-by"],
          local_domains: [sim.organization, "contoso.com"],
          state_dir: stateDir,
          log: { level: "warn" },
        },
        "demo",
      ),
      stateDir,
    );
    const logger = loggerFor(config);
    const quietOut = {
      write: (_c: unknown, cb?: unknown) => {
        if (typeof cb === "function") cb();
        return true;
      },
      on: () => quietOut,
      off: () => quietOut,
    } as unknown as NodeJS.WritableStream;
    const opts = { logger, caPem: sim.ca, stdout: values.quiet ? quietOut : undefined };
    let recording!: RecordingSink;
    const rt = open(config, EVERYTHING, { ...opts, wrapSink: (s) => (recording = new RecordingSink(s)) });
    const t0 = performance.now();
    const r = await rt.collector.runCycle();
    const ms = performance.now() - t0;
    await rt.close();

    const truth = sim.truth(new Date(start), new Date(start + r.windows * step));
    const expected = new Set(truth.map((t) => identity(t.id, t.recipientAddress, t.status)));
    const got = new Set(recording.ids);
    const lost = [...expected].filter((id) => !got.has(id)).length;
    const dup = recording.ids.length - got.size;
    const grouped = config.group_by === "message";
    answerLogger(config).info(
      `demo: ${r.windows} windows of ${windowMin} min from ${new Date(start).toISOString()} via ${config.source.type}` +
        ` — ${recording.ids.length} records in ${Math.round(ms)} ms; simulator truth ${truth.length}` +
        (grouped ? " (grouped by message: one record per trace id)" : `; lost ${lost}, duplicated ${dup}`),
      { records: recording.ids.length, truth: truth.length, ...(grouped ? {} : { lost, duplicated: dup }) },
    );
    return grouped || (lost === 0 && dup === 0) ? EXIT_OK : EXIT_FAILURE;
  } finally {
    await sim.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
