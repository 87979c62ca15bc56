// The simulated Entra ID: token endpoint errors in Entra's shape, real msal-node clients (secret,
// certificate, auth code, managed identity) against it over real HTTPS, and bearer checks on the APIs.
import { createHash } from "node:crypto";
import {
  ConfidentialClientApplication,
  ManagedIdentityApplication,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
} from "@azure/msal-node";
import { generate } from "selfsigned";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../src/sim/index.js";

let sim: Simulator;
let agent: Agent;

/** Test-only msal network module: undici with the simulator's CA. */
function undiciNetwork(a: Agent): INetworkModule {
  const send = async <T>(method: "GET" | "POST", url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    const r = await request(url, {
      method,
      dispatcher: a,
      headers: options?.headers ?? {},
      body: method === "POST" ? options?.body : undefined,
    });
    const text = await r.body.text();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    return { headers, status: r.statusCode, body: (text ? JSON.parse(text) : {}) as T };
  };
  return { sendGetRequestAsync: (u, o) => send("GET", u, o), sendPostRequestAsync: (u, o) => send("POST", u, o) };
}

async function tokenReq(form: Record<string, string>, tenant = sim.tenantId) {
  const r = await request(`${sim.url}/${tenant}/oauth2/v2.0/token`, {
    method: "POST",
    dispatcher: agent,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
  return { status: r.statusCode, body: (await r.body.json()) as Record<string, any> };
}

const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as Record<string, any>;
const GRAPH = "https://graph.microsoft.com/.default";

beforeAll(async () => {
  sim = await startSimulator({ seed: 7 });
  agent = new Agent({ connect: { ca: sim.ca } });
});
afterAll(async () => {
  await sim.close();
  await agent.close();
});

describe("token endpoint", () => {
  it("issues a Graph app token with roles, tid, appid and expires_in", async () => {
    const r = await tokenReq({ grant_type: "client_credentials", client_id: sim.clientId, client_secret: sim.clientSecret, scope: GRAPH });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599 });
    const c = claims(r.body.access_token);
    expect(c).toMatchObject({
      aud: "https://graph.microsoft.com",
      tid: sim.tenantId,
      appid: sim.clientId,
      roles: ["ExchangeMessageTrace.Read.All"],
    });
    expect(c.exp - c.iat).toBe(3599);
    const rws = await tokenReq(
      {
        grant_type: "client_credentials",
        client_id: sim.clientId,
        client_secret: sim.clientSecret,
        scope: "https://outlook.office365.com/.default",
      },
      sim.organization,
    );
    expect(claims(rws.body.access_token)).toMatchObject({ aud: "https://outlook.office365.com", roles: ["ReportingWebService.Read.All"] });
  });

  it("answers errors in Entra's shape", async () => {
    const bad = await tokenReq({ grant_type: "client_credentials", client_id: sim.clientId, client_secret: "nope", scope: GRAPH });
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ error: "invalid_client", error_codes: [7000215] });
    expect(bad.body.error_description).toMatch(/^AADSTS7000215: Invalid client secret provided\./);
    for (const k of ["timestamp", "trace_id", "correlation_id"]) expect(typeof bad.body[k]).toBe("string");
    const unknown = await tokenReq({
      grant_type: "client_credentials",
      client_id: "00000000-1111-2222-3333-444444444444",
      client_secret: "x",
      scope: GRAPH,
    });
    expect(unknown).toMatchObject({ status: 400, body: { error: "unauthorized_client", error_codes: [700016] } });
    const tenant = await tokenReq(
      { grant_type: "client_credentials", client_id: sim.clientId, client_secret: sim.clientSecret, scope: GRAPH },
      "fabrikam.onmicrosoft.com",
    );
    expect(tenant).toMatchObject({ status: 400, body: { error: "invalid_request", error_codes: [90002] } });
    const assertion = await tokenReq({
      grant_type: "client_credentials",
      client_id: sim.clientId,
      scope: GRAPH,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: "a.b.c",
    });
    expect(assertion).toMatchObject({ status: 401, body: { error: "invalid_client", error_codes: [700027] } });
    const scope = await tokenReq({
      grant_type: "client_credentials",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      scope: "https://graph.microsoft.com/Mail.Read",
    });
    expect(scope.body.error).toBe("invalid_scope");
  });

  it("serves discovery: openid-configuration, instance discovery, unknown tenant", async () => {
    const r = await request(`${sim.authority}/v2.0/.well-known/openid-configuration`, { dispatcher: agent });
    const j = (await r.body.json()) as Record<string, string>;
    expect(j.token_endpoint).toBe(`${sim.authority}/oauth2/v2.0/token`);
    expect(j.issuer).toBe(`${sim.authority}/v2.0`);
    const inst = await request(
      `${sim.url}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(`${sim.authority}/oauth2/v2.0/authorize`)}`,
      { dispatcher: agent },
    );
    expect(((await inst.body.json()) as any).metadata[0].aliases).toEqual([new URL(sim.url).host]);
    const u = await request(`${sim.url}/nosuch.onmicrosoft.com/v2.0/.well-known/openid-configuration`, { dispatcher: agent });
    expect(u.statusCode).toBe(400);
    expect(((await u.body.json()) as any).error_codes).toEqual([90002]);
  });
});

