// Shared by `login-url`, `auth-code` and `auth-reset` (one file each): an auth method's interactive sign-in
// (auth_code: delegated, for tenants whose policy forbids app-only permissions), found through its descriptor.
// What it stores (auth_code: the refresh token) lives in the state dir (0600), never in output.
import type { InteractiveSignIn } from "../auth/descriptor.js";
import { authMethod, authMethods } from "../auth/registry.js";
import type { Config } from "../config/schema.js";
import { CollectorError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { authContext, open } from "../runtime.js";

/** The configured method's interactive sign-in; a config error when the method has none. */
function signInOf(config: Config): NonNullable<ReturnType<typeof authMethod>["signIn"]> {
  const signIn = authMethod(config.auth.method).signIn;
  if (!signIn) {
    const methods = authMethods()
      .filter((m) => m.signIn)
      .map((m) => m.method);
    throw new CollectorError("config", `auth.method is ${config.auth.method}, not ${methods.join(" or ")}`, {
      hint: `set auth.method: ${methods[0]} in the config to use login-url / auth-code`,
    });
  }
  return signIn;
}

/** Run `fn` with the configured method's sign-in (a config error, before any network, when it has none). */
export async function withSignIn<T>(config: Config, logger: Logger, fn: (p: InteractiveSignIn) => Promise<T>): Promise<T> {
  const signIn = signInOf(config);
  const net = open(config, { network: true }, { logger });
  try {
    return await fn(signIn.create(authContext(config, { dispatcher: net.dispatcher, logger, loginBase: net.endpoints.login })));
  } finally {
    await net.close();
  }
}

/** Where the configured method's sign-in is stored (its first file: the token cache). */
export function signInStore(config: Config): string {
  return signInOf(config).files(config.state_dir, config.tenant_id)[0]!;
}

/** Every stored sign-in of this tenant (whatever method stored it), for auth-reset. */
export function signInFiles(config: Config): string[] {
  return authMethods().flatMap((m) => m.signIn?.files(config.state_dir, config.tenant_id) ?? []);
}
