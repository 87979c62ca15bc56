// The `auth:` section's schema, beside the methods that read it (shared by all methods: each reads its own
// keys). config/schema.ts joins it in with `method` checked against the registry.
import { z } from "zod";

const certificate = z
  .object({
    /** PEM private key file (or env O365_CERT_PRIVATE_KEY with the PEM itself). */
    private_key_file: z.string().optional(),
    /** PEM certificate file; used to compute thumbprints and send x5c when given. */
    certificate_file: z.string().optional(),
    thumbprint: z
      .string()
      .regex(/^[0-9A-Fa-f:]{40,59}$/, "a SHA-1 thumbprint: 40 hex digits")
      .optional(),
    thumbprint_sha256: z
      .string()
      .regex(/^[0-9A-Fa-f:]{64,95}$/, "a SHA-256 thumbprint: 64 hex digits")
      .optional(),
    send_x5c: z.boolean().default(false),
  })
  .strict();

/** `auth:`; `method` is checked against the auth registry in configSchema(). */
export const authSchema = (method: z.ZodType<string>) =>
  z
    .object({
      method: method.default("client_secret"),
      client_id: z.string().min(1).optional(),
      /** Prefer env O365_CLIENT_SECRET. */
      client_secret: z.string().min(1).optional(),
      certificate: certificate.optional(),
      redirect_uri: z.string().url().default("http://localhost:8400/callback"),
      /** User-assigned managed identity client id (system-assigned when absent). */
      managed_identity_client_id: z.string().optional(),
    })
    .strict();

/** The `auth:` section after validation: every method's options (each method reads its own). */
export type AuthOptions = z.infer<ReturnType<typeof authSchema>>;
