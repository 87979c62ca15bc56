// Microsoft Graph directory endpoints over the simulated directory: applications (create, read, PATCH,
// addPassword / removePassword, keyCredentials), servicePrincipals, appRoleAssignedTo / appRoleAssignments,
// roleManagement/directory/roleAssignments and organization. Shapes follow the Graph v1.0 reference; only
// delegated (signed-in admin) tokens are accepted, and each write needs the Entra role Graph would want.
import { randomUUID } from "node:crypto";
import type { Ctx } from "./context.js";
import {
  certDates,
  certThumbprint,
  GRAPH_APP_ID,
  type Directory,
  type KeyCredential,
  type RequiredResourceAccess,
  ROLE_IDS,
} from "./directory-store.js";
import { graphError, graphJson, header, type SimRequest, type SimResponse } from "./responses.js";
import { MESSAGE_TRACE_SP_APP_ID } from "./types.js";

const GUID = "[0-9a-fA-F-]{36}";
export const DIRECTORY_RE =
  /^\/(v1\.0|beta)\/(applications|servicePrincipals|roleManagement\/directory\/roleAssignments|organization)(\/.*)?$/i;

type Op = "read" | "writeApp" | "grantAppRole" | "assignRole";

/** Which Entra roles may do what (Global Administrator may do everything). */
const OP_ROLES: Record<Op, string[]> = {
  read: [],
  writeApp: ["Application Administrator", "Cloud Application Administrator"],
  grantAppRole: ["Privileged Role Administrator"],
  assignRole: ["Privileged Role Administrator"],
};
const OP_SCOPES: Record<Op, string[]> = {
  read: ["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
  writeApp: ["Application.ReadWrite.All", "Directory.ReadWrite.All"],
  grantAppRole: ["AppRoleAssignment.ReadWrite.All"],
  assignRole: ["RoleManagement.ReadWrite.Directory"],
};

const denied = () => graphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
const notFound = (id: string) =>
  graphError(
    404,
    "Request_ResourceNotFound",
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
const badRequest = (msg: string) => graphError(400, "Request_BadRequest", msg);

function authorize(ctx: Ctx, dir: Directory, req: SimRequest, op: Op): SimResponse | undefined {
  const m = /^Bearer\s+(.+)$/i.exec((header(req, "authorization") ?? "").trim());
  if (!m) return graphError(401, "InvalidAuthenticationToken", "Access token is empty.");
  const v = ctx.signer.verify(m[1]!);
  if (!v.ok)
    return graphError(
      401,
      "InvalidAuthenticationToken",
      v.reason === "expired" ? "Lifetime validation failed, the token is expired." : "Access token validation failure.",
    );
  const c = v.claims;
  if (c.aud !== "https://graph.microsoft.com" && c.aud !== GRAPH_APP_ID)
    return graphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.");
  if (c.idtyp !== "user") return denied(); // this simulator only models the signed-in administrator
  const scopes = String(c.scp ?? "").split(" ");
  if (!OP_SCOPES[op].some((s) => scopes.includes(s))) return denied();
  const allowed = [ROLE_IDS["Global Administrator"]!, ...OP_ROLES[op].map((r) => ROLE_IDS[r]!)];
  if (op !== "read" && !allowed.some((r) => dir.adminRoleIds.has(r))) return denied();
  return undefined;
}

/** `$filter=a eq 'x' and b eq 'y'` → predicate; only what Graph clients here use. */
function filterOf(req: SimRequest): ((o: Record<string, unknown>) => boolean) | SimResponse {
  const f = req.url.searchParams.get("$filter");
  if (!f) return () => true;
  const clauses = f.split(/\s+and\s+/i).map((c) => /^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$/.exec(c));
  if (clauses.some((c) => !c)) return badRequest(`Invalid filter clause: ${f}`);
  return (o) => clauses.every((c) => String(o[c![1]!] ?? "").toLowerCase() === c![2]!.replace(/''/g, "'").toLowerCase());
}

function list(ctx: Ctx, req: SimRequest, what: string, items: object[]): SimResponse {
  const p = filterOf(req);
  if (typeof p !== "function") return p;
  return graphJson(200, {
    "@odata.context": `${ctx.url}/v1.0/$metadata#${what}`,
    value: items.filter((o) => p(o as Record<string, unknown>)),
  });
}

function body(req: SimRequest): Record<string, unknown> | undefined {
  try {
    const b = JSON.parse(req.body || "{}") as unknown;
    return b && typeof b === "object" ? (b as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The application for `/applications/{id}` or `/applications(appId='…')`. */
function findApplication(dir: Directory, seg: string) {
  const byAppId = /^\(appId='([^']+)'\)$/i.exec(seg);
  if (byAppId) return dir.appByAppId(byAppId[1]!);
  return dir.applications.get(seg.replace(/^\//, ""));
}

function applications(ctx: Ctx, dir: Directory, req: SimRequest, rest: string): SimResponse {
  const write = req.method !== "GET";
  const denial = authorize(ctx, dir, req, write ? "writeApp" : "read");
  if (denial) return denial;
  if (!rest || rest === "/") {
    if (req.method === "GET") return list(ctx, req, "applications", [...dir.applications.values()]);
    if (req.method !== "POST") return badRequest("Unsupported method.");
    const b = body(req);
    if (!b || typeof b.displayName !== "string" || !b.displayName) return badRequest("Property 'displayName' is required.");
    const app = dir.createApplication(b.displayName, (b.requiredResourceAccess as RequiredResourceAccess[]) ?? []);
    return graphJson(201, { "@odata.context": `${ctx.url}/v1.0/$metadata#applications/$entity`, ...app });
  }
  const m = new RegExp(`^(/${GUID}|\\(appId='[^']+'\\))(/addPassword|/removePassword)?$`).exec(rest);
  const app = m ? findApplication(dir, m[1]!) : undefined;
  if (!m || !app) return notFound(rest.replace(/^\//, "").split("/")[0]!);
  const action = m[2];
  const b = body(req);
  if (action === "/addPassword" && req.method === "POST") {
    const pc = (b?.passwordCredential ?? {}) as { displayName?: string; endDateTime?: string };
    const cred = dir.addPassword(app, pc.displayName ?? null, pc.endDateTime);
    return graphJson(200, { "@odata.context": `${ctx.url}/v1.0/$metadata#microsoft.graph.passwordCredential`, ...cred });
  }
  if (action === "/removePassword" && req.method === "POST") {
    const keyId = String(b?.keyId ?? "");
    const before = app.passwordCredentials.length;
    app.passwordCredentials = app.passwordCredentials.filter((c) => c.keyId !== keyId);
    if (app.passwordCredentials.length === before) return badRequest(`No password credential found with keyId '${keyId}'.`);
    dir.secrets.delete(keyId);
    return { status: 204, headers: {}, body: "" };
  }
  if (action) return badRequest("Unsupported method.");
  if (req.method === "GET")
    return graphJson(200, {
      "@odata.context": `${ctx.url}/v1.0/$metadata#applications/$entity`,
      ...app,
      keyCredentials: app.keyCredentials.map((k) => ({ ...k, key: null })),
    });
  if (req.method === "PATCH") {
    if (!b) return badRequest("Invalid request body.");
    if (b.passwordCredentials !== undefined)
      return badRequest("Updates to passwordCredentials are not supported; use addPassword and removePassword.");
    if (typeof b.displayName === "string") app.displayName = b.displayName;
    if (Array.isArray(b.requiredResourceAccess)) app.requiredResourceAccess = b.requiredResourceAccess as RequiredResourceAccess[];
    if (Array.isArray(b.keyCredentials)) {
      const next: KeyCredential[] = [];
      for (const k of b.keyCredentials as Array<Partial<KeyCredential>>) {
        // The collection is replaced: existing keys are kept by naming their keyId, new ones carry `key`.
        const existing = app.keyCredentials.find((e) => e.keyId === k.keyId);
        if (existing && !k.key) next.push(existing);
        else if (k.key) {
          let dates;
          try {
            dates = certDates(k.key);
          } catch {
            return badRequest("Key credential 'key' is not a valid base64 DER X.509 certificate.");
          }
          next.push({
            customKeyIdentifier: certThumbprint(k.key),
            displayName: k.displayName ?? null,
            endDateTime: dates.end,
            key: k.key,
            keyId: k.keyId ?? randomUUID(),
            startDateTime: dates.start,
            type: k.type ?? "AsymmetricX509Cert",
            usage: k.usage ?? "Verify",
          });
        } else return badRequest(`Key credential '${k.keyId}' has no key value.`);
      }
      app.keyCredentials = next;
    }
    return { status: 204, headers: {}, body: "" };
  }
  return badRequest("Unsupported method.");
}

function servicePrincipals(ctx: Ctx, dir: Directory, req: SimRequest, rest: string): SimResponse {
  if (!rest || rest === "/") {
    if (req.method === "GET")
      return authorize(ctx, dir, req, "read") ?? list(ctx, req, "servicePrincipals", [...dir.servicePrincipals.values()]);
    const denial = authorize(ctx, dir, req, "writeApp");
    if (denial) return denial;
    const appId = String(body(req)?.appId ?? "");
    if (dir.spByAppId(appId))
      return graphError(
        409,
        "Request_MultipleObjectsWithSameKeyValue",
        "The service principal cannot be created, updated, or restored because the service principal name " + appId + " is already in use.",
      );
    const app = dir.appByAppId(appId);
    if (!app && appId.toLowerCase() !== MESSAGE_TRACE_SP_APP_ID)
      return badRequest(`The appId '${appId}' of the service principal does not reference a valid application object.`);
    const sp = app
      ? dir.addServicePrincipal(app.appId, app.displayName, ctx.tenantId)
      : dir.addServicePrincipal(MESSAGE_TRACE_SP_APP_ID, "Microsoft Exchange Message Trace", "f8cdef31-a31e-4b4a-93e4-5f571e91255a");
    return graphJson(201, { "@odata.context": `${ctx.url}/v1.0/$metadata#servicePrincipals/$entity`, ...sp });
  }
  const m = new RegExp(`^/(${GUID})(/appRoleAssignments|/appRoleAssignedTo)?$`).exec(rest);
  const sp = m ? dir.servicePrincipals.get(m[1]!) : undefined;
  if (!m || !sp) return notFound(rest.replace(/^\//, "").split("/")[0]!);
  const nav = m[2];
  if (!nav)
    return (
      authorize(ctx, dir, req, "read") ?? graphJson(200, { "@odata.context": `${ctx.url}/v1.0/$metadata#servicePrincipals/$entity`, ...sp })
    );
  const assignments = [...dir.appRoleAssignments.values()];
  if (req.method === "GET") {
    const denial = authorize(ctx, dir, req, "read");
    if (denial) return denial;
    return list(
      ctx,
      req,
      `servicePrincipals('${sp.id}')/${nav.slice(1)}`,
      assignments.filter((a) => (nav === "/appRoleAssignments" ? a.principalId : a.resourceId) === sp.id),
    );
  }
  const denial = authorize(ctx, dir, req, "grantAppRole");
  if (denial) return denial;
  const b = body(req) ?? {};
  const principal = dir.servicePrincipals.get(String(b.principalId ?? ""));
  const resource = dir.servicePrincipals.get(String(b.resourceId ?? ""));
  if (!principal || !resource) return notFound(String(principal ? b.resourceId : b.principalId));
  if ((nav === "/appRoleAssignedTo" && resource.id !== sp.id) || (nav === "/appRoleAssignments" && principal.id !== sp.id))
    return badRequest("The principal or resource does not match the service principal in the request URL.");
  const role = resource.appRoles.find((r) => r.id === b.appRoleId);
  if (!role) return badRequest(`Permission entry '${String(b.appRoleId)}' is not valid for resource '${resource.displayName}'.`);
  if (assignments.some((a) => a.principalId === principal.id && a.resourceId === resource.id && a.appRoleId === role.id))
    return badRequest("Permission being assigned already exists on the object");
  const a = dir.assignAppRole(principal, resource, role);
  return graphJson(201, { "@odata.context": `${ctx.url}/v1.0/$metadata#servicePrincipals('${sp.id}')/${nav.slice(1)}/$entity`, ...a });
}

function roleAssignments(ctx: Ctx, dir: Directory, req: SimRequest, rest: string): SimResponse {
  if (rest && rest !== "/") return notFound(rest.slice(1));
  if (req.method === "GET")
    return (
      authorize(ctx, dir, req, "read") ?? list(ctx, req, "roleManagement/directory/roleAssignments", [...dir.roleAssignments.values()])
    );
  const denial = authorize(ctx, dir, req, "assignRole");
  if (denial) return denial;
  const b = body(req) ?? {};
  const principalId = String(b.principalId ?? "");
  const roleDefinitionId = String(b.roleDefinitionId ?? "");
  if (!dir.servicePrincipals.get(principalId)) return notFound(principalId);
  if (!Object.values(ROLE_IDS).includes(roleDefinitionId)) return notFound(roleDefinitionId);
  if ([...dir.roleAssignments.values()].some((r) => r.principalId === principalId && r.roleDefinitionId === roleDefinitionId))
    return badRequest("A conflicting object with one or more of the specified property values is present in the directory.");
  const r = { id: randomUUID(), principalId, roleDefinitionId, directoryScopeId: String(b.directoryScopeId ?? "/") };
  dir.roleAssignments.set(r.id, r);
  return graphJson(201, { "@odata.context": `${ctx.url}/v1.0/$metadata#roleManagement/directory/roleAssignments/$entity`, ...r });
}

function organization(ctx: Ctx, dir: Directory, req: SimRequest): SimResponse {
  const denial = authorize(ctx, dir, req, "read");
  if (denial) return denial;
  const vanity = `${ctx.organization.split(".")[0]}.com`;
  return graphJson(200, {
    "@odata.context": `${ctx.url}/v1.0/$metadata#organization`,
    value: [
      {
        id: ctx.tenantId,
        displayName: ctx.organization.split(".")[0],
        verifiedDomains: [
          { capabilities: "Email, OfficeCommunicationsOnline", isDefault: false, isInitial: true, name: ctx.organization, type: "Managed" },
          { capabilities: "Email", isDefault: true, isInitial: false, name: vanity, type: "Managed" },
        ],
      },
    ],
  });
}

/** Handle a Graph directory request; `path` matched DIRECTORY_RE. */
export function directoryGraph(ctx: Ctx, dir: Directory, req: SimRequest, path: string): SimResponse {
  const m = DIRECTORY_RE.exec(path)!;
  const what = m[2]!.toLowerCase();
  const rest = m[3] ?? "";
  if (what === "applications") return applications(ctx, dir, req, rest);
  if (what === "serviceprincipals") return servicePrincipals(ctx, dir, req, rest);
  if (what === "organization") return organization(ctx, dir, req);
  return roleAssignments(ctx, dir, req, rest);
}
