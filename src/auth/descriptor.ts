// What an auth method tells the rest of the program: its `auth.method` name, whether it signs in through
// the tenant's login endpoint, which `auth.*` options are paths or secrets, and how to build its provider.
import type { Config } from "../config/schema.js";
import type { AuthDeps, TokenProvider } from "./provider.js";

export interface AuthMethodDescriptor {
  method: string;
  /** False for methods that never talk to the login host (managed identity): auth-test skips that check. */
  usesLoginEndpoint: boolean;
  /** Option paths (inside `auth:`) holding file paths, resolved against the config file's directory. */
  pathFields?: readonly string[][];
  /** Option paths (inside `auth:`) holding secrets, registered for redaction. */
  secretFields?: readonly string[][];
  create(config: Config, deps: AuthDeps): TokenProvider;
}
