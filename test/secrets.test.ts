// Issue 5: secrets. Client secret, certificate private key, refresh tokens and bearer/JWT access tokens never
// appear in a log line, an error message, stdout or a state file — checked on redaction itself and on real
// runs (debug logging, faults that produce 401s and error bodies). State files are 0600 in a 0700 directory.
// TLS verification is on unless disabled, and disabling it is loud.
import { generateKeyPairSync } from "node:crypto";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generate } from "selfsigned";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CollectorError, describeError } from "../src/errors.js";
import { registerSecret, redact } from "../src/log/redact.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { HOUR, runCli, simConfigInput, tempDir, writeConfig, lastLogMessage } from "./helpers/harness.js";
import { captureLogger, findSecrets, readTree } from "./helpers/reliability.js";

const T0 = Date.UTC(2026, 10, 23, 0, 0, 0);
const CERT_APP = "cccccccc-0000-4000-8000-0000000000aa";
const env = { O365MT_NOW: new Date(T0 + HOUR).toISOString() };
let sim: Simulator;
let keyPem: string;
let certPem: string;
const FAKE_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";

beforeAll(async () => {
  sim = await startSimulator({ seed: 51, ratePerHour: 60 });
  sim.setNow(T0 + HOUR);
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  keyPem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const pems = await generate([{ name: "commonName", value: "secrets test" }], {
    keyPair: { privateKey: keyPem, publicKey: publicKey.export({ type: "spki", format: "pem" }) as string },
    algorithm: "sha256",
  });
  certPem = pems.cert;
  sim.addApp({ clientId: CERT_APP, certificatePem: certPem });
});
afterAll(async () => {
  await sim?.close();
});

describe("redaction", () => {
  it("scrubs every credential shape from text, log lines and error messages", () => {
    registerSecret("s3cr3t-Value~from.config");
    const samples = [
      "client_secret=s3cr3t-Value~from.config&grant_type=client_credentials",
      "the secret s3cr3t-Value~from.config was rejected",
      `key: ${keyPem}`,
      "grant_type=refresh_token&refresh_token=0.AXoAabcdefghijklmnop-qrstu",
      '{"refresh_token":"0.AXoAabcdefghijklmnop","access_token":"opaque-token-value-123"}',
      `authorization: Bearer ${FAKE_JWT}`,
      "Authorization: Bearer opaqueTokenValue1234567890",
      `token in a url ?access_token=${FAKE_JWT}`,
      `a bare ${FAKE_JWT} in an error body`,
    ];
    // The scanner itself finds each of them unredacted (so a clean result below means something).
    for (const s of samples) expect(findSecrets(s, ["s3cr3t-Value~from.config", keyPem.split("\n")[1]!]).length, s).toBeGreaterThan(0);
    for (const s of samples) expect(findSecrets(redact(s), ["s3cr3t-Value~from.config", keyPem.split("\n")[1]!])).toEqual([]);
    expect(new CollectorError("transient", `upstream said: Bearer ${FAKE_JWT}`).message).not.toContain("eyJ");
    expect(describeError(new Error(`refresh_token=0.AXoAabcdefghijk failed`))).not.toContain("0.AXoA");
    const { logger, lines } = captureLogger("debug");
    logger.error("failed", { body: `{"access_token":"${FAKE_JWT}"}`, error: new Error(`Bearer ${FAKE_JWT}`), key: keyPem });
    expect(findSecrets(lines.join(""), [keyPem.split("\n")[1]!])).toEqual([]);
  });
});

describe("real runs: nothing secret in stdout, stderr or state", () => {
  it("client secret and certificate auth, debug logs, 401s and garbage bodies", async () => {
    const dir = tempDir();
    const keyFile = join(dir, "key.pem");
    writeFileSync(keyFile, keyPem, { mode: 0o600 });
    const common = {
      start: new Date(T0).toISOString(),
      window: 15,
      delay: 0,
      log: { level: "debug" },
      retry: { count: 5, backoff: { initial: 0.01, max: 0.01, jitter: 0 } },
    };
    const secretCfg = writeConfig(dir, simConfigInput(sim, dir, { ...common, state_dir: join(dir, "s1") }), "secret.yaml");
    const certFile = join(dir, "cert.pem");
    writeFileSync(certFile, certPem);
    const certIn = simConfigInput(sim, dir, { ...common, state_dir: join(dir, "s2") });
    certIn.auth = { method: "certificate", client_id: CERT_APP, certificate: { private_key_file: keyFile, certificate_file: certFile } };
    const certCfg = writeConfig(dir, certIn, "cert.yaml");
    const runs: string[] = [];
    for (const cfg of [secretCfg, certCfg]) {
      sim.inject({ route: "graph", kind: "token-expired" });
      sim.inject({ route: "graph", kind: "html-signin" });
      sim.inject({ route: "graph", kind: "500" });
      const r = await runCli(["once", "--config", cfg], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/access token rejected/);
      runs.push(r.stdout, r.stderr);
    }
    // Wrong secret: the error line comes from Entra's error body.
    const bad = simConfigInput(sim, dir, { ...common, state_dir: join(dir, "s3") });
    (bad.auth as Record<string, unknown>).client_secret = "wrong-secret-value-xyz";
    const w = await runCli(["once", "--config", writeConfig(dir, bad, "bad.yaml")], { env });
    expect(w.code).toBe(1);
    runs.push(w.stdout, w.stderr);
    const text = runs.join("\n") + readTree(join(dir, "s1")) + readTree(join(dir, "s2")) + readTree(join(dir, "s3"));
    expect(findSecrets(text, [sim.clientSecret, "wrong-secret-value-xyz", keyPem.split("\n")[1]!])).toEqual([]);
    // Owner-only state.
    expect(statSync(join(dir, "s1")).mode & 0o777).toBe(0o700);
    for (const s of ["s1", "s2"]) for (const f of readdirSync(join(dir, s))) expect(statSync(join(dir, s, f)).mode & 0o777, f).toBe(0o600);
  });
});

describe("TLS verification", () => {
  it("is on by default (an unknown CA fails with one line) and disabling it is loud", async () => {
    const dir = tempDir();
    const input = simConfigInput(sim, dir, {
      start: new Date(T0).toISOString(),
      window: 15,
      delay: 0,
      retry: { count: 0, backoff: { initial: 0.01, max: 0.01, jitter: 0 } },
    });
    delete (input.http as Record<string, unknown>).ca_file;
    const strict = await runCli(["once", "--config", writeConfig(dir, input, "strict.yaml")], { env });
    expect(strict.code).toBe(1);
    expect(strict.stdout).toBe("");
    expect(lastLogMessage(strict.stderr)).toMatch(/^.*(certificate|self.signed|login endpoint)/i);
    (input.http as Record<string, unknown>).insecure = true;
    const loose = await runCli(["once", "--config", writeConfig(dir, input, "insecure.yaml")], { env });
    expect(loose.code, loose.stderr).toBe(0);
    expect(loose.stderr).toMatch(/TLS certificate verification is DISABLED/);
    expect(findSecrets(strict.stderr + loose.stderr, [sim.clientSecret])).toEqual([]);
  });
});
