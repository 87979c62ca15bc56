// The `auth:` section's schema, beside the methods that read it (shared by all methods: each reads its own
// keys). config/schema.ts joins it in with `method` checked against the registry.
import * as z from "zod/mini";

const certificate = z.strictObject({
  /** PEM private key file (or env O365_CERT_PRIVATE_KEY with the PEM itself). */
  private_key_file: z.optional(z.string()),
  /** PEM certificate file; used to compute thumbprints and send x5c when given. */
  certificate_file: z.optional(z.string()),
  thumbprint: z.optional(z.string().check(z.regex(/^[0-9A-Fa-f:]{40,59}$/, "a SHA-1 thumbprint: 40 hex digits"))),
  thumbprint_sha256: z.optional(z.string().check(z.regex(/^[0-9A-Fa-f:]{64,95}$/, "a SHA-256 thumbprint: 64 hex digits"))),
  send_x5c: z._default(z.boolean(), false),
});

/** `auth:`; `method` is checked against the auth registry in configSchema(). */
export const authSchema = (method: z.ZodMiniType<string>) =>
  z.strictObject({
    method: z._default(method, "client_secret"),
    client_id: z.optional(z.string().check(z.minLength(1))),
    /** Prefer env O365_CLIENT_SECRET. */
    client_secret: z.optional(z.string().check(z.minLength(1))),
    certificate: z.optional(certificate),
    redirect_uri: z._default(z.url(), "http://localhost:8400/callback"),
    /** User-assigned managed identity client id (system-assigned when absent). */
    managed_identity_client_id: z.optional(z.string()),
  });

/** The `auth:` section after validation: every method's options (each method reads its own). */
export type AuthOptions = z.infer<ReturnType<typeof authSchema>>;
