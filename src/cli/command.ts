// The one way to define a command: its name, flags, --help text and body. `defineCommand` parses the flags
// (an unknown flag is a usage error: one line, exit 2), prints --help, and turns anything the body throws
// into the one-line error and its exit code (common.ts printError). Commands are listed in ./commands.ts.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { EXIT_OK, printError } from "./common.js";

type Options = NonNullable<ParseArgsConfig["options"]>;
type WithHelp<O extends Options> = O & { help: { type: "boolean"; short: "h" } };
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: WithHelp<O>; allowPositionals: true }>>;

export type CommandMain = (argv: string[]) => Promise<number>;

export interface CommandSpec<O extends Options> {
  name: string;
  /** The --help text (starts with the usage line). */
  help: string;
  options: O;
  /** Accept positional arguments (auth-code CODE). */
  positionals?: boolean;
  run(values: Parsed<O>["values"], positionals: string[]): Promise<number>;
}

export function defineCommand<O extends Options>(spec: CommandSpec<O>): CommandMain {
  return async (argv) => {
    const options = { ...spec.options, help: { type: "boolean", short: "h" } } as WithHelp<O>;
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: !!spec.positionals }) as Parsed<O>;
    if ((values as { help?: boolean }).help) {
      process.stdout.write(spec.help + "\n");
      return EXIT_OK;
    }
    try {
      return await spec.run(values, positionals);
    } catch (err) {
      return printError(err);
    }
  };
}
