// The OAuth 2.0 device authorization grant as Entra serves it: /oauth2/v2.0/devicecode hands out a user code
// and a device code, the administrator enters the user code at the verification page (/devicelogin, POST
// otc=CODE approves, action=deny declines), and the client polls the token endpoint, which answers
// authorization_pending (and slow_down when polled too fast) until then. The token is a delegated Graph
// token for the tenant's administrator, carrying the requested scopes and the admin's directory roles (wids).
import { randomBytes, randomInt } from "node:crypto";
import type { Ctx } from "./context.js";
import { GRAPH_CLI_CLIENT_ID, type Directory } from "./directory-store.js";
import { aadError, json, type SimRequest, type SimResponse } from "./responses.js";
import { tenantError } from "./identity.js";
import { USER_OID } from "./tenant.js";

/** RFC 8628's grant type; Entra also accepts the short form msal sends. */
export function isDeviceCodeGrant(g: string | null): boolean {
  return g === "urn:ietf:params:oauth:grant-type:device_code" || g === "device_code";
}
/** First-party public clients an administrator may sign in with (Graph Command Line Tools, Azure CLI). */
const PUBLIC_CLIENTS = new Set([GRAPH_CLI_CLIENT_ID, "04b07795-8ddb-461a-bbee-02f9e1bf7b46"]);
const LIFETIME_S = 900;

interface DeviceGrant {
  userCode: string;
  clientId: string;
  scopes: string[];
  exp: number;
  state: "pending" | "approved" | "declined";
  lastPoll: number;
}

const grantsOf = new WeakMap<Directory, Map<string, DeviceGrant>>();
function grants(dir: Directory): Map<string, DeviceGrant> {
  let g = grantsOf.get(dir);
  if (!g) grantsOf.set(dir, (g = new Map()));
  return g;
}

