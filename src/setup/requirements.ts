// What `setup` must arrange in the tenant for a source, read from the source's descriptor (permission, the API
// that defines it, a Microsoft service principal, directory roles: src/sources/*/index.ts), plus what setup
// itself needs: the public client the administrator signs in with, its delegated scopes, and which Entra
// role allows each kind of change.
import { CollectorError } from "../errors.js";
import { sourceDescriptor } from "../sources/registry.js";

export interface SourceRequirements {
  /** The API whose application permission (app role) the app needs. */
  resource: { appId: string; name: string };
  /** App role value, e.g. ExchangeMessageTrace.Read.All. */
  permission: string;
  /** A Microsoft first-party app whose service principal must exist in the tenant. */
  servicePrincipal?: { appId: string; name: string };
  /** An Entra directory role the app's service principal must hold. */
  directoryRole?: { id: string; name: string };
}

export function requirementsFor(kind: string): SourceRequirements {
  const d = sourceDescriptor(kind);
  const ids = d.wellKnownIds ?? {};
  const resourceAppId = ids.permission_api_app_id;
  if (!resourceAppId) {
    throw new CollectorError("config", `source ${kind} does not say which API defines its permission ${d.permission}`, {
      hint: "setup cannot register it; follow the manual steps in the README",
    });
  }
  const roleName = d.directoryRoles?.[0];
  const roleId = roleName ? ids[`${roleName.toLowerCase().replace(/\s+/g, "_")}_role_id`] : undefined;
  if (roleName && !roleId)
    throw new CollectorError("config", `source ${kind} needs the Entra role ${roleName} but gives no role id`, {
      hint: "assign the role by hand",
    });
  const sp = ids.service_principal_app_id;
  return {
    resource: { appId: resourceAppId, name: d.permissionApi },
    permission: d.permission,
    ...(sp ? { servicePrincipal: { appId: sp, name: d.displayName } } : {}),
    ...(roleName && roleId ? { directoryRole: { id: roleId, name: roleName } } : {}),
  };
}

/** Microsoft Graph Command Line Tools: the first-party public client an administrator signs in with. */
export const ADMIN_PUBLIC_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

/** Delegated Graph scopes the signing-in administrator consents to. */
export function adminScopes(req: SourceRequirements): string[] {
  const base = ["Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"];
  if (req.directoryRole) base.push("RoleManagement.ReadWrite.Directory");
  return base;
}

/** The Entra roles that allow each kind of change (least privileged first; Global Administrator always does). */
export const ADMIN_ROLE_FOR = {
  app: "Application Administrator (or Cloud Application Administrator)",
  consent: "Privileged Role Administrator",
  directoryRole: "Privileged Role Administrator",
} as const;
