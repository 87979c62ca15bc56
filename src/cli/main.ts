// Command dispatch: find the command (suggesting the closest name for a typo), run it, turn a usage error
// into one line and exit 2. Commands are listed in ./commands.ts; each defines its flags and --help.
import { sidecarV8 } from "../heap.js";
import { processLogger } from "../log/logger.js";
import { packageVersion } from "../package-version.js";
import { closest } from "../text/closest.js";
import { COMMANDS } from "./commands.js";
import { EXIT_CONFIG, EXIT_OK } from "./common.js";
import { applySidecarV8Flags } from "./v8-flags.js";

/** Environment variables that are not config overrides (those come from the config loader). */
const OTHER_ENV: Array<[string, string]> = [
  ["O365_CONFIG", "config file when --config is not given"],
  ["O365_CERT_PRIVATE_KEY", "PEM private key for auth.method certificate (instead of a file)"],
  ["HTTPS_PROXY / NO_PROXY", "proxy for the Microsoft endpoints (http.proxy wins)"],
  ["O365_HEAP_GROWTH", "V8 heap growth after a full GC, percent (default 100; 0 = V8's own)"],
  ["O365_YOUNG_GENERATION", "V8 young generation: small (default, 1 MB semi-spaces) or v8 (V8's own growth)"],
  ["O365_GC_THREADS", "V8 garbage collection: v8 (default, with helper threads) or main (main thread only: less CPU, more memory)"],
  ["O365_LEAN_START", "once/run start without V8's optimizing compilers, optimized for size (default); v8 = V8's own"],
];

async function usage(): Promise<string> {
  const { envOverrides } = await import("../config/load.js");
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  const env: Array<[string, string]> = [
    ...envOverrides().map(([name, path]): [string, string] => [name, `overrides ${path.join(".")}`]),
    ...OTHER_ENV,
  ];
  const ew = Math.max(...env.map(([n]) => n.length));
  return [
    "Usage: o365-message-trace <command> [options]   (each command has --help)",
    "",
    "Microsoft 365 message trace → o365.message.* records for Fluent Bit, Fluentd and Vector.",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    "",
    "Environment:",
    ...env.map(([n, what]) => `  ${n.padEnd(ew)}  ${what}`),
    "",
    "Exit codes: 0 ok (or another copy already running), 1 runtime failure, 2 configuration or usage error.",
    "Options: -h/--help, -V/--version.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  applySidecarV8Flags();
  const [name, ...rest] = argv;
  sidecarV8(name);
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write((await usage()) + "\n");
    return EXIT_OK;
  }
  if (name === "--version" || name === "-V" || name === "version") {
    process.stdout.write(packageVersion() + "\n");
    return EXIT_OK;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    const guess = closest(
      name,
      COMMANDS.map((c) => c.name),
    );
    const hint = guess ? ` (did you mean "${guess}"?)` : "";
    // One log line like every other error (JSON off a terminal); the command list only for a person.
    processLogger().error(`unknown command ${JSON.stringify(name)}${hint} — run o365-message-trace --help for the list`);
    if (process.stderr.isTTY) process.stderr.write(`${await usage()}\n`);
    return EXIT_CONFIG;
  }
  try {
    return await (
      await cmd.load()
    )(rest);
  } catch (err) {
    // parseArgs errors (unknown flag…) are usage errors: one line, exit 2.
    const e = err as { code?: string; message?: string };
    if (e?.code?.startsWith("ERR_PARSE_ARGS")) {
      processLogger().error(`${name}: ${e.message} (see: o365-message-trace ${name} --help)`);
      return EXIT_CONFIG;
    }
    throw err;
  }
}
