// The simulated Entra directory: app registrations, service principals, app role assignments (application
// permissions / admin consent) and directory role assignments, as Microsoft Graph exposes them. Apps created
// here become token-endpoint clients whose roles, Global Reader membership and message-trace provisioning
// are read live from these objects, so a `setup` run changes what the data APIs answer, as in a real tenant.
import { createHash, randomBytes, randomUUID, X509Certificate } from "node:crypto";
import type { App, Ctx } from "./context.js";
import { GLOBAL_READER_ROLE_ID, GRAPH_ROLE, MESSAGE_TRACE_SP_APP_ID, RWS_ROLE } from "./types.js";

export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
export const EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000";
/** Microsoft Graph Command Line Tools: the first-party public client admins sign in with. */
export const GRAPH_CLI_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

/** Entra built-in role template ids (the same in every tenant). */
export const ROLE_IDS: Record<string, string> = {
  "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
  "Application Administrator": "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
  "Cloud Application Administrator": "158c047a-c907-4556-b7ef-446551a6b5f7",
  "Privileged Role Administrator": "e8611ab8-c189-46e8-94e1-60213ab1f814",
  "Global Reader": GLOBAL_READER_ROLE_ID,
};

export interface DirectoryOptions {
  /** Entra roles (names from ROLE_IDS) of the admin who signs in with the device code; default Global Administrator. */
  adminRoles?: string[];
  /** How long after its creation the message trace service principal starts to work; default 0. */
  provisioningDelayMs?: number;
  /** Whether the message trace service principal exists from the start; default false (a fresh tenant). */
  messageTraceServicePrincipal?: boolean;
  /** Device code polling interval the endpoint announces (seconds); default 5 as Entra. */
  deviceCodeIntervalSeconds?: number;
  /** Answer the first N device-code token polls with slow_down. */
  slowDownPolls?: number;
}

export interface PasswordCredential {
  customKeyIdentifier: null;
  displayName: string | null;
  endDateTime: string;
  hint: string;
  keyId: string;
  secretText: null;
  startDateTime: string;
}

export interface KeyCredential {
  customKeyIdentifier: string;
  displayName: string | null;
  endDateTime: string;
  key: string | null;
  keyId: string;
  startDateTime: string;
  type: string;
  usage: string;
}

export interface RequiredResourceAccess {
  resourceAppId: string;
  resourceAccess: Array<{ id: string; type: "Role" | "Scope" }>;
}

export interface DirApplication {
  id: string;
  appId: string;
  displayName: string;
  signInAudience: string;
  createdDateTime: string;
  requiredResourceAccess: RequiredResourceAccess[];
  passwordCredentials: PasswordCredential[];
  keyCredentials: KeyCredential[];
}

export interface AppRole {
  allowedMemberTypes: string[];
  description: string;
  displayName: string;
  id: string;
  isEnabled: boolean;
  origin: string;
  value: string;
}

export interface DirServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  servicePrincipalType: string;
  accountEnabled: boolean;
  appOwnerOrganizationId: string | null;
  appRoles: AppRole[];
}

export interface AppRoleAssignment {
  id: string;
  appRoleId: string;
  createdDateTime: string;
  deletedDateTime: null;
  principalDisplayName: string;
  principalId: string;
  principalType: "ServicePrincipal";
  resourceDisplayName: string;
  resourceId: string;
}

export interface RoleAssignment {
  id: string;
  principalId: string;
  roleDefinitionId: string;
  directoryScopeId: string;
}

const MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
/** Stable ids for the two app roles in this simulator (resolved by value, as clients should). */
const GRAPH_ROLE_ID = "5a8c1c6e-3d7e-4c8b-9f1e-0b8e2a6c7d41";
const RWS_ROLE_ID = "2d1a9f4c-6b8e-4e3a-8c7d-9a0f1b2c3d4e";

function role(id: string, value: string, text: string): AppRole {
  return { allowedMemberTypes: ["Application"], description: text, displayName: text, id, isEnabled: true, origin: "Application", value };
}

export class Directory {
  readonly applications = new Map<string, DirApplication>();
  readonly servicePrincipals = new Map<string, DirServicePrincipal>();
  readonly appRoleAssignments = new Map<string, AppRoleAssignment>();
  readonly roleAssignments = new Map<string, RoleAssignment>();
  /** Secret values by keyId (Graph never returns them after addPassword). */
  readonly secrets = new Map<string, string>();
  /** When each service principal was created (ms), for the provisioning delay. */
  readonly createdAt = new Map<string, number>();
  readonly adminRoleIds: Set<string>;
  provisioningDelayMs: number;
  readonly intervalSeconds: number;
  slowDownLeft: number;

