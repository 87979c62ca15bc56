// Issue 6: certificate (generated key pair), managed identity (App Service endpoint) and the authorization-code
// flow (login-url → consent → auth-code → rotating refresh token → auth-reset), all against the simulator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generate } from "selfsigned";
import { Agent, request } from "undici";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { createLogger } from "../src/log/logger.js";
import { diagnose, decodeClaims } from "../src/cli/auth-test.js";
import { describeError } from "../src/errors.js";
import { createDispatcherFor, createTokenProvider, resolveEndpoints } from "../src/runtime.js";
import { authCodeFiles } from "../src/auth/auth-code.js";
import {
  collectAgainstTruth,
  compare,
  HOUR,
  parseNdjson,
  recordIds,
  runCli,
  simConfig,
  simConfigInput,
  tempDir,
  truthIds,
  writeConfig,
  lastLogMessage,
} from "./helpers/harness.js";

let sim: Simulator;
const logger = createLogger({ level: "error", write: () => {} });
const CERT_APP = "cccccccc-0000-4000-8000-000000000001";
const CODE_APP = "cccccccc-0000-4000-8000-000000000002";
const CODE_SECRET = "code-app-secret~42";
const REDIRECT = "http://localhost:8400/callback";
let keyPem: string;
let certPem: string;

async function makeCert(): Promise<{ key: string; cert: string }> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kp = {
    privateKey: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    publicKey: publicKey.export({ type: "spki", format: "pem" }) as string,
  };
  const pems = await generate([{ name: "commonName", value: "o365-message-trace test" }], { keyPair: kp, algorithm: "sha256" });
  return { key: kp.privateKey, cert: pems.cert };
}

beforeAll(async () => {
  sim = await startSimulator({ seed: 5, ratePerHour: 60 });
  ({ key: keyPem, cert: certPem } = await makeCert());
  sim.addApp({ clientId: CERT_APP, certificatePem: certPem });
  sim.addApp({ clientId: CODE_APP, clientSecret: CODE_SECRET, redirectUri: REDIRECT });
});
afterAll(async () => {
  await sim?.close();
});

