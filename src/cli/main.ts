// Command dispatch. Each command lives in its own module and owns its flags and --help.
import { EXIT_CONFIG, EXIT_OK } from "./common.js";

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  run: { summary: "long-running collector (daemon) for forward/http sinks or streaming exec", load: async () => (await import("./run.js")).runCommand },
  once: { summary: "one poll cycle, NDJSON on stdout (Fluent Bit / Fluentd / Vector exec)", load: async () => (await import("./once.js")).onceCommand },
  demo: { summary: "run against an embedded simulated tenant (no Microsoft account needed)", load: async () => (await import("./demo.js")).demoCommand },
  simulate: { summary: "start the simulated tenant (token endpoint, Graph, legacy reporting service)", load: async () => (await import("../sim/main.js")).runSimulateCommand },
  schema: { summary: "print the o365.message.* field table (--json for JSON Schema)", load: async () => (await import("./schema-cmd.js")).schemaCommand },
};

/** Commands added by other modules (auth-test, get-events, backfill, login-url, auth-code, auth-reset). */
export function registerCommand(name: string, summary: string, load: () => Promise<Command>): void {
  COMMANDS[name] = { summary, load };
}

function usage(): string {
  const names = Object.keys(COMMANDS);
  const w = Math.max(...names.map((n) => n.length));
  return [
    "Usage: o365-message-trace <command> [options]   (each command has --help)",
    "",
    "Microsoft 365 message trace → o365.message.* records for Fluent Bit, Fluentd and Vector.",
    "",
    "Commands:",
    ...names.map((n) => `  ${n.padEnd(w)}  ${COMMANDS[n]!.summary}`),
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  await import("./extra-commands.js");
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(usage() + "\n");
    return EXIT_OK;
  }
  if (name === "--version" || name === "version") {
    const { createRequire } = await import("node:module");
    process.stdout.write(createRequire(import.meta.url)("../../package.json").version + "\n");
    return EXIT_OK;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`o365-message-trace: unknown command ${JSON.stringify(name)}\n${usage()}\n`);
    return EXIT_CONFIG;
  }
  try {
    return await (await cmd.load())(rest);
  } catch (err) {
    // parseArgs errors (unknown flag…) are usage errors: one line, exit 2.
    const e = err as { code?: string; message?: string };
    if (e?.code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`o365-message-trace ${name}: ${e.message} (see: o365-message-trace ${name} --help)\n`);
      return EXIT_CONFIG;
    }
    throw err;
  }
}