  constructor(
    private readonly ctx: Ctx,
    opts: DirectoryOptions = {},
  ) {
    this.adminRoleIds = new Set();
    this.setAdminRoles(opts.adminRoles ?? ["Global Administrator"]);
    this.provisioningDelayMs = opts.provisioningDelayMs ?? 0;
    this.intervalSeconds = opts.deviceCodeIntervalSeconds ?? 5;
    this.slowDownLeft = opts.slowDownPolls ?? 0;
    this.addServicePrincipal(GRAPH_APP_ID, "Microsoft Graph", MICROSOFT_TENANT, [
      role(GRAPH_ROLE_ID, GRAPH_ROLE, "Read all message traces"),
      role(randomUUID(), "User.Read.All", "Read all users' full profiles"),
    ]);
    this.addServicePrincipal(EXCHANGE_APP_ID, "Office 365 Exchange Online", MICROSOFT_TENANT, [
      role(RWS_ROLE_ID, RWS_ROLE, "ReportingWebService.Read.All"),
      role(randomUUID(), "full_access_as_app", "Use Exchange Web Services with full access to all mailboxes"),
    ]);
    if (opts.messageTraceServicePrincipal)
      this.addServicePrincipal(MESSAGE_TRACE_SP_APP_ID, "Microsoft Exchange Message Trace", MICROSOFT_TENANT, [], -Infinity);
  }

  setAdminRoles(names: string[]): void {
    this.adminRoleIds.clear();
    for (const r of names) this.adminRoleIds.add(ROLE_IDS[r] ?? r);
  }

  addServicePrincipal(appId: string, name: string, owner: string | null, roles: AppRole[] = [], at = Date.now()): DirServicePrincipal {
    const sp: DirServicePrincipal = {
      id: randomUUID(),
      appId,
      displayName: name,
      servicePrincipalType: "Application",
      accountEnabled: true,
      appOwnerOrganizationId: owner,
      appRoles: roles,
    };
    this.servicePrincipals.set(sp.id, sp);
    this.createdAt.set(sp.id, at);
    this.sync();
    return sp;
  }

  createApplication(displayName: string, requiredResourceAccess: RequiredResourceAccess[] = []): DirApplication {
    const app: DirApplication = {
      id: randomUUID(),
      appId: randomUUID(),
      displayName,
      signInAudience: "AzureADMyOrg",
      createdDateTime: new Date().toISOString(),
      requiredResourceAccess,
      passwordCredentials: [],
      keyCredentials: [],
    };
    this.applications.set(app.id, app);
    return app;
  }

