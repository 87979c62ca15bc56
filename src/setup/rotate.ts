// `setup --rotate-secret`: add a new client secret, stage it beside the env file (FILE.new, 0600), prove it
// works with the auth check, atomically replace the env file, and only then remove the old secret. A crash
// at any point leaves the env file holding a registered secret: before the replace it is the old one (still
// registered), after it the new one (verified). A re-run picks up a staged secret instead of adding another,
// and removes leftovers of interrupted rotations (only credentials setup itself created).
import { existsSync, renameSync, rmSync } from "node:fs";
import { CollectorError } from "../errors.js";
import { registerSecret } from "../log/redact.js";
import { applySteps, adminSignIn, EXIT_PENDING, type SetupContext } from "./command.js";
import { configValue, readConfigDocument, writeConfig } from "./config-file.js";
import {
  CREDENTIAL_NAME,
  readSecretFile,
  SECRET_ENV,
  secretDisplayName,
  secretFileText,
  secretStillRegistered,
  writeSecretFile,
  type SecretFile,
} from "./credentials.js";
import { odataString } from "./graph-api.js";
import { readRecord } from "./record.js";
import type { Application } from "./tenant.js";
import { waitUntilWorking } from "./wait.js";
import { EXIT_OK } from "../cli/common.js";

/** Test hook: O365MT_SETUP_CRASH_AFTER=add|stage|verify|promote kills the process right after that step. */
function crashPoint(env: NodeJS.ProcessEnv, name: string): void {
  if (env.O365MT_SETUP_CRASH_AFTER === name) process.kill(process.pid, "SIGKILL");
}

export async function rotateSecret(c: SetupContext): Promise<number> {
  const { o } = c;
  const doc = readConfigDocument(o.configOut);
  if (!doc)
    throw new CollectorError("config", `no config at ${o.configOut}`, {
      hint: "run setup first, or pass the collector's config with --config-out",
    });
  const tenant = o.tenant ?? configValue(doc, ["tenant_id"]);
  const clientId = configValue(doc, ["auth", "client_id"]);
  if (!tenant || !clientId)
    throw new CollectorError("config", `${o.configOut} has no tenant_id or auth.client_id`, { hint: "run setup first" });
  if ((configValue(doc, ["auth", "method"]) ?? "client_secret") !== "client_secret") {
    throw new CollectorError(
      "config",
      `${o.configOut} does not use a client secret (auth.method ${configValue(doc, ["auth", "method"])})`,
      { hint: "--rotate-secret is for auth.method client_secret" },
    );
  }
  const secretFile = o.secretOut ?? readRecord(o.configOut)?.secret_file;
  if (!secretFile)
    throw new CollectorError("config", "--rotate-secret needs the env file that holds the secret", {
      hint: "pass --secret-out FILE (the file the collector loads O365_CLIENT_SECRET from)",
    });
  const staged = `${secretFile}.new`;
  const current = readSecretFile(secretFile);
  const inlineSecret = configValue(doc, ["auth", "client_secret"]) !== undefined;

  c.say(`plan for rotating the client secret of app ${clientId}:`);
  c.say(
    existsSync(staged)
      ? `  - finish an interrupted rotation: verify the secret staged in ${staged}`
      : `  - add a new client secret '${secretDisplayName()}' expiring in ${o.secretDays} days; stage it in ${staged} (0600)`,
  );
  c.say(`  - check it works (auth check), then replace ${secretFile}${inlineSecret ? ` and auth.client_secret in ${o.configOut}` : ""}`);
  c.say(`  - only then remove the old secret${current?.keyId ? ` (keyId ${current.keyId})` : ""} and leftovers of interrupted rotations`);
  if (o.dryRun) {
    c.say("dry run: nothing was changed");
    return EXIT_OK;
  }
  const { admin, api } = await adminSignIn(c, tenant);
  const [found] = await api.list<Application>("/applications", `appId eq ${odataString(clientId)}`);
  if (!found)
    throw new CollectorError("config", `no app registration with client id ${clientId} in tenant ${tenant}`, {
      hint: "check auth.client_id in the config",
    });
  const app: Application = found;

  let next: SecretFile | undefined = existsSync(staged) ? readSecretFile(staged) : undefined;
  if (next && !secretStillRegistered(app, next)) {
    rmSync(staged, { force: true }); // staged but never registered or already removed: start over
    next = undefined;
  }
  const step = (what: string, apply: () => Promise<void>) =>
    applySteps(c, [{ what, role: "Application Administrator (or Cloud Application Administrator)", apply }], admin);
  if (!next) {
    await step(`add a new client secret to app ${clientId} and stage it in ${staged}`, async () => {
      const end = new Date(Date.now() + o.secretDays * 86400_000).toISOString();
      const cred = await api.post<{ keyId: string; secretText: string; endDateTime: string }>(`/applications/${app.id}/addPassword`, {
        passwordCredential: { displayName: secretDisplayName(), endDateTime: end },
      });
      registerSecret(cred.secretText);
      crashPoint(c.env, "add");
      writeSecretFile(staged, secretFileText(app.appId, cred.keyId, cred.endDateTime, cred.secretText));
      next = { appId: app.appId, keyId: cred.keyId, secret: cred.secretText };
      crashPoint(c.env, "stage");
    });
  }
  const fresh = next!;
  c.say(`verifying the new secret (keyId ${fresh.keyId}) with the auth check…`);
  const env = { ...c.env, [SECRET_ENV]: fresh.secret };
  const r = await waitUntilWorking({ configFile: o.configOut, env, logger: c.logger, intervalMs: o.pollMs, limitMs: o.waitMs });
  if (!r.ok) {
    c.say(`the new secret does not work yet (waiting for ${r.waitingFor}); ${secretFile} still holds the old one, which still works`);
    c.say(`run \`o365-message-trace setup --rotate-secret --config-out ${o.configOut}\` again later to finish`);
    return EXIT_PENDING;
  }
  crashPoint(c.env, "verify");
  renameSync(staged, secretFile); // atomic: the collector sees the old file or the new one
  if (inlineSecret) {
    doc.setIn(["auth", "client_secret"], fresh.secret);
    writeConfig(o.configOut, doc.toString());
  }
  c.say(`done: ${secretFile} now holds the new secret (keyId ${fresh.keyId})`);
  crashPoint(c.env, "promote");

  const now = await api.get<Application>(`/applications/${app.id}`);
  const old = (now.passwordCredentials ?? []).filter(
    (p) => p.keyId !== fresh.keyId && (p.keyId === current?.keyId || (p.displayName ?? "").startsWith(CREDENTIAL_NAME)),
  );
  for (const p of old) {
    await step(`remove the old client secret keyId ${p.keyId} (${p.displayName ?? "no name"})`, async () => {
      await api.post(`/applications/${app.id}/removePassword`, { keyId: p.keyId });
    });
  }
  c.say(`rotated: the collector's secret is new and verified; restart long-running collectors so they load ${secretFile}`);
  return EXIT_OK;
}
