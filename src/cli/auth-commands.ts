// Shared by `login-url`, `auth-code` and `auth-reset` (one file each): the authorization-code (delegated)
// sign-in, for tenants whose policy forbids app-only permissions. The refresh token lives in the state dir
// (0600), never in output.
import { AuthCodeProvider } from "../auth/auth-code.js";
import type { Config } from "../config/schema.js";
import { CollectorError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { authContext, open } from "../runtime.js";

export function requireAuthCode(config: Config): void {
  if (config.auth.method !== "auth_code") {
    throw new CollectorError("config", `auth.method is ${config.auth.method}, not auth_code`, { hint: "set auth.method: auth_code in the config to use login-url / auth-code" });
  }
}

export async function withAuthCodeProvider<T>(config: Config, logger: Logger, fn: (p: AuthCodeProvider) => Promise<T>): Promise<T> {
  const net = open(config, { network: true }, { logger });
  try {
    return await fn(new AuthCodeProvider(authContext(config, { dispatcher: net.dispatcher, logger, loginBase: net.endpoints.login })));
  } finally {
    await net.close();
  }
}
