// Secrets must never reach stdout, stderr or state files. Every log line and every error message passes
// through `redact`, which removes (1) the exact values we know are secret (client secret, refresh token,
// shared keys, proxy password…) and (2) anything shaped like a credential (JWTs, Bearer headers,
// secret-looking query/form parameters, PEM private keys), so even text from a remote error body is safe.

const known = new Set<string>();

/** Register a secret value so that it is scrubbed wherever it appears. Short values are ignored (too many false hits). */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value === "string" && value.length >= 6) known.add(value);
}

const PATTERNS: Array<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, "[REDACTED PRIVATE KEY]"],
  [/\bBearer\s+[A-Za-z0-9\-._~+/]+=*/gi, "Bearer [REDACTED]"],
  // JWTs (access tokens, id tokens, client assertions): base64url segments starting with {"… Matched from the
  // header alone, so a token cut short (an error body quoted to 200 characters) is scrubbed too.
  [/\beyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*){0,2}/g, "[REDACTED JWT]"],
  // Credentials inside a URL (a proxy URL with user:password@), wherever the URL is quoted.
  [/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:"'<>]*):([^\s/@"'<>]+)@/gi, "$1$2:[REDACTED]@"],
  [
    /\b(client_secret|client_assertion|refresh_token|access_token|id_token|code|password|shared_key|sharedKey|secret|token)(["']?\s*[:=]\s*["']?)([^"'&\s,}]+)/gi,
    "$1$2[REDACTED]",
  ],
];

export function redact(text: string): string {
  let out = text;
  for (const secret of known) {
    if (out.includes(secret)) out = out.split(secret).join("[REDACTED]");
  }
  for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
  return out;
}
