// Which handler answers a request, which fault route and error dialect it belongs to, and how each
// fault kind looks in that dialect.
import { EXPIRED_MESSAGE, spNotFoundMessage } from "./auth.js";
import type { Ctx } from "./context.js";
import type { Route } from "./faults.js";
import { getDetails, isDetailsPath, listMessageTraces } from "./graph.js";
import { authorize, instanceDiscovery, managedIdentity, openidConfiguration, tenantError, token, type GrantStore } from "./identity.js";
import { aadError, graphError, htmlSignin, json, odataError, type SimRequest, type SimResponse } from "./responses.js";
import { messageTrace, rwsFormat } from "./rws.js";
import { routeDirectory } from "./directory.js";
import type { FaultSpec } from "./types.js";

export interface Routed {
  /** Key in stats().requests. */
  name: string;
  /** Fault/throttle route; undefined for discovery and control endpoints. */
  route?: Route;
  handle: () => SimResponse;
}

const GRAPH_LIST_RE = /^\/(?:v1\.0|beta)\/admin\/exchange\/tracing\/messageTraces\/?$/i;
const RWS_RE = /^\/ecp\/reportingwebservice\/reporting\.svc\/messagetrace(?:\(\))?\/?$/i;
const TENANT_RE =
  /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|\.well-known\/openid-configuration|discovery\/v2\.0\/keys|discovery\/instance|oauth2\/v2\.0\/(?:token|authorize|logout))$/i;

export function route(ctx: Ctx, grants: GrantStore, req: SimRequest, path: string): Routed | undefined {
  const dir = routeDirectory(ctx, req, path); // app registrations, consent, device code sign-in (setup)
  if (dir) return dir;
  if (GRAPH_LIST_RE.test(path)) return { name: "graph", route: "graph", handle: () => listMessageTraces(ctx, req) };
  if (isDetailsPath(path)) return { name: "details", route: "details", handle: () => getDetails(ctx, req, path) };
  if (RWS_RE.test(path)) return { name: "rws", route: "rws", handle: () => messageTrace(ctx, req) };
  if (path === "/msi/token") return { name: "msi", route: "token", handle: () => managedIdentity(ctx, req) };
  const m = TENANT_RE.exec(path);
  if (!m) return undefined;
  const tenant = m[1]!;
  const what = m[2]!.toLowerCase();
  if (what === "discovery/instance") return { name: "discovery", handle: () => instanceDiscovery(ctx, req) };
  if (what.endsWith("openid-configuration"))
    return { name: "discovery", handle: () => tenantError(ctx, tenant) ?? openidConfiguration(ctx) };
  if (what === "discovery/v2.0/keys") return { name: "discovery", handle: () => tenantError(ctx, tenant) ?? json(200, ctx.signer.jwks()) };
  if (what === "oauth2/v2.0/token") {
    if (req.method !== "POST")
      return { name: "token", handle: () => aadError(405, "invalid_request", 900561, "The endpoint only accepts POST requests.") };
    return { name: "token", route: "token", handle: () => token(ctx, grants, req, tenant) };
  }
  if (what === "oauth2/v2.0/authorize") return { name: "authorize", handle: () => authorize(ctx, grants, req, tenant) };
  return {
    name: "logout",
    handle: () => ({ status: 200, headers: { "content-type": "text/html" }, body: "<html><body>Signed out</body></html>" }),
  };
}

/** The response a non-transport fault produces, in the dialect of the route it hit. */
export function faultResponse(ctx: Ctx, req: SimRequest, route: Route, f: FaultSpec): SimResponse | undefined {
  const fmt = route === "rws" ? rwsFormat(ctx, req) : "atom";
  const retry = String(f.retryAfterSeconds ?? 1);
  const err = (status: number, graphCode: string, aad: [string, number], message: string, headers: Record<string, string> = {}) => {
    if (route === "token") return aadError(status, aad[0], aad[1], message, headers);
    if (route === "rws") return odataError(status, message, fmt, headers);
    return graphError(status, graphCode, message, headers);
  };
  switch (f.kind) {
    case "429":
      return err(
        429,
        "TooManyRequests",
        ["temporarily_unavailable", 50196],
        "Too many requests. Please retry after the interval in the Retry-After header.",
        { "retry-after": retry },
      );
    case "500":
      return err(500, "InternalServerError", ["server_error", 90033], "An internal server error occurred.");
    case "503":
      return err(
        503,
        "ServiceUnavailable",
        ["temporarily_unavailable", 90033],
        "The service is temporarily unavailable. Please retry later.",
      );
    case "html-signin":
      return htmlSignin();
    case "token-expired":
      if (route === "token")
        return aadError(
          400,
          "invalid_grant",
          70008,
          "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
        );
      return err(401, "InvalidAuthenticationToken", ["invalid_grant", 70008], EXPIRED_MESSAGE);
    case "sp-not-found":
      return route === "rws" ? odataError(401, spNotFoundMessage(ctx), fmt) : graphError(401, "Unauthorized", spNotFoundMessage(ctx));
    default:
      return undefined; // slow, truncated, reset act on the transport
  }
}

/** What a throttled request gets, per dialect. */
export function throttled(ctx: Ctx, req: SimRequest, route: Route, retryAfter: number): SimResponse {
  const headers = { "retry-after": String(retryAfter) };
  const msg = `Application is over its MailboxConcurrency limit / request budget for tenant '${ctx.tenantId}'. Retry after ${retryAfter} seconds.`;
  if (route === "rws") return odataError(429, msg, rwsFormat(ctx, req), headers);
  return graphError(429, "TooManyRequests", msg, headers);
}
