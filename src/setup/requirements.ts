// What each source needs in the tenant, and the well-known ids `setup` works with: the one table the command
// reads (no permission names or GUIDs anywhere else in src/setup). Moves into the source descriptors
// (src/sources/*) once those exist.
import type { Config } from "../config/schema.js";

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

export const SOURCE_REQUIREMENTS: Record<Config["source"], SourceRequirements> = {
  graph: {
    resource: { appId: "00000003-0000-0000-c000-000000000000", name: "Microsoft Graph" },
    permission: "ExchangeMessageTrace.Read.All",
    servicePrincipal: { appId: "8bd644d1-64a1-4d4b-ae52-2e0cbf64e373", name: "Exchange message trace" },
  },
  rws: {
    resource: { appId: "00000002-0000-0ff1-ce00-000000000000", name: "Office 365 Exchange Online" },
    permission: "ReportingWebService.Read.All",
    directoryRole: { id: "f2ef992c-3afb-46b9-b7cf-a126ee74c451", name: "Global Reader" },
  },
};

/** Microsoft Graph Command Line Tools: the first-party public client an administrator signs in with. */
export const ADMIN_PUBLIC_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

/** Delegated Graph scopes the signing-in administrator consents to, per source. */
export function adminScopes(source: Config["source"]): string[] {
  const base = ["Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"];
  if (SOURCE_REQUIREMENTS[source].directoryRole) base.push("RoleManagement.ReadWrite.Directory");
  return base;
}

/** The Entra roles that allow each kind of change (least privileged first; Global Administrator always does). */
export const ADMIN_ROLE_FOR = {
  app: "Application Administrator (or Cloud Application Administrator)",
  consent: "Privileged Role Administrator",
  directoryRole: "Privileged Role Administrator",
} as const;
