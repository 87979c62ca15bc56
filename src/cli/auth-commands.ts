// `login-url`, `auth-code CODE`, `auth-reset`: the authorization-code (delegated) sign-in, for tenants whose
// policy forbids app-only permissions. The refresh token lives in the state dir (0600), never in output.
import { parseArgs } from "node:util";
import { AuthCodeProvider, authCodeFiles, resetAuthCode } from "../auth/auth-code.js";
import { CollectorError } from "../errors.js";
import { createDispatcherFor, resolveEndpoints } from "../runtime.js";
import { EXIT_OK, printError, requireConfigPath, setup } from "./common.js";
import type { Config } from "../config/schema.js";
import type { Logger } from "../log/logger.js";

const HELP: Record<string, string> = {
  "login-url": `Usage: o365-message-trace login-url --config FILE

Prints the sign-in / consent URL for auth.method auth_code. Open it as an administrator; the browser is sent
to auth.redirect_uri with ?code=…; pass that code (or the whole URL, quoted) to \`auth-code\`.`,
  "auth-code": `Usage: o365-message-trace auth-code --config FILE CODE|REDIRECT_URL

Redeems the code from the last login-url and stores the refresh token (0600) in state_dir; the collector
renews it from then on (Entra rotates it on every use).`,
  "auth-reset": `Usage: o365-message-trace auth-reset --config FILE

Deletes the stored auth_code refresh token and any pending sign-in for this tenant.`,
};

function parse(name: string, argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: name === "auth-code", options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } } });
}

function requireAuthCode(config: Config): void {
  if (config.auth.method !== "auth_code") {
    throw new CollectorError("config", `auth.method is ${config.auth.method}, not auth_code`, { hint: "set auth.method: auth_code in the config to use login-url / auth-code" });
  }
}

async function withProvider<T>(config: Config, logger: Logger, fn: (p: AuthCodeProvider) => Promise<T>): Promise<T> {
  const endpoints = resolveEndpoints(config);
  const dispatcher = createDispatcherFor(config, { logger });
  try {
    return await fn(new AuthCodeProvider(config, { dispatcher, logger, loginBase: endpoints.login }));
  } finally {
    await dispatcher.close().catch(() => {});
  }
}

export async function loginUrlCommand(argv: string[]): Promise<number> {
  const { values } = parse("login-url", argv);
  if (values.help) return void process.stdout.write(HELP["login-url"] + "\n"), EXIT_OK;
  try {
    const { config, logger } = setup(requireConfigPath(values.config, "login-url"));
    requireAuthCode(config);
    const url = await withProvider(config, logger, (p) => p.loginUrl());
    process.stdout.write(url + "\n");
    process.stderr.write(`o365-message-trace: open this URL as an administrator; then run: o365-message-trace auth-code --config ${values.config ?? "$O365_CONFIG"} CODE\n`);
    return EXIT_OK;
  } catch (err) {
    return printError(err);
  }
}

export async function authCodeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse("auth-code", argv);
  if (values.help) return void process.stdout.write(HELP["auth-code"] + "\n"), EXIT_OK;
  try {
    if (positionals.length !== 1) throw new CollectorError("config", "auth-code needs exactly one CODE (or the redirect URL)", { hint: "o365-message-trace auth-code --config FILE CODE" });
    const { config, logger } = setup(requireConfigPath(values.config, "auth-code"));
    requireAuthCode(config);
    const user = await withProvider(config, logger, (p) => p.redeem(positionals[0]!));
    process.stdout.write(`signed in as ${user}; refresh token stored in ${authCodeFiles(config).cache} (mode 0600)\n`);
    return EXIT_OK;
  } catch (err) {
    return printError(err);
  }
}

export async function authResetCommand(argv: string[]): Promise<number> {
  const { values } = parse("auth-reset", argv);
  if (values.help) return void process.stdout.write(HELP["auth-reset"] + "\n"), EXIT_OK;
  try {
    const { config } = setup(requireConfigPath(values.config, "auth-reset"));
    const removed = resetAuthCode(config);
    process.stdout.write(removed.length ? `removed ${removed.join(", ")}\n` : "no stored auth_code sign-in for this tenant\n");
    return EXIT_OK;
  } catch (err) {
    return printError(err);
  }
}
