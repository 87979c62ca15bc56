// Entra ID endpoints: OIDC discovery, instance discovery, token (client credentials with secret or
// certificate, auth code, refresh token), auto-consenting authorize, and App Service managed identity.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { MANAGED_IDENTITY_CLIENT_ID, type App, type Ctx } from "./context.js";
import { checkClientAssertion } from "./jwt.js";
import { acceptedCertificates, acceptedSecrets } from "./directory-store.js";
import { aadError, header, json, type SimRequest, type SimResponse } from "./responses.js";
import { findApp, matchTenant, mintAccessToken, resourceOf, USER_OID, RESOURCE_URL, type Resource } from "./tenant.js";

const OIDC_SCOPES = new Set(["openid", "profile", "offline_access", "email"]);
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

interface Grant {
  clientId: string;
  resource: Resource;
  scope: string;
  redirectUri?: string;
  challenge?: string;
  method?: string;
  nonce?: string;
}

/** Codes and refresh tokens of one simulator. Refresh tokens rotate; a rotated one keeps one grace use. */
export class GrantStore {
  readonly codes = new Map<string, Grant & { exp: number }>();
  readonly refresh = new Map<string, Grant & { graceLeft: number; rotated: boolean }>();
}

export function tenantError(ctx: Ctx, seg: string): SimResponse | undefined {
  const m = matchTenant(ctx, seg);
  if (m === "ok") return undefined;
  if (m === "malformed")
    return aadError(
      400,
      "invalid_request",
      900023,
      `Specified tenant identifier '${seg}' is neither a valid DNS name, nor a valid external domain.`,
    );
  return aadError(
    400,
    "invalid_request",
    90002,
    `Tenant '${seg}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );
}

export function openidConfiguration(ctx: Ctx): SimResponse {
  const t = `${ctx.url}/${ctx.tenantId}`;
  return json(200, {
    token_endpoint: `${t}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${t}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: `${t}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${ctx.url}/oidc/userinfo`,
    authorization_endpoint: `${t}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${t}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${t}/oauth2/v2.0/logout`,
    claims_supported: [
      "sub",
      "iss",
      "cloud_instance_name",
      "cloud_instance_host_name",
      "cloud_graph_host_name",
      "msgraph_host",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "acr",
      "nonce",
      "preferred_username",
      "name",
      "tid",
      "ver",
      "at_hash",
      "c_hash",
      "email",
    ],
    kerberos_endpoint: `${t}/kerberos`,
    tenant_region_scope: "EU",
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: "graph.microsoft.com",
    rbac_url: "https://pas.windows.net",
  });
}

export function instanceDiscovery(ctx: Ctx, req: SimRequest): SimResponse {
  const authz = req.url.searchParams.get("authorization_endpoint") ?? "";
  const tenant = /\/([^/]+)\/oauth2\//.exec(authz)?.[1] ?? ctx.tenantId;
  return json(200, {
    tenant_discovery_endpoint: `${ctx.url}/${tenant}/v2.0/.well-known/openid-configuration`,
    "api-version": "1.1",
    metadata: [{ preferred_network: ctx.hostPort, preferred_cache: ctx.hostPort, aliases: [ctx.hostPort] }],
  });
}

