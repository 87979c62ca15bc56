// The simulated directory and device code endpoints, over real HTTPS: Entra's device flow errors
// (authorization_pending, slow_down), Graph shapes for applications / addPassword / appRoleAssignedTo, the
// role checks, and that directory changes show in tokens and in the message trace API (provisioning delay).
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { directoryAt } from "../src/sim/directory.js";
import { GRAPH_APP_ID, GRAPH_CLI_CLIENT_ID } from "../src/sim/directory-store.js";

let sim: Simulator;
let agent: Agent;
beforeAll(async () => {
  sim = await startSimulator({ seed: 3, directory: { deviceCodeIntervalSeconds: 1, provisioningDelayMs: 60_000 } });
  agent = new Agent({ connect: { ca: sim.ca } });
});
afterAll(async () => {
  await agent.close();
  await sim.close();
});

async function call(method: string, path: string, opts: { form?: Record<string, string>; json?: unknown; token?: string } = {}) {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.form) headers["content-type"] = "application/x-www-form-urlencoded";
  if (opts.json !== undefined) headers["content-type"] = "application/json";
  const body = opts.form ? new URLSearchParams(opts.form).toString() : opts.json !== undefined ? JSON.stringify(opts.json) : undefined;
  const r = await request(`${sim.url}${path}`, { method: method as "GET", dispatcher: agent, headers, body });
  const text = await r.body.text();
  return { status: r.statusCode, body: (text && text.startsWith("{") ? JSON.parse(text) : {}) as Record<string, any> };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as Record<string, any>;

async function adminToken(): Promise<string> {
  const dc = await call("POST", `/${sim.tenantId}/oauth2/v2.0/devicecode`, {
    form: {
      client_id: GRAPH_CLI_CLIENT_ID,
      scope: "https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All",
    },
  });
  expect(dc.status).toBe(200);
  expect(Object.keys(dc.body).sort()).toEqual(["device_code", "expires_in", "interval", "message", "user_code", "verification_uri"]);
  const poll = () =>
    call("POST", `/${sim.tenantId}/oauth2/v2.0/token`, {
      form: {
        grant_type: "urn:ietf:params:oauth:grant-type:device_code",
        client_id: GRAPH_CLI_CLIENT_ID,
        device_code: dc.body.device_code,
      },
    });
  const pending = await poll();
  expect(pending.status).toBe(400);
  expect(pending.body.error).toBe("authorization_pending");
  expect(pending.body.error_codes).toEqual([70016]);
  const tooFast = await poll();
  expect(tooFast.body.error).toBe("slow_down");
  expect((await call("POST", "/devicelogin", { form: { otc: dc.body.user_code } })).status).toBe(200);
  await sleep(1000);
  const ok = await poll();
  expect(ok.status).toBe(200);
  return ok.body.access_token as string;
}

describe("simulated directory", () => {
  it("device code flow, then Graph writes gated by the admin's roles, visible in app tokens and the API", async () => {
    const admin = await adminToken();
    expect(claims(admin)).toMatchObject({
      idtyp: "user",
      scp: "Application.ReadWrite.All AppRoleAssignment.ReadWrite.All",
      wids: ["62e90394-69f5-4237-9190-012177145e10"],
    });

    const created = await call("POST", "/v1.0/applications", {
      token: admin,
      json: { displayName: "probe", signInAudience: "AzureADMyOrg" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ displayName: "probe", passwordCredentials: [], keyCredentials: [] });
    const app = created.body;
    const pw = await call("POST", `/v1.0/applications/${app.id}/addPassword`, {
      token: admin,
      json: { passwordCredential: { displayName: "p1" } },
    });
    expect(pw.status).toBe(200);
    expect(pw.body.secretText).toMatch(/^.{40}$/);
    expect(pw.body.hint).toBe(pw.body.secretText.slice(0, 3));
    const read = await call("GET", `/v1.0/applications/${app.id}`, { token: admin });
    expect(JSON.stringify(read.body)).not.toContain(pw.body.secretText);
    const found = await call("GET", `/v1.0/applications?$filter=${encodeURIComponent("displayName eq 'probe'")}`, { token: admin });
    expect(found.body.value.map((a: { appId: string }) => a.appId)).toEqual([app.appId]);

    const appToken = async () =>
      call("POST", `/${sim.tenantId}/oauth2/v2.0/token`, {
        form: {
          grant_type: "client_credentials",
          client_id: app.appId,
          client_secret: pw.body.secretText,
          scope: "https://graph.microsoft.com/.default",
        },
      });
    expect((await appToken()).body.error_codes).toEqual([700016]); // no service principal yet
    const sp = await call("POST", "/v1.0/servicePrincipals", { token: admin, json: { appId: app.appId } });
    expect(sp.status).toBe(201);
    expect((await call("POST", "/v1.0/servicePrincipals", { token: admin, json: { appId: app.appId } })).status).toBe(409);
    expect(claims((await appToken()).body.access_token).roles).toBeUndefined();

    const graph = directoryAt(sim.url).spByAppId(GRAPH_APP_ID)!;
    const roleId = graph.appRoles.find((r) => r.value === "ExchangeMessageTrace.Read.All")!.id;
    const grant = { principalId: sp.body.id, resourceId: graph.id, appRoleId: roleId };
    directoryAt(sim.url).setAdminRoles(["Application Administrator"]);
    const denied = await call("POST", `/v1.0/servicePrincipals/${graph.id}/appRoleAssignedTo`, { token: admin, json: grant });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe("Authorization_RequestDenied");
    directoryAt(sim.url).setAdminRoles(["Global Administrator"]);
    const granted = await call("POST", `/v1.0/servicePrincipals/${graph.id}/appRoleAssignedTo`, { token: admin, json: grant });
    expect(granted.status).toBe(201);
    expect(granted.body).toMatchObject({ principalType: "ServicePrincipal", resourceDisplayName: "Microsoft Graph", appRoleId: roleId });
    expect((await call("POST", `/v1.0/servicePrincipals/${graph.id}/appRoleAssignedTo`, { token: admin, json: grant })).status).toBe(400);
    const token = (await appToken()).body.access_token as string;
    expect(claims(token).roles).toEqual(["ExchangeMessageTrace.Read.All"]);

    // Until the message trace service principal exists and has provisioned, the API answers 401.
    const list = () => call("GET", "/v1.0/admin/exchange/tracing/messageTraces", { token });
    expect((await list()).status).toBe(401);
    expect(
      (await call("POST", "/v1.0/servicePrincipals", { token: admin, json: { appId: "8bd644d1-64a1-4d4b-ae52-2e0cbf64e373" } })).status,
    ).toBe(201);
    const provisioning = await list();
    expect(provisioning.status).toBe(401);
    expect(provisioning.body.error.message).toMatch(/8bd644d1-64a1-4d4b-ae52-2e0cbf64e373/);
    directoryAt(sim.url).provisioningDelayMs = 0;
    expect((await list()).status).toBe(200);

    const removed = await call("POST", `/v1.0/applications/${app.id}/removePassword`, { token: admin, json: { keyId: pw.body.keyId } });
    expect(removed.status).toBe(204);
    expect((await appToken()).body.error_codes).toEqual([7000215]);
  }, 30_000);
});
