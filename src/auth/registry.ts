// Every auth method this build offers, one line each, and the one place a token provider is built.
import { CollectorError } from "../errors.js";
import { AuthCodeProvider } from "./auth-code.js";
import type { AuthMethodDescriptor } from "./descriptor.js";
import { ManagedIdentityProvider } from "./managed-identity.js";
import { ConfidentialClientProvider, type AuthDeps, type TokenProvider } from "./provider.js";
import type { Config } from "../config/schema.js";

const secret: AuthMethodDescriptor = {
  method: "client_secret",
  usesLoginEndpoint: true,
  secretFields: [["client_secret"]],
  create: (c, d) => new ConfidentialClientProvider(c, d),
};

const certificate: AuthMethodDescriptor = {
  method: "certificate",
  usesLoginEndpoint: true,
  pathFields: [["certificate", "private_key_file"], ["certificate", "certificate_file"]],
  create: (c, d) => new ConfidentialClientProvider(c, d),
};

const authCode: AuthMethodDescriptor = { method: "auth_code", usesLoginEndpoint: true, create: (c, d) => new AuthCodeProvider(c, d) };

const managedIdentity: AuthMethodDescriptor = { method: "managed_identity", usesLoginEndpoint: false, create: (c, d) => new ManagedIdentityProvider(c, d) };

const METHODS: AuthMethodDescriptor[] = [
  secret, // default (first)
  certificate,
  authCode,
  managedIdentity,
];

export function authMethods(): readonly AuthMethodDescriptor[] {
  return METHODS;
}

export function authMethod(method: string): AuthMethodDescriptor {
  const d = METHODS.find((m) => m.method === method);
  if (!d) throw new CollectorError("config", `auth.method ${method} is not available in this build`, { hint: `use one of: ${METHODS.map((m) => m.method).join(", ")}` });
  return d;
}

export function createTokenProvider(config: Config, deps: AuthDeps): TokenProvider {
  return authMethod(config.auth.method).create(config, deps);
}
