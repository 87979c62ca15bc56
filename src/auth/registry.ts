// Every auth method this build offers, one line each. The composition root (src/runtime.ts) builds a method's
// narrow context (AuthContext) and calls its create().
import { CollectorError } from "../errors.js";
import { AuthCodeProvider, authCodeFiles } from "./auth-code.js";
import type { AuthMethodDescriptor } from "./descriptor.js";
import { ManagedIdentityProvider } from "./managed-identity.js";
import { ConfidentialClientProvider } from "./provider.js";

const secret: AuthMethodDescriptor = {
  method: "client_secret",
  usesLoginEndpoint: true,
  secretFields: [["client_secret"]],
  create: (ctx) => new ConfidentialClientProvider(ctx, "client_secret"),
};

const certificate: AuthMethodDescriptor = {
  method: "certificate",
  usesLoginEndpoint: true,
  pathFields: [
    ["certificate", "private_key_file"],
    ["certificate", "certificate_file"],
  ],
  create: (ctx) => new ConfidentialClientProvider(ctx, "certificate"),
};

const authCode: AuthMethodDescriptor = {
  method: "auth_code",
  usesLoginEndpoint: true,
  // The refresh token is kept in the state dir; the sign-in consents to the configured source's API.
  needs: { stateDir: true, sourceScope: true },
  create: (ctx) => new AuthCodeProvider(ctx),
  signIn: {
    create: (ctx) => new AuthCodeProvider(ctx),
    files: (stateDir, tenantId) => Object.values(authCodeFiles(stateDir, tenantId)),
  },
};

const managedIdentity: AuthMethodDescriptor = {
  method: "managed_identity",
  usesLoginEndpoint: false,
  create: (ctx) => new ManagedIdentityProvider(ctx),
};

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
  if (!d)
    throw new CollectorError("config", `auth.method ${method} is not available in this build`, {
      hint: `use one of: ${METHODS.map((m) => m.method).join(", ")}`,
    });
  return d;
}