describe("certificate credentials (generated RSA key + self-signed certificate)", () => {
  function certConfig(dir: string, cert: Record<string, unknown>) {
    writeFileSync(join(dir, "app.key"), keyPem, { mode: 0o600 });
    writeFileSync(join(dir, "app.crt"), certPem);
    return simConfig(sim, dir, { retry: { count: 0 }, auth: { method: "certificate", client_id: CERT_APP, certificate: cert } });
  }

  it("signs in with private key + certificate file, collects, and the token says 'certificate' (appidacr 2)", async () => {
    const dir = tempDir();
    const config = certConfig(dir, { private_key_file: "app.key", certificate_file: "app.crt" });
    expect(await diagnose(config, { logger, env: {} })).toMatch(/collection would work: certificate sign-in for app cccccccc/);
    const endpoints = resolveEndpoints(config);
    const tokens = createTokenProvider(config, {
      dispatcher: createDispatcherFor(config, { logger }),
      logger,
      loginBase: endpoints.login,
      env: {},
    });
    expect(decodeClaims(await tokens.getToken("https://graph.microsoft.com/.default")).appidacr).toBe("2");
    const T0 = Date.UTC(2026, 10, 22, 0, 0, 0);
    const collected = simConfig(sim, dir, { auth: config.auth, start: new Date(T0).toISOString(), window: 60 });
    expect(await collectAgainstTruth(collected, sim, T0, T0 + 2 * HOUR)).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });

  it("the command itself (the bundled build) signs with the certificate and delivers every record once", async () => {
    // The bundle loads jsonwebtoken only at the first certificate sign (scripts/bundle/jsonwebtoken-lazy.cjs).
    const dir = tempDir();
    writeFileSync(join(dir, "app.key"), keyPem, { mode: 0o600 });
    writeFileSync(join(dir, "app.crt"), certPem);
    const T0 = Date.UTC(2026, 10, 22, 0, 0, 0);
    const input = simConfigInput(sim, dir, {
      auth: { method: "certificate", client_id: CERT_APP, certificate: { private_key_file: "app.key", certificate_file: "app.crt" } },
      start: new Date(T0).toISOString(),
      window: 60,
      rescan: { horizon: 0 },
    });
    const r = await runCli(["once", "--config", writeConfig(dir, input)], {
      env: { O365MT_NOW: new Date(T0 + 2 * HOUR + 10 * 60_000).toISOString() },
    });
    expect(r.stderr).not.toMatch(/"level":"error"/);
    expect(r.code).toBe(0);
    const got = recordIds(parseNdjson(r.stdout));
    expect(got.length).toBeGreaterThan(0);
    expect(compare(truthIds(sim.truth(new Date(T0), new Date(T0 + 2 * HOUR))), got)).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });

  it("works from the key + SHA-256 thumbprint alone, and from the SHA-1 thumbprint", async () => {
    const x = new X509Certificate(certPem);
    const dir = tempDir();
    expect(
      await diagnose(certConfig(dir, { private_key_file: "app.key", thumbprint_sha256: x.fingerprint256 }), { logger, env: {} }),
    ).toMatch(/collection would work/);
    expect(
      await diagnose(certConfig(dir, { private_key_file: "app.key", thumbprint: x.fingerprint.replace(/:/g, "") }), { logger, env: {} }),
    ).toMatch(/collection would work/);
  });

  it("a key that does not match the registered certificate is named (AADSTS700027)", async () => {
    const other = await makeCert();
    const dir = tempDir();
    writeFileSync(join(dir, "other.key"), other.key);
    writeFileSync(join(dir, "other.crt"), other.cert);
    const config = simConfig(sim, dir, {
      retry: { count: 0 },
      auth: { method: "certificate", client_id: CERT_APP, certificate: { private_key_file: "other.key", certificate_file: "other.crt" } },
    });
    const err = await diagnose(config, { logger, env: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(describeError(err)).toMatch(
      /auth error: sign-in failed: the certificate assertion was rejected \(AADSTS700027\) — upload this certificate/,
    );
  });
});

describe("managed identity (App Service endpoint of the simulator)", () => {
  it("gets tokens from IDENTITY_ENDPOINT/IDENTITY_HEADER through our network client and collects", async () => {
    const saved = { e: process.env.IDENTITY_ENDPOINT, h: process.env.IDENTITY_HEADER };
    process.env.IDENTITY_ENDPOINT = sim.managedIdentityEndpoint;
    process.env.IDENTITY_HEADER = sim.managedIdentityHeader;
    try {
      const dir = tempDir();
      const config = simConfig(sim, dir, { auth: { method: "managed_identity" } });
      expect(await diagnose(config, { logger, env: {} })).toMatch(/collection would work: managed_identity sign-in/);
      const T0 = Date.UTC(2026, 10, 22, 6, 0, 0);
      const collected = simConfig(sim, dir, { auth: { method: "managed_identity" }, start: new Date(T0).toISOString(), window: 60 });
      expect(await collectAgainstTruth(collected, sim, T0, T0 + HOUR)).toEqual({ lost: 0, duplicates: 0, extra: 0 });
      expect(sim.stats().requests.msi ?? 0).toBeGreaterThan(0);
    } finally {
      process.env.IDENTITY_ENDPOINT = saved.e;
      process.env.IDENTITY_HEADER = saved.h;
      if (saved.e === undefined) delete process.env.IDENTITY_ENDPOINT;
      if (saved.h === undefined) delete process.env.IDENTITY_HEADER;
    }
  });
});

describe("authorization code flow: login-url, auth-code, rotation, auth-reset (subprocesses)", () => {
  it("signs in, stores a rotating refresh token 0600, collects, and forgets it on auth-reset", async () => {
    const dir = tempDir();
    const input = simConfigInput(sim, dir, {
      auth: { method: "auth_code", client_id: CODE_APP, redirect_uri: REDIRECT },
      retry: { count: 0 },
    });
    const file = writeConfig(dir, input);
    const env = { O365_CLIENT_SECRET: CODE_SECRET };

    const before = await runCli(["auth-test", "--config", file], { env });
    expect(before.code).toBe(1);
    expect(before.stderr).toMatch(/no one has signed in for auth_code yet .*login-url/);

    const login = await runCli(["login-url", "--config", file], { env });
    expect(login.code).toBe(0);
    const url = new URL(login.stdout.trim());
    expect(url.pathname).toBe(`/${sim.tenantId}/oauth2/v2.0/authorize`);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("redirect_uri")).toBe(REDIRECT);

    // The administrator's browser: the simulator consents at once and redirects with ?code=…&state=….
    const res = await request(url, { dispatcher: new Agent({ connect: { ca: sim.ca } }) });
    await res.body.dump();
    expect(res.statusCode).toBe(302);
    const redirect = String(res.headers.location);
    expect(redirect.startsWith(REDIRECT)).toBe(true);

    const redeem = await runCli(["auth-code", "--config", file, redirect], { env });
    expect(redeem.stderr).toBe("");
    expect(redeem.code).toBe(0);
    expect(redeem.stdout).toMatch(
      /^signed in as admin@contoso\.onmicrosoft\.com; refresh token stored in .*token-cache\.json \(mode 0600\)/,
    );
    const authed = simConfig(sim, dir, input);
    const { cache } = authCodeFiles(authed.state_dir, authed.tenant_id);
    expect(statSync(cache).mode & 0o777).toBe(0o600);
    const rtOf = () => Object.values(JSON.parse(readFileSync(cache, "utf8")).RefreshToken as Record<string, { secret: string }>)[0]!.secret;
    const rt1 = rtOf();
    expect(redeem.stdout + redeem.stderr).not.toContain(rt1);

    const ok = await runCli(["auth-test", "--config", file], { env });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/auth-test: collection would work: auth_code sign-in/);

    // A forced renewal redeems the refresh token: Entra (and the simulator) rotate it, and the new one is kept.
    const config = simConfig(sim, dir, { ...input, auth: { ...(input.auth as object), client_secret: CODE_SECRET } });
    const tokens = createTokenProvider(config, {
      dispatcher: createDispatcherFor(config, { logger }),
      logger,
      loginBase: sim.url,
      env: {},
    });
    await tokens.getToken("https://graph.microsoft.com/.default", { force: true });
    const rt2 = rtOf();
    expect(rt2).not.toBe(rt1);
    await tokens.getToken("https://graph.microsoft.com/.default", { force: true });
    expect(rtOf()).not.toBe(rt2);

    const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);
    const collected = simConfig(sim, dir, { ...input, auth: config.auth, start: new Date(T0).toISOString(), window: 60 });
    expect(await collectAgainstTruth(collected, sim, T0, T0 + HOUR)).toEqual({ lost: 0, duplicates: 0, extra: 0 });

    const reset = await runCli(["auth-reset", "--config", file], { env });
    expect(reset.code).toBe(0);
    expect(existsSync(cache)).toBe(false);
    const after = await runCli(["auth-test", "--config", file], { env });
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/no one has signed in/);
  });

  it("auth-code without a pending login-url, and a reused code, each give one clear line", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { auth: { method: "auth_code", client_id: CODE_APP, redirect_uri: REDIRECT } }));
    const env = { O365_CLIENT_SECRET: CODE_SECRET };
    const none = await runCli(["auth-code", "--config", file, "abc"], { env });
    expect(none.code).toBe(2);
    expect(lastLogMessage(none.stderr)).toMatch(
      /^config error: no sign-in is pending for this tenant — run `o365-message-trace login-url` first/,
    );
    await runCli(["login-url", "--config", file], { env });
    const bad = await runCli(["auth-code", "--config", file, "not-a-real-code"], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/authorization code or refresh token has expired/);
  });
});