/** Client authentication: secret (body or Basic) or certificate assertion. "none" means a public client. */
function authenticateClient(
  ctx: Ctx,
  app: App,
  form: URLSearchParams,
  req: SimRequest,
  tenantSeg: string,
  requireCredential: boolean,
): SimResponse | "secret" | "cert" | "none" {
  let secret = form.get("client_secret") ?? undefined;
  const basic = header(req, "authorization");
  if (!secret && basic?.startsWith("Basic "))
    secret = decodeURIComponent(Buffer.from(basic.slice(6), "base64").toString("utf8").split(":").slice(1).join(":"));
  const assertion = form.get("client_assertion");
  if (assertion) {
    if (form.get("client_assertion_type") !== ASSERTION_TYPE)
      return aadError(400, "invalid_request", 50027, "Invalid client_assertion_type.");
    const pems = acceptedCertificates(app); // a directory app may have several registered certificates
    if (pems.length === 0)
      return aadError(401, "invalid_client", 700027, "Client assertion failed signature validation. [Reason - The key was not found.]");
    const auds = [tenantSeg, ctx.tenantId, ctx.organization].map((t) => `${ctx.url}/${t}/oauth2/v2.0/token`);
    const errs = pems.map((pem) => checkClientAssertion(assertion, pem, app.clientId, auds));
    const err = errs.includes(undefined) ? undefined : errs[0];
    return err ? aadError(401, "invalid_client", 700027, err) : "cert";
  }
  if (secret !== undefined) {
    if (!acceptedSecrets(app).includes(secret))
      return aadError(
        401,
        "invalid_client",
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
      );
    return "secret";
  }
  if (requireCredential || app.clientSecret || app.certificatePem)
    return aadError(
      401,
      "invalid_client",
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  return "none";
}

export function token(ctx: Ctx, grants: GrantStore, req: SimRequest, tenantSeg: string): SimResponse {
  const bad = tenantError(ctx, tenantSeg);
  if (bad) return bad;
  const form = new URLSearchParams(req.body);
  const missing = (p: string) => aadError(400, "invalid_request", 900144, `The request body must contain the following parameter: '${p}'.`);
  const grantType = form.get("grant_type");
  if (!grantType) return missing("grant_type");
  const clientId = form.get("client_id");
  if (!clientId) return missing("client_id");
  // The managed identity has no credentials to present here, so only registered apps qualify.
  const app = ctx.apps.get(clientId.toLowerCase());
  if (!app)
    return aadError(
      400,
      "unauthorized_client",
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${ctx.organization}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  const cred = authenticateClient(ctx, app, form, req, tenantSeg, grantType === "client_credentials");
  if (typeof cred !== "string") return cred;

  if (grantType === "client_credentials") {
    const scope = form.get("scope");
    if (!scope) return missing("scope");
    const scopes = scope.split(/\s+/).filter(Boolean);
    if (scopes.length !== 1 || !/\/\.default$/i.test(scopes[0]!))
      return aadError(
        400,
        "invalid_scope",
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    const res = resourceOf(scopes[0]!);
    if (!res)
      return aadError(
        400,
        "invalid_resource",
        500011,
        `The resource principal named ${scopes[0]!.replace(/\/\.default$/i, "")} was not found in the tenant named ${ctx.organization}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
      );
    const t = mintAccessToken(ctx, app, res, { credType: cred });
    return json(
      200,
      { token_type: "Bearer", expires_in: t.expiresIn, ext_expires_in: t.expiresIn, access_token: t.token },
      { "cache-control": "no-store, no-cache" },
    );
  }

  if (grantType === "authorization_code") {
    const code = form.get("code");
    if (!code) return missing("code");
    const g = grants.codes.get(code);
    grants.codes.delete(code); // single use, as Entra enforces
    if (!g || g.exp < Date.now() || g.clientId !== app.clientId.toLowerCase())
      return aadError(
        400,
        "invalid_grant",
        70008,
        "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
      );
    if (g.redirectUri && form.get("redirect_uri") !== g.redirectUri)
      return aadError(
        400,
        "invalid_grant",
        50148,
        "The redirect URI specified in the request does not match the redirect URI used when the authorization code was obtained.",
      );
    if (g.challenge) {
      const v = form.get("code_verifier") ?? "";
      const calc = g.method === "S256" ? createHash("sha256").update(v).digest("base64url") : v;
      if (calc !== g.challenge)
        return aadError(
          400,
          "invalid_grant",
          501481,
          "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        );
    }
    return userTokens(ctx, grants, app, g, cred);
  }

  if (grantType === "refresh_token") {
    const rt = form.get("refresh_token");
    if (!rt) return missing("refresh_token");
    const g = grants.refresh.get(rt);
    if (!g || g.clientId !== app.clientId.toLowerCase() || (g.rotated && g.graceLeft <= 0))
      return aadError(
        400,
        "invalid_grant",
        70008,
        "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
      );
    if (g.rotated) g.graceLeft--;
    g.rotated = true;
    return userTokens(ctx, grants, app, g, cred);
  }
  return aadError(400, "unsupported_grant_type", 70003, `The app requested an unsupported grant type '${grantType}'.`);
}

function userTokens(ctx: Ctx, grants: GrantStore, app: App, g: Grant, cred: "secret" | "cert" | "none"): SimResponse {
  const t = mintAccessToken(ctx, app, g.resource, { delegated: true, credType: cred });
  const rt = randomBytes(48).toString("base64url");
  grants.refresh.set(rt, { clientId: g.clientId, resource: g.resource, scope: g.scope, graceLeft: 1, rotated: false });
  const now = Math.floor(Date.now() / 1000);
  const idClaims: Record<string, unknown> = {
    aud: app.clientId,
    iss: `${ctx.url}/${ctx.tenantId}/v2.0`,
    iat: now,
    nbf: now,
    exp: now + 3600,
    name: "Sim Admin",
    oid: USER_OID,
    preferred_username: `admin@${ctx.organization}`,
    sub: USER_OID,
    tid: ctx.tenantId,
    ver: "2.0",
  };
  if (g.nonce) idClaims.nonce = g.nonce;
  // msal builds its account (home account id) from client_info: uid.utid.
  const clientInfo = Buffer.from(JSON.stringify({ uid: USER_OID, utid: ctx.tenantId })).toString("base64url");
  return json(200, {
    token_type: "Bearer",
    scope: g.scope,
    expires_in: t.expiresIn,
    ext_expires_in: t.expiresIn,
    access_token: t.token,
    refresh_token: rt,
    id_token: ctx.signer.sign(idClaims),
    client_info: clientInfo,
  });
}

export function authorize(ctx: Ctx, grants: GrantStore, req: SimRequest, tenantSeg: string): SimResponse {
  const bad = tenantError(ctx, tenantSeg);
  if (bad) return bad;
  const q = req.url.searchParams;
  const app = ctx.apps.get((q.get("client_id") ?? "").toLowerCase());
  const redirectUri = q.get("redirect_uri") ?? app?.redirectUri;
  if (!app)
    return aadError(
      400,
      "unauthorized_client",
      700016,
      `Application with identifier '${q.get("client_id")}' was not found in the directory '${ctx.organization}'.`,
    );
  if (!redirectUri || (app.redirectUri && app.redirectUri !== redirectUri))
    return aadError(
      400,
      "invalid_request",
      50011,
      `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${app.clientId}'.`,
    );
  const scopes = (q.get("scope") ?? "").split(/\s+/).filter((s) => s && !OIDC_SCOPES.has(s.toLowerCase()));
  const resource = scopes.map(resourceOf).find((r): r is Resource => r !== undefined) ?? "graph";
  const code = randomBytes(32).toString("base64url");
  const grant: Grant & { exp: number } = {
    clientId: app.clientId.toLowerCase(),
    resource,
    redirectUri,
    exp: Date.now() + 10 * 60_000,
    scope: [`${RESOURCE_URL[resource]}/.default`, "openid", "profile", "offline_access"].join(" "),
  };
  const cc = q.get("code_challenge");
  if (cc) grant.challenge = cc;
  grant.method = q.get("code_challenge_method") ?? "plain";
  const nonce = q.get("nonce");
  if (nonce) grant.nonce = nonce;
  grants.codes.set(code, grant);
  // Auto-consent: the "user" signs in and approves immediately.
  const loc = new URL(redirectUri);
  loc.searchParams.set("code", code);
  const state = q.get("state");
  if (state !== null) loc.searchParams.set("state", state);
  loc.searchParams.set("session_state", randomUUID());
  return { status: 302, headers: { location: loc.toString(), "content-type": "text/html" }, body: "" };
}

/** App Service managed identity endpoint (api-version 2019-08-01), as msal-node's AppService source calls it. */
export function managedIdentity(ctx: Ctx, req: SimRequest): SimResponse {
  const correlationId = randomUUID();
  if (header(req, "x-identity-header") !== ctx.managedIdentityHeader)
    return json(401, { statusCode: 401, message: "Unauthorized: missing or invalid X-IDENTITY-HEADER.", correlationId });
  const q = req.url.searchParams;
  const resourceParam = q.get("resource") ?? "";
  const res = resourceOf(resourceParam);
  if (!res)
    return json(400, {
      statusCode: 400,
      message: `AADSTS500011: The resource principal named ${resourceParam} was not found in the tenant named ${ctx.organization}.`,
      correlationId,
    });
  const uaid = q.get("client_id") ?? q.get("principal_id") ?? undefined;
  const app = uaid ? findApp(ctx, uaid) : findApp(ctx, MANAGED_IDENTITY_CLIENT_ID);
  if (!app)
    return json(400, { statusCode: 400, message: `Unable to load the proper Managed Identity for client id '${uaid}'.`, correlationId });
  const t = mintAccessToken(ctx, app, res, { credType: "cert" });
  return json(200, {
    access_token: t.token,
    expires_on: String(t.exp),
    resource: resourceParam,
    token_type: "Bearer",
    client_id: app.clientId,
  });
}
