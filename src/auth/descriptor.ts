// What an auth method tells the rest of the program: its `auth.method` name, whether it signs in through
// the tenant's login endpoint, which `auth.*` options are paths or secrets, what else it needs from the
// config (state dir, the source's token scope), and how to build its provider from that narrow context.
import type { AuthOptions } from "./options.js";
import type { AuthDeps, TokenProvider } from "./provider.js";

/** What a token provider is built from: the `auth:` section, the tenant, the HTTP stack, and only the extras its descriptor asks for. */
export interface AuthContext extends AuthDeps {
  options: AuthOptions;
  tenantId: string;
  /** Per-request timeout for the login host in milliseconds (http.timeout; 0 = the 60 s default). */
  timeoutMs: number;
  /** The state directory (`needs.stateDir`): where a method keeps what it must remember (auth_code's refresh token). */
  stateDir?: string;
  /** The configured source's token scope, `${resource}/.default` (`needs.sourceScope`): what a delegated sign-in consents to. */
  sourceScope?: string;
}

/** A sign-in an administrator drives from the CLI (auth_code): `login-url`, then `auth-code CODE`. */
export interface InteractiveSignIn {
  /** Step 1: the URL to open, sign in and consent. */
  loginUrl(): Promise<string>;
  /** Step 2: redeem the code (or the redirect URL it came back on); resolves with the signed-in user. */
  redeem(codeOrUrl: string): Promise<string>;
}

export interface AuthMethodDescriptor {
  method: string;
  /** False for methods that never talk to the login host (managed identity): auth-test skips that check. */
  usesLoginEndpoint: boolean;
  /** Extras the composition root passes in the context; the rest of the config never reaches the method. */
  needs?: { stateDir?: boolean; sourceScope?: boolean };
  /** Option paths (inside `auth:`) holding file paths, resolved against the config file's directory. */
  pathFields?: readonly string[][];
  /** Option paths (inside `auth:`) holding secrets, registered for redaction. */
  secretFields?: readonly string[][];
  create(ctx: AuthContext): TokenProvider;
  /** Methods with an interactive sign-in: what `login-url`, `auth-code` and `auth-reset` drive. */
  signIn?: {
    create(ctx: AuthContext): InteractiveSignIn;
    /** The files in the state dir holding what the sign-in stored (`auth-reset` deletes them; the first is the token cache). */
    files(stateDir: string, tenantId: string): string[];
  };
}
