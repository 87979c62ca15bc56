// Read what the tenant already has (app registration, its service principal, consent, the message trace
// service principal or the Global Reader role) and list only the changes still missing. Each step says what
// it changes and which Entra role the administrator needs for it; applying a step updates the shared state so
// later steps can use the ids it created.
import { CollectorError } from "../errors.js";
import { GraphApi, odataString } from "./graph-api.js";
import { ADMIN_ROLE_FOR, type SourceRequirements } from "./requirements.js";

export interface Application {
  id: string;
  appId: string;
  displayName: string;
  requiredResourceAccess?: Array<{ resourceAppId: string; resourceAccess: Array<{ id: string; type: string }> }>;
  passwordCredentials?: Array<{ keyId: string; displayName: string | null; endDateTime: string; hint?: string }>;
  keyCredentials?: Array<{ keyId: string; customKeyIdentifier: string | null; endDateTime: string; type: string; usage: string }>;
}

export interface ServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  appRoles?: Array<{ id: string; value: string; allowedMemberTypes?: string[]; isEnabled?: boolean }>;
}

export interface Step {
  /** One line: what will change. */
  what: string;
  /** The Entra role the administrator needs for it. */
  role: string;
  apply: () => Promise<void>;
}

export interface TenantState {
  app?: Application;
  appSp?: ServicePrincipal;
  resourceSp: ServicePrincipal;
  appRoleId: string;
}

export interface TenantTarget {
  req: SourceRequirements;
  displayName: string;
  /** An existing app registration to use (from --client-id or the config being updated). */
  clientId?: string;
}

async function spByAppId(api: GraphApi, appId: string): Promise<ServicePrincipal | undefined> {
  return (await api.list<ServicePrincipal>("/servicePrincipals", `appId eq ${odataString(appId)}`))[0];
}

async function findApp(api: GraphApi, t: TenantTarget): Promise<Application | undefined> {
  if (t.clientId) {
    const [app] = await api.list<Application>("/applications", `appId eq ${odataString(t.clientId)}`);
    if (!app) {
      throw new CollectorError("config", `no app registration with client id ${t.clientId} in this tenant`, {
        hint: "check --client-id (or auth.client_id in the config); leave it out to create a new app registration",
      });
    }
    return app;
  }
  const apps = await api.list<Application>("/applications", `displayName eq ${odataString(t.displayName)}`);
  if (apps.length > 1) {
    throw new CollectorError(
      "config",
      `${apps.length} app registrations are named '${t.displayName}' (${apps.map((a) => a.appId).join(", ")})`,
      {
        hint: "pass --client-id with the one to use, or --app-name with another name",
      },
    );
  }
  return apps[0];
}

/** The tenant's current state for this source. */
export async function inspectTenant(api: GraphApi, t: TenantTarget): Promise<TenantState> {
  const resourceSp = await spByAppId(api, t.req.resource.appId);
  const role = resourceSp?.appRoles?.find(
    (r) => r.value === t.req.permission && (r.allowedMemberTypes ?? ["Application"]).includes("Application"),
  );
  if (!resourceSp || !role) {
    throw new CollectorError(
      "config",
      `the tenant's ${t.req.resource.name} service principal offers no application permission ${t.req.permission}`,
      {
        hint: "this cloud or tenant may not offer it; see the README's manual steps",
      },
    );
  }
  const app = await findApp(api, t);
  const appSp = app ? await spByAppId(api, app.appId) : undefined;
  return { app, appSp, resourceSp, appRoleId: role.id };
}