  addPassword(
    app: DirApplication,
    displayName: string | null,
    endDateTime?: string,
  ): Omit<PasswordCredential, "secretText"> & { secretText: string } {
    // Entra secrets: 40 characters from a set that includes ~ . _ - (which is why users mistype them).
    const secretText = randomBytes(30).toString("base64").replace(/\+/g, "~").replace(/\//g, ".").replace(/=/g, "_").slice(0, 40);
    const start = new Date();
    const cred: PasswordCredential = {
      customKeyIdentifier: null,
      displayName,
      keyId: randomUUID(),
      hint: secretText.slice(0, 3),
      secretText: null,
      startDateTime: start.toISOString(),
      endDateTime: endDateTime ?? new Date(start.getTime() + 730 * 86400_000).toISOString(),
    };
    app.passwordCredentials.push(cred);
    this.secrets.set(cred.keyId, secretText);
    return { ...cred, secretText };
  }

  assignAppRole(principal: DirServicePrincipal, resource: DirServicePrincipal, role: AppRole): AppRoleAssignment {
    const a: AppRoleAssignment = {
      id: randomBytes(32).toString("base64url"),
      appRoleId: role.id,
      createdDateTime: new Date().toISOString(),
      deletedDateTime: null,
      principalDisplayName: principal.displayName,
      principalId: principal.id,
      principalType: "ServicePrincipal",
      resourceDisplayName: resource.displayName,
      resourceId: resource.id,
    };
    this.appRoleAssignments.set(a.id, a);
    return a;
  }

  /** Tests: consent `permission` of the resource with `resourceAppId` to the app, as an admin would. */
  grant(appId: string, resourceAppId: string, permission: string): AppRoleAssignment {
    const principal = this.spByAppId(appId);
    const resource = this.spByAppId(resourceAppId);
    const role = resource?.appRoles.find((r) => r.value === permission);
    if (!principal || !resource || !role) throw new Error(`cannot grant ${permission} to ${appId}`);
    return this.assignAppRole(principal, resource, role);
  }

  spByAppId(appId: string): DirServicePrincipal | undefined {
    const a = appId.toLowerCase();
    return [...this.servicePrincipals.values()].find((s) => s.appId.toLowerCase() === a);
  }

  appByAppId(appId: string): DirApplication | undefined {
    const a = appId.toLowerCase();
    return [...this.applications.values()].find((x) => x.appId.toLowerCase() === a);
  }

  /** Role values granted to the app's service principal on the resource with `resourceAppId`. */
  grantedRoles(appId: string, resourceAppId: string): string[] {
    const sp = this.spByAppId(appId);
    const res = this.spByAppId(resourceAppId);
    if (!sp || !res) return [];
    return [...this.appRoleAssignments.values()]
      .filter((a) => a.principalId === sp.id && a.resourceId === res.id)
      .map((a) => res.appRoles.find((r) => r.id === a.appRoleId)?.value)
      .filter((v): v is string => !!v);
  }

  hasDirectoryRole(appId: string, roleDefinitionId: string): boolean {
    const sp = this.spByAppId(appId);
    return !!sp && [...this.roleAssignments.values()].some((r) => r.principalId === sp.id && r.roleDefinitionId === roleDefinitionId);
  }

  messageTraceReady(): boolean {
    const sp = this.spByAppId(MESSAGE_TRACE_SP_APP_ID);
    return !!sp && Date.now() >= (this.createdAt.get(sp.id) ?? 0) + this.provisioningDelayMs;
  }

  /** Valid client secrets of an app (not expired, started). */
  secretValues(appId: string): string[] {
    const app = this.appByAppId(appId);
    const now = Date.now();
    return (app?.passwordCredentials ?? [])
      .filter((c) => Date.parse(c.startDateTime) - 300_000 <= now && now < Date.parse(c.endDateTime))
      .map((c) => this.secrets.get(c.keyId))
      .filter((s): s is string => !!s);
  }

  /** Registered certificates of an app as PEM (keyCredentials of type AsymmetricX509Cert). */
  certificatePems(appId: string): string[] {
    const app = this.appByAppId(appId);
    return (app?.keyCredentials ?? [])
      .filter((k) => k.type === "AsymmetricX509Cert" && k.key)
      .map((k) => `-----BEGIN CERTIFICATE-----\n${k.key!.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`);
  }

  /** A token-endpoint client for every application whose own service principal exists. */
  sync(): void {
    for (const app of this.applications.values()) {
      const key = app.appId.toLowerCase();
      if (this.spByAppId(app.appId)) {
        if (!this.ctx.apps.has(key)) this.ctx.apps.set(key, directoryApp(this, app.appId));
      } else this.ctx.apps.delete(key);
    }
  }
}

/** Certificate thumbprint as Graph shows it in customKeyIdentifier (SHA-1, upper-case hex). */
export function certThumbprint(derBase64: string): string {
  return createHash("sha1").update(Buffer.from(derBase64, "base64")).digest("hex").toUpperCase();
}

export function certDates(derBase64: string): { start: string; end: string } {
  const x = new X509Certificate(Buffer.from(derBase64, "base64"));
  return { start: new Date(x.validFrom).toISOString(), end: new Date(x.validTo).toISOString() };
}

export interface DirectoryApp extends App {
  readonly directorySecrets: string[];
  readonly directoryCertificates: string[];
}

/** An App whose roles and credentials are read from the directory on every use. */
function directoryApp(dir: Directory, appId: string): DirectoryApp {
  return {
    clientId: appId,
    get graphRoles() {
      return dir.grantedRoles(appId, GRAPH_APP_ID);
    },
    get rwsRoles() {
      return dir.grantedRoles(appId, EXCHANGE_APP_ID);
    },
    get globalReader() {
      return dir.hasDirectoryRole(appId, GLOBAL_READER_ROLE_ID);
    },
    get servicePrincipalProvisioned() {
      return dir.messageTraceReady();
    },
    get directorySecrets() {
      return dir.secretValues(appId);
    },
    get directoryCertificates() {
      return dir.certificatePems(appId);
    },
    // Marks the app as a confidential client for the token endpoint's checks.
    get clientSecret() {
      return dir.secretValues(appId)[0];
    },
    get certificatePem() {
      return dir.certificatePems(appId)[0];
    },
  };
}

/** Every secret the token endpoint should accept for `app` (a directory app may have several). */
export function acceptedSecrets(app: App): string[] {
  const d = (app as Partial<DirectoryApp>).directorySecrets;
  return d ?? (app.clientSecret ? [app.clientSecret] : []);
}

/** Every certificate registered for `app`. */
export function acceptedCertificates(app: App): string[] {
  const d = (app as Partial<DirectoryApp>).directoryCertificates;
  return d ?? (app.certificatePem ? [app.certificatePem] : []);
}
