// Turn msal / Entra ID errors into one plain sentence with the fix. Codes from ../shared/docs §3.
import { CollectorError } from "../errors.js";

const AADSTS: Array<[RegExp, "auth" | "config" | "permission", string, string]> = [
  [
    /AADSTS7000215/,
    "auth",
    "the client secret is wrong (AADSTS7000215)",
    "copy the secret *value* (not its id) from the app registration into O365_CLIENT_SECRET",
  ],
  [
    /AADSTS7000222/,
    "auth",
    "the client secret has expired (AADSTS7000222)",
    "create a new client secret in the app registration and update O365_CLIENT_SECRET",
  ],
  [
    /AADSTS700016/,
    "auth",
    "the application (client id) was not found in this tenant (AADSTS700016)",
    "check auth.client_id and tenant_id; the app must be registered in (or consented to by) this tenant",
  ],
  [
    /AADSTS90002\b/,
    "auth",
    "the tenant was not found (AADSTS90002)",
    "check tenant_id (a GUID or a verified domain such as contoso.onmicrosoft.com) and the cloud setting",
  ],
  [
    /AADSTS900023/,
    "config",
    "the tenant id is malformed (AADSTS900023)",
    "set tenant_id to the directory (tenant) GUID or a verified domain",
  ],
  [
    /AADSTS700027/,
    "auth",
    "the certificate assertion was rejected (AADSTS700027)",
    "upload this certificate to the app registration and check the thumbprint and private key match",
  ],
  [
    /AADSTS70008|AADSTS700082|AADSTS54005/,
    "auth",
    "the authorization code or refresh token has expired",
    "run `o365-message-trace login-url` and `auth-code CODE` again",
  ],
  [
    /AADSTS65001|AADSTS650057/,
    "permission",
    "admin consent is missing for the requested permission",
    "grant admin consent for the API permission in the app registration",
  ],
  [
    /AADSTS7000218|AADSTS7000216/,
    "config",
    "the request needs a client secret or certificate",
    "configure auth.client_secret (O365_CLIENT_SECRET) or a certificate",
  ],
];

export function classifyAuthError(err: unknown): CollectorError {
  if (err instanceof CollectorError) return err;
  const e = err as { errorCode?: string; errorMessage?: string; message?: string; subError?: string };
  const text = `${e?.errorCode ?? ""} ${e?.errorMessage ?? ""} ${e?.message ?? String(err)}`;
  for (const [re, kind, what, hint] of AADSTS) {
    if (re.test(text)) return new CollectorError(kind, `sign-in failed: ${what}`, { hint, code: text.match(/AADSTS\d+/)?.[0], cause: err });
  }
  if (/network|ECONN|ENOTFOUND|timeout|socket|UND_ERR|non-JSON/i.test(text)) {
    return new CollectorError("transient", `cannot reach the login endpoint: ${firstLine(e?.errorMessage || e?.message || String(err))}`, {
      hint: "check network, proxy (http.proxy / HTTPS_PROXY) and http.ca_file",
      cause: err,
    });
  }
  // Entra itself is overloaded or down (HTTP 429/5xx, AADSTS90033/50196, temporarily_unavailable): that heals
  // by waiting, so it must be retried and must not stop the daemon like a wrong secret would.
  const status = (err as { status?: number })?.status ?? 0;
  if (status === 429 || status >= 500 || /temporarily_unavailable|server_error|AADSTS(90033|50196)\b/.test(text)) {
    return new CollectorError(
      "transient",
      `the login endpoint is unavailable: ${firstLine(e?.errorMessage || e?.message || String(err))}`,
      {
        status: status || undefined,
        hint: "retried; Entra ID reported a temporary failure",
        cause: err,
      },
    );
  }
  return new CollectorError("auth", `sign-in failed: ${firstLine(e?.errorMessage || e?.message || String(err))}`, {
    hint: "run `o365-message-trace auth-test --config FILE` for a diagnosis",
    cause: err,
  });
}

function firstLine(s: string): string {
  return s.split(/\r?\n/)[0]!.slice(0, 300);
}

/**
 * msal reports a failed metadata fetch only as "endpoints_resolution_error". Entra explains the cause in the
 * body of the discovery document's error (AADSTS90002 unknown tenant, AADSTS900023 malformed), so ask it.
 */
export async function explainDiscoveryFailure(
  err: unknown,
  authority: string,
  fetchText: (url: string) => Promise<{ status: number; body: string }>,
): Promise<CollectorError> {
  const code = (err as { errorCode?: string })?.errorCode;
  if (code !== "endpoints_resolution_error") return classifyAuthError(err);
  try {
    const res = await fetchText(`${authority}/v2.0/.well-known/openid-configuration`);
    if (res.status >= 400) {
      const body = JSON.parse(res.body) as { error_description?: string; error?: string };
      return classifyAuthError({ errorMessage: `${body.error ?? ""}: ${body.error_description ?? res.body.slice(0, 200)}` });
    }
  } catch (probeErr) {
    return classifyAuthError(probeErr);
  }
  return classifyAuthError(err);
}
