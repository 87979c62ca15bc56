// Bearer-token checks in front of the data APIs. The outcome is dialect-neutral; graph.ts and rws.ts
// render it the way each real service does.
import type { App, Ctx } from "./context.js";
import type { Claims } from "./jwt.js";
import { header, type SimRequest } from "./responses.js";
import { findApp, RESOURCE_URL, type Resource } from "./tenant.js";
import { GLOBAL_READER_ROLE_ID, GRAPH_ROLE, MESSAGE_TRACE_SP_APP_ID, RWS_ROLE } from "./types.js";

export type AuthFailure =
  | { kind: "unauthenticated"; message: string }
  | { kind: "forbidden"; message: string }
  | { kind: "sp-not-found"; message: string }
  | { kind: "no-global-reader"; message: string };

export type AuthResult = { ok: true; app: App; claims: Claims } | ({ ok: false } & AuthFailure);

export const EXPIRED_MESSAGE = "Lifetime validation failed, the token is expired.";

/** The real 401 message while the message trace service principal is missing (docs §5); the tail is a guess. */
export function spNotFoundMessage(_ctx: Ctx): string {
  return `Service principal-less Authentication failed: the service principal for App ID ${MESSAGE_TRACE_SP_APP_ID} was not found. Provisioning can take up to 24 hours.`;
}

const AUD_ALIASES: Record<Resource, string[]> = {
  graph: [RESOURCE_URL.graph, `${RESOURCE_URL.graph}/`, "00000003-0000-0000-c000-000000000000"],
  rws: [RESOURCE_URL.rws, `${RESOURCE_URL.rws}/`, "00000002-0000-0ff1-ce00-000000000000"],
};

export function checkBearer(ctx: Ctx, req: SimRequest, res: Resource): AuthResult {
  const h = header(req, "authorization") ?? "";
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  if (!m) return { ok: false, kind: "unauthenticated", message: "Access token is empty." };
  const v = ctx.signer.verify(m[1]!);
  if (!v.ok) {
    if (v.reason === "expired") return { ok: false, kind: "unauthenticated", message: EXPIRED_MESSAGE };
    if (v.reason === "malformed")
      return {
        ok: false,
        kind: "unauthenticated",
        message:
          "IDX14100: JWT is not well formed, there are no dots (.). The token needs to be in JWS or JWE Compact Serialization Format.",
      };
    return { ok: false, kind: "unauthenticated", message: "Access token validation failure. Invalid signature." };
  }
  const c = v.claims;
  if (!AUD_ALIASES[res].includes(String(c.aud)))
    return { ok: false, kind: "unauthenticated", message: "Access token validation failure. Invalid audience." };
  if (c.tid !== ctx.tenantId) return { ok: false, kind: "unauthenticated", message: "Access token validation failure. Invalid issuer." };
  // Look the app up now, not from the token: provisioning and role changes take effect immediately.
  const app = findApp(ctx, String(c.appid ?? ""));
  if (!app)
    return { ok: false, kind: "unauthenticated", message: "Access token validation failure. The application was deleted from the tenant." };
  if (res === "graph" && !app.servicePrincipalProvisioned) return { ok: false, kind: "sp-not-found", message: spNotFoundMessage(ctx) };
  const need = res === "graph" ? GRAPH_ROLE : RWS_ROLE;
  const granted = [...(Array.isArray(c.roles) ? (c.roles as string[]) : []), ...String(c.scp ?? "").split(" ")];
  if (!granted.includes(need)) {
    return {
      ok: false,
      kind: "forbidden",
      message: `Insufficient privileges to complete the operation. The application '${app.clientId}' requires the '${need}' permission (admin consent).`,
    };
  }
  if (res === "rws") {
    const wids = Array.isArray(c.wids) ? (c.wids as string[]) : [];
    if (!wids.includes(GLOBAL_READER_ROLE_ID) || !app.globalReader)
      return { ok: false, kind: "no-global-reader", message: "No permission to access the report for the organization." };
  }
  return { ok: true, app, claims: c };
}