describe("msal-node against the simulator", () => {
  const cfg = () => ({ authority: sim.authority, knownAuthorities: [new URL(sim.url).host] });

  it("ConfidentialClientApplication with a client secret", async () => {
    const cca = new ConfidentialClientApplication({
      auth: { clientId: sim.clientId, clientSecret: sim.clientSecret, ...cfg() },
      system: { networkClient: undiciNetwork(agent) },
    });
    const res = await cca.acquireTokenByClientCredential({ scopes: [GRAPH] });
    expect(res?.accessToken).toBeTruthy();
    expect(claims(res!.accessToken).roles).toContain("ExchangeMessageTrace.Read.All");
    const wrong = new ConfidentialClientApplication({
      auth: { clientId: sim.clientId, clientSecret: "wrong", ...cfg() },
      system: { networkClient: undiciNetwork(agent) },
    });
    await expect(wrong.acquireTokenByClientCredential({ scopes: [GRAPH] })).rejects.toThrow(/AADSTS7000215/);
  });

  it("ConfidentialClientApplication with a certificate (PS256 / x5t#S256)", async () => {
    const pems = await generate([{ name: "commonName", value: "sim-cert-app" }], { keySize: 2048, algorithm: "sha256" });
    const der = Buffer.from(pems.cert.replace(/-----[^-]+-----|\s/g, ""), "base64");
    sim.addApp({ clientId: "22222222-3333-4444-5555-666666666666", certificatePem: pems.cert });
    const cca = new ConfidentialClientApplication({
      auth: {
        clientId: "22222222-3333-4444-5555-666666666666",
        clientCertificate: { thumbprintSha256: createHash("sha256").update(der).digest("hex"), privateKey: pems.private },
        ...cfg(),
      },
      system: { networkClient: undiciNetwork(agent) },
    });
    const res = await cca.acquireTokenByClientCredential({ scopes: ["https://outlook.office365.com/.default"] });
    expect(claims(res!.accessToken)).toMatchObject({ aud: "https://outlook.office365.com", appidacr: "2" });
    // A different key with a matching thumbprint header must fail signature validation.
    const other = await generate([{ name: "commonName", value: "other" }], { keySize: 2048, algorithm: "sha256" });
    const forged = new ConfidentialClientApplication({
      auth: {
        clientId: "22222222-3333-4444-5555-666666666666",
        clientCertificate: { thumbprintSha256: createHash("sha256").update(der).digest("hex"), privateKey: other.private },
        ...cfg(),
      },
      system: { networkClient: undiciNetwork(agent) },
    });
    await expect(forged.acquireTokenByClientCredential({ scopes: [GRAPH] })).rejects.toThrow(/AADSTS700027/);
  });

  it("auth code flow with PKCE, then refresh-token rotation with one grace use", async () => {
    const redirectUri = "http://localhost:53100/callback";
    const cca = new ConfidentialClientApplication({
      auth: { clientId: sim.clientId, clientSecret: sim.clientSecret, ...cfg() },
      system: { networkClient: undiciNetwork(agent) },
    });
    const verifier = "v".repeat(50);
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const authUrl = await cca.getAuthCodeUrl({
      scopes: ["https://outlook.office365.com/.default"],
      redirectUri,
      state: "s1",
      codeChallenge: challenge,
      codeChallengeMethod: "S256",
    });
    const r = await request(authUrl, { dispatcher: agent });
    expect(r.statusCode).toBe(302);
    await r.body.dump();
    const loc = new URL(String(r.headers.location));
    expect(loc.searchParams.get("state")).toBe("s1");
    const res = await cca.acquireTokenByCode({
      code: loc.searchParams.get("code")!,
      scopes: ["https://outlook.office365.com/.default"],
      redirectUri,
      codeVerifier: verifier,
    });
    expect(claims(res.accessToken)).toMatchObject({ aud: "https://outlook.office365.com", scp: "ReportingWebService.Read.All" });
    expect(res.account?.tenantId).toBe(sim.tenantId);

    // Raw refresh grant: a new refresh token each time; the old one works once more, then not.
    const code2 = new URL(
      String((await request(authUrl.replace(/code_challenge[^&]*&?/g, ""), { dispatcher: agent })).headers.location),
    ).searchParams.get("code")!;
    const first = await tokenReq({
      grant_type: "authorization_code",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      code: code2,
      redirect_uri: redirectUri,
      scope: "https://outlook.office365.com/.default offline_access",
    });
    expect(first.status).toBe(200);
    const rt1 = first.body.refresh_token as string;
    const refresh = (rt: string) =>
      tokenReq({ grant_type: "refresh_token", client_id: sim.clientId, client_secret: sim.clientSecret, refresh_token: rt });
    const a = await refresh(rt1);
    expect(a.status).toBe(200);
    expect(a.body.refresh_token).not.toBe(rt1);
    expect((await refresh(rt1)).status).toBe(200); // grace use
    const gone = await refresh(rt1);
    expect(gone).toMatchObject({ status: 400, body: { error: "invalid_grant", error_codes: [70008] } });
    expect((await refresh(a.body.refresh_token)).status).toBe(200);
  });

  it("ManagedIdentityApplication (App Service source) via IDENTITY_ENDPOINT / IDENTITY_HEADER", async () => {
    const saved = { e: process.env.IDENTITY_ENDPOINT, h: process.env.IDENTITY_HEADER };
    process.env.IDENTITY_ENDPOINT = sim.managedIdentityEndpoint;
    process.env.IDENTITY_HEADER = sim.managedIdentityHeader;
    try {
      const mia = new ManagedIdentityApplication({ system: { networkClient: undiciNetwork(agent) } });
      const res = await mia.acquireToken({ resource: "https://graph.microsoft.com" });
      expect(claims(res.accessToken)).toMatchObject({ aud: "https://graph.microsoft.com", tid: sim.tenantId });
      expect(res.expiresOn!.getTime()).toBeGreaterThan(Date.now() + 3000_000);
    } finally {
      if (saved.e === undefined) delete process.env.IDENTITY_ENDPOINT;
      else process.env.IDENTITY_ENDPOINT = saved.e;
      if (saved.h === undefined) delete process.env.IDENTITY_HEADER;
      else process.env.IDENTITY_HEADER = saved.h;
    }
    const noHeader = await request(`${sim.managedIdentityEndpoint}?api-version=2019-08-01&resource=https://graph.microsoft.com`, {
      dispatcher: agent,
    });
    expect(noHeader.statusCode).toBe(401);
    await noHeader.body.dump();
  });
});