export function deviceAuthorization(ctx: Ctx, dir: Directory, req: SimRequest, tenantSeg: string): SimResponse {
  const bad = tenantError(ctx, tenantSeg);
  if (bad) return bad;
  if (req.method !== "POST") return aadError(405, "invalid_request", 900561, "The endpoint only accepts POST requests.");
  const form = new URLSearchParams(req.body);
  const clientId = (form.get("client_id") ?? "").toLowerCase();
  if (!PUBLIC_CLIENTS.has(clientId))
    return aadError(
      400,
      "unauthorized_client",
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${ctx.organization}'.`,
    );
  const scopes = (form.get("scope") ?? "").split(/\s+/).filter(Boolean);
  if (scopes.length === 0)
    return aadError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.");
  const letters = "BCDFGHJKLMNPQRSTVWXZ23456789";
  const userCode = Array.from({ length: 9 }, () => letters[randomInt(letters.length)]).join("");
  const deviceCode = randomBytes(48).toString("base64url");
  grants(dir).set(deviceCode, { userCode, clientId, scopes, exp: Date.now() + LIFETIME_S * 1000, state: "pending", lastPoll: 0 });
  const verificationUri = `${ctx.url}/devicelogin`;
  return json(200, {
    user_code: userCode,
    device_code: deviceCode,
    verification_uri: verificationUri,
    expires_in: LIFETIME_S,
    interval: dir.intervalSeconds,
    message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${userCode} to authenticate.`,
  });
}

const page = (status: number, text: string): SimResponse => ({
  status,
  headers: { "content-type": "text/html; charset=utf-8" },
  body: `<!DOCTYPE html><html><body><p>${text}</p><form method="post"><input name="otc"><button>Next</button></form></body></html>`,
});

/** The verification page: GET shows the form, POST otc=CODE signs the administrator in (action=deny refuses). */
export function deviceLogin(dir: Directory, req: SimRequest): SimResponse {
  if (req.method === "GET") return page(200, "Enter code");
  const form = new URLSearchParams(req.body);
  const code = (form.get("otc") ?? "").trim().toUpperCase();
  const g = [...grants(dir).values()].find((x) => x.userCode === code && x.exp > Date.now() && x.state === "pending");
  if (!g) return page(400, "That code didn't work. Check the code and try again.");
  g.state = form.get("action") === "deny" ? "declined" : "approved";
  return page(200, g.state === "approved" ? "You have signed in on your device. You may now close this window." : "Sign-in was cancelled.");
}

/** Token endpoint, device_code grant; undefined when the request is another grant. */
export function deviceCodeToken(ctx: Ctx, dir: Directory, req: SimRequest, tenantSeg: string): SimResponse | undefined {
  const form = new URLSearchParams(req.body);
  if (!isDeviceCodeGrant(form.get("grant_type"))) return undefined;
  const bad = tenantError(ctx, tenantSeg);
  if (bad) return bad;
  const g = grants(dir).get(form.get("device_code") ?? "");
  if (!g || g.clientId !== (form.get("client_id") ?? "").toLowerCase())
    return aadError(400, "invalid_grant", 70000, "Provided grant is invalid or malformed.");
  const now = Date.now();
  if (g.exp <= now) return aadError(400, "expired_token", 70019, "Verification code expired.");
  const tooFast = g.lastPoll > 0 && now - g.lastPoll < dir.intervalSeconds * 1000 - 250;
  g.lastPoll = now;
  if (dir.slowDownLeft > 0 || tooFast) {
    if (dir.slowDownLeft > 0) dir.slowDownLeft--;
    return aadError(400, "slow_down", 70016, "OAuth 2.0 device flow error. The client is polling too frequently; slow down.");
  }
  if (g.state === "pending")
    return aadError(
      400,
      "authorization_pending",
      70016,
      "The provided request has not yet been authorized by the user. The user must input their code.",
    );
  grants(dir).delete(form.get("device_code")!);
  if (g.state === "declined")
    return aadError(400, "authorization_declined", 70000, "The user has denied access to the scope requested by the client application.");
  return json(200, adminTokens(ctx, dir, g));
}

function adminTokens(ctx: Ctx, dir: Directory, g: DeviceGrant): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const graphScopes = g.scopes
    .filter((s) => /^https:\/\/graph\.microsoft\.com\//i.test(s))
    .map((s) => s.replace(/^https:\/\/graph\.microsoft\.com\//i, ""));
  const upn = `admin@${ctx.organization}`;
  const access = ctx.signer.sign({
    aud: "https://graph.microsoft.com",
    iss: `https://sts.windows.net/${ctx.tenantId}/`,
    iat: now,
    nbf: now,
    exp: now + ctx.tokenLifetimeSeconds,
    appid: g.clientId,
    idtyp: "user",
    oid: USER_OID,
    sub: USER_OID,
    tid: ctx.tenantId,
    upn,
    name: "Sim Admin",
    scp: graphScopes.join(" "),
    wids: [...dir.adminRoleIds],
    ver: "1.0",
  });
  ctx.stats.tokensIssued++;
  const id = ctx.signer.sign({
    aud: g.clientId,
    iss: `${ctx.url}/${ctx.tenantId}/v2.0`,
    iat: now,
    nbf: now,
    exp: now + 3600,
    name: "Sim Admin",
    oid: USER_OID,
    preferred_username: upn,
    sub: USER_OID,
    tid: ctx.tenantId,
    ver: "2.0",
  });
  return {
    token_type: "Bearer",
    scope: graphScopes
      .map((s) => `https://graph.microsoft.com/${s}`)
      .concat("openid", "profile", "offline_access")
      .join(" "),
    expires_in: ctx.tokenLifetimeSeconds,
    ext_expires_in: ctx.tokenLifetimeSeconds,
    access_token: access,
    refresh_token: randomBytes(48).toString("base64url"),
    id_token: id,
    client_info: Buffer.from(JSON.stringify({ uid: USER_OID, utid: ctx.tenantId })).toString("base64url"),
  };
}