/** The changes still missing, in order. `state` is updated as steps apply. */
export async function planTenant(api: GraphApi, t: TenantTarget, state: TenantState): Promise<Step[]> {
  const steps: Step[] = [];
  const { req } = t;
  const access = { resourceAppId: req.resource.appId, resourceAccess: [{ id: state.appRoleId, type: "Role" }] };
  const app = () => state.app!;
  if (!state.app) {
    steps.push({
      what: `create the app registration '${t.displayName}' (single tenant) listing the ${req.resource.name} application permission ${req.permission}`,
      role: ADMIN_ROLE_FOR.app,
      apply: async () => {
        state.app = await api.post<Application>("/applications", {
          displayName: t.displayName,
          signInAudience: "AzureADMyOrg",
          requiredResourceAccess: [access],
        });
      },
    });
  } else {
    const listed = (state.app.requiredResourceAccess ?? []).some(
      (r) => r.resourceAppId === req.resource.appId && r.resourceAccess.some((a) => a.id === state.appRoleId && a.type === "Role"),
    );
    if (!listed) {
      steps.push({
        what: `add the ${req.resource.name} application permission ${req.permission} to the app registration '${state.app.displayName}' (${state.app.appId})`,
        role: ADMIN_ROLE_FOR.app,
        apply: async () => {
          // PATCH replaces the collection: keep every other permission the app already lists.
          const others = (app().requiredResourceAccess ?? []).filter((r) => r.resourceAppId !== req.resource.appId);
          const mine = (app().requiredResourceAccess ?? []).find((r) => r.resourceAppId === req.resource.appId);
          const resourceAccess = [...(mine?.resourceAccess ?? []), access.resourceAccess[0]!];
          const merged = { resourceAppId: req.resource.appId, resourceAccess };
          await api.patch(`/applications/${app().id}`, { requiredResourceAccess: [...others, merged] });
        },
      });
    }
  }
  if (!state.appSp) {
    steps.push({
      what: `create the service principal (enterprise application) of the app registration`,
      role: ADMIN_ROLE_FOR.app,
      apply: async () => {
        state.appSp = await api.post<ServicePrincipal>("/servicePrincipals", { appId: app().appId });
      },
    });
  }
  const assigned = state.appSp
    ? ((
        await api.get<{ value?: Array<{ resourceId: string; appRoleId: string }> }>(
          `/servicePrincipals/${state.appSp.id}/appRoleAssignments`,
        )
      ).value ?? [])
    : [];
  if (!assigned.some((a) => a.resourceId === state.resourceSp.id && a.appRoleId === state.appRoleId)) {
    steps.push({
      what: `grant admin consent: ${req.resource.name} application permission ${req.permission} to the app`,
      role: ADMIN_ROLE_FOR.consent,
      apply: async () => {
        await api.post(`/servicePrincipals/${state.resourceSp.id}/appRoleAssignedTo`, {
          principalId: state.appSp!.id,
          resourceId: state.resourceSp.id,
          appRoleId: state.appRoleId,
        });
      },
    });
  }
  if (req.servicePrincipal && !(await spByAppId(api, req.servicePrincipal.appId))) {
    const sp = req.servicePrincipal;
    steps.push({
      what: `create the service principal of the Microsoft app ${sp.appId} that ${sp.name} needs (Microsoft then provisions it, which can take hours)`,
      role: ADMIN_ROLE_FOR.app,
      apply: async () => {
        await api.post("/servicePrincipals", { appId: sp.appId });
      },
    });
  }
  const dirRole = req.directoryRole;
  if (dirRole) {
    const has = state.appSp
      ? (
          await api.list<{ id: string }>(
            "/roleManagement/directory/roleAssignments",
            `principalId eq ${odataString(state.appSp.id)} and roleDefinitionId eq ${odataString(dirRole.id)}`,
          )
        ).length > 0
      : false;
    if (!has) {
      steps.push({
        what: `assign the Entra role ${dirRole.name} to the app's service principal (the reporting web service requires it)`,
        role: ADMIN_ROLE_FOR.directoryRole,
        apply: async () => {
          await api.post("/roleManagement/directory/roleAssignments", {
            principalId: state.appSp!.id,
            roleDefinitionId: dirRole.id,
            directoryScopeId: "/",
          });
        },
      });
    }
  }
  return steps;
}
