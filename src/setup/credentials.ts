// The app's credential: a client secret (Graph addPassword, with an expiry) kept in an env file the user
// names (mode 0600, loadable by systemd EnvironmentFile= / docker --env-file), or a key pair whose
// self-signed certificate is uploaded to keyCredentials. The env file's comment line records which
// credential it holds (keyId), so a re-run can tell whether it is still registered and rotation knows
// which one is old. No secret value is ever written anywhere else.
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { generate } from "selfsigned";
import { writeFileAtomic } from "../cursor/atomic.js";
import { CollectorError } from "../errors.js";
import { registerSecret } from "../log/redact.js";
import type { Application } from "./tenant.js";

/** displayName prefix of every credential setup creates (rotation only ever removes these). */
export const CREDENTIAL_NAME = "o365-message-trace";
export const SECRET_ENV = "O365_CLIENT_SECRET";

export interface SecretFile {
  appId?: string;
  keyId?: string;
  secret?: string;
}

export function readSecretFile(file: string): SecretFile | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8");
  const meta = /client secret of app ([0-9a-f-]{36}) \(keyId ([0-9a-f-]{36})/i.exec(text);
  const value = new RegExp(`^${SECRET_ENV}=(.*)$`, "m")
    .exec(text)?.[1]
    ?.trim()
    .replace(/^(['"])(.*)\1$/, "$2");
  if (value) registerSecret(value);
  return { appId: meta?.[1], keyId: meta?.[2], secret: value || undefined };
}

export function secretFileText(appId: string, keyId: string, endDateTime: string, secret: string): string {
  return (
    `# o365-message-trace: client secret of app ${appId} (keyId ${keyId}, expires ${endDateTime}).\n` +
    `# Written by \`o365-message-trace setup\`; renew with \`setup --rotate-secret\`. Keep this file private (0600).\n` +
    `${SECRET_ENV}=${secret}\n`
  );
}

/** Atomic, 0600: a crash leaves the old file or the new one, never a torn or world-readable secret. */
export function writeSecretFile(file: string, text: string): void {
  writeFileAtomic(file, text);
}

/** Is the secret in `file` one of the app's registered, unexpired credentials? */
export function secretStillRegistered(app: Application, file: SecretFile | undefined, now = Date.now()): boolean {
  if (!file?.secret || !file.keyId || file.appId?.toLowerCase() !== app.appId.toLowerCase()) return false;
  const cred = (app.passwordCredentials ?? []).find((c) => c.keyId === file.keyId);
  return !!cred && Date.parse(cred.endDateTime) > now;
}

export function secretDisplayName(now = new Date()): string {
  return `${CREDENTIAL_NAME} (setup ${now.toISOString().slice(0, 10)})`;
}

/** Parse --secret-expiry: days (180), or with unit d/m (months) / y. Entra allows at most 24 months. */
export function expiryDays(text: string): number {
  const m = /^(\d+)\s*([dmy]?)$/i.exec(text.trim());
  const days = m ? Number(m[1]) * ({ "": 1, d: 1, m: 30, y: 365 } as Record<string, number>)[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isFinite(days) || days < 1 || days > 730) {
    throw new CollectorError("config", `--secret-expiry ${text} is not between 1 day and 24 months`, {
      hint: "e.g. --secret-expiry 180d or 12m",
    });
  }
  return days;
}

export interface CertificateFiles {
  keyFile: string;
  certFile: string;
}

/** SHA-1 thumbprint (upper-case hex), as Graph shows it in keyCredentials.customKeyIdentifier. */
export function thumbprintOf(certPem: string): string {
  return createHash("sha1").update(new X509Certificate(certPem).raw).digest("hex").toUpperCase();
}

export function certificateRegistered(app: Application, files: CertificateFiles, now = Date.now()): boolean {
  if (!existsSync(files.keyFile) || !existsSync(files.certFile)) return false;
  const tp = thumbprintOf(readFileSync(files.certFile, "utf8"));
  return (app.keyCredentials ?? []).some((k) => (k.customKeyIdentifier ?? "").toUpperCase() === tp && Date.parse(k.endDateTime) > now);
}

/** A new RSA key (0600) and a self-signed certificate (0644); returns the certificate as base64 DER. */
export async function createCertificate(files: CertificateFiles, subject: string, days: number): Promise<string> {
  const now = new Date();
  const pems = await generate([{ name: "commonName", value: subject }], {
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate: new Date(now.getTime() - 3600_000),
    notAfterDate: new Date(now.getTime() + days * 86400_000),
  });
  registerSecret(pems.private);
  writeFileAtomic(files.keyFile, pems.private);
  writeFileSync(files.certFile, pems.cert, { mode: 0o644 });
  return new X509Certificate(pems.cert).raw.toString("base64");
}
