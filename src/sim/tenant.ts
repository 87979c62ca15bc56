// Who is who in the simulated directory: tenant names, app lookup, and the access tokens Entra would mint.
import { randomUUID } from "node:crypto";
import { MANAGED_IDENTITY_CLIENT_ID, normaliseApp, type App, type Ctx } from "./context.js";
import { GLOBAL_READER_ROLE_ID, GRAPH_RESOURCE, RWS_RESOURCE } from "./types.js";

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN_RE = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i;

export type TenantMatch = "ok" | "unknown" | "malformed";

/** The tenant GUID, its initial domain and its vanity domain all name this tenant, case-insensitively. */
export function matchTenant(ctx: Ctx, seg: string): TenantMatch {
  const s = seg.toLowerCase();
  const vanity = `${ctx.organization.split(".")[0]}.com`;
  if (s === ctx.tenantId.toLowerCase() || s === ctx.organization.toLowerCase() || s === vanity) return "ok";
  if (GUID_RE.test(s) || DOMAIN_RE.test(s) || s === "common" || s === "organizations" || s === "consumers") return "unknown";
  return "malformed";
}

/** The App Service managed identity is a principal of its own, always provisioned and fully granted. */
const MANAGED_IDENTITY: App = normaliseApp({ clientId: MANAGED_IDENTITY_CLIENT_ID });

export function findApp(ctx: Ctx, clientId: string | undefined): App | undefined {
  if (!clientId) return undefined;
  if (clientId.toLowerCase() === MANAGED_IDENTITY_CLIENT_ID) return MANAGED_IDENTITY;
  return ctx.apps.get(clientId.toLowerCase());
}

export type Resource = "graph" | "rws";

/** Map a scope or resource string to one of the two APIs; accepts URL and well-known app-id forms. */
export function resourceOf(scopeOrResource: string): Resource | undefined {
  const r = scopeOrResource
    .replace(/\/\.default$/i, "")
    .replace(/\/$/, "")
    .toLowerCase();
  if (r === GRAPH_RESOURCE || r === "00000003-0000-0000-c000-000000000000") return "graph";
  if (r === RWS_RESOURCE || r === "https://outlook.office.com" || r === "00000002-0000-0ff1-ce00-000000000000") return "rws";
  return undefined;
}

export const RESOURCE_URL: Record<Resource, string> = { graph: GRAPH_RESOURCE, rws: RWS_RESOURCE };

/** The fixed signed-in user of the auth-code flow. */
export const USER_OID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

export interface Minted {
  token: string;
  expiresIn: number;
  exp: number;
}

/**
 * An access token shaped like Entra's v1 tokens for these resources: app tokens carry `roles`,
 * delegated (auth-code) tokens carry `scp`; `wids` carries the Global Reader role the RWS checks.
 */
export function mintAccessToken(
  ctx: Ctx,
  app: App,
  res: Resource,
  opts: { delegated?: boolean; credType?: "secret" | "cert" | "none" } = {},
): Minted {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + ctx.tokenLifetimeSeconds;
  const perms = res === "graph" ? app.graphRoles : app.rwsRoles;
  const claims: Record<string, unknown> = {
    aud: RESOURCE_URL[res],
    iss: `https://sts.windows.net/${ctx.tenantId}/`,
    iat: now,
    nbf: now,
    exp,
    app_displayname: app.clientId === MANAGED_IDENTITY_CLIENT_ID ? "sim-managed-identity" : "sim-app",
    appid: app.clientId,
    azp: app.clientId,
    appidacr: opts.credType === "cert" ? "2" : opts.credType === "none" ? "0" : "1",
    idtyp: opts.delegated ? "user" : "app",
    oid: opts.delegated ? USER_OID : app.clientId,
    sub: opts.delegated ? USER_OID : app.clientId,
    tid: ctx.tenantId,
    uti: randomUUID().replace(/-/g, "").slice(0, 22),
    ver: "1.0",
    wids: app.globalReader ? [GLOBAL_READER_ROLE_ID] : [],
  };
  if (opts.delegated) {
    claims.scp = perms.join(" ");
    claims.upn = `admin@${ctx.organization}`;
  } else if (perms.length > 0) {
    claims.roles = perms;
  }
  ctx.stats.tokensIssued++;
  return { token: ctx.signer.sign(claims), expiresIn: ctx.tokenLifetimeSeconds, exp };
}