describe("bearer checks on the APIs", () => {
  const list = (token?: string, base = `${sim.graphBase}/v1.0/admin/exchange/tracing/messageTraces`) =>
    request(base, { dispatcher: agent, headers: token ? { authorization: `Bearer ${token}` } : {} }).then(async (r) => ({
      status: r.statusCode,
      body: (await r.body.json()) as any,
    }));
  const appToken = async (clientId: string, secret: string, scope = GRAPH) =>
    (await tokenReq({ grant_type: "client_credentials", client_id: clientId, client_secret: secret, scope })).body.access_token as string;

  it("401 for missing, garbled, wrong-audience and expired tokens", async () => {
    expect(await list()).toMatchObject({ status: 401, body: { error: { code: "InvalidAuthenticationToken" } } });
    expect((await list("garbage")).status).toBe(401);
    const rwsTok = await appToken(sim.clientId, sim.clientSecret, "https://outlook.office365.com/.default");
    expect(await list(rwsTok)).toMatchObject({ status: 401, body: { error: { message: expect.stringMatching(/audience/) } } });
    const short = await startSimulator({ tokenLifetimeSeconds: 1 });
    const a2 = new Agent({ connect: { ca: short.ca } });
    try {
      const r = await request(`${short.authority}/oauth2/v2.0/token`, {
        method: "POST",
        dispatcher: a2,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: short.clientId,
          client_secret: short.clientSecret,
          scope: GRAPH,
        }).toString(),
      });
      const tok = ((await r.body.json()) as any).access_token as string;
      await new Promise((res) => setTimeout(res, 2100));
      const e = await request(`${short.graphBase}/v1.0/admin/exchange/tracing/messageTraces`, {
        dispatcher: a2,
        headers: { authorization: `Bearer ${tok}` },
      });
      expect(e.statusCode).toBe(401);
      expect(((await e.body.json()) as any).error.message).toBe("Lifetime validation failed, the token is expired.");
    } finally {
      await short.close();
      await a2.close();
    }
  });

  it("403 without the Graph role; 401 naming the service principal when not provisioned; RWS global reader", async () => {
    sim.addApp({ clientId: "33333333-0000-4000-8000-000000000001", clientSecret: "s1", graphRoles: [] });
    sim.addApp({ clientId: "33333333-0000-4000-8000-000000000002", clientSecret: "s2", servicePrincipalProvisioned: false });
    sim.addApp({ clientId: "33333333-0000-4000-8000-000000000003", clientSecret: "s3", globalReader: false });
    const noRole = await list(await appToken("33333333-0000-4000-8000-000000000001", "s1"));
    expect(noRole.status).toBe(403);
    expect(noRole.body.error.message).toMatch(/ExchangeMessageTrace\.Read\.All/);
    const noSp = await list(await appToken("33333333-0000-4000-8000-000000000002", "s2"));
    expect(noSp.status).toBe(401);
    expect(noSp.body.error.code).toBe("Unauthorized");
    expect(noSp.body.error.message).toMatch(/8bd644d1-64a1-4d4b-ae52-2e0cbf64e373.*not found/);
    const rwsTok = await appToken("33333333-0000-4000-8000-000000000003", "s3", "https://outlook.office365.com/.default");
    const r = await request(`${sim.rwsBase}/MessageTrace?$format=json`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${rwsTok}` },
    });
    expect(r.statusCode).toBe(403);
    // The report's own body for this case (docs §5), not the OData error shape.
    expect(await r.body.json()).toEqual({ ErrorCode: "", Message: "No permission to access the report for the organization ." });
  });
});
