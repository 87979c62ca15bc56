// `o365-message-trace setup`: sign the administrator in, read the tenant, print the plan, apply only what is
// missing, write the config, then wait (with progress) until the auth check passes. See SETUP_HELP.
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Dispatcher } from "undici";
import { defineCommand } from "../cli/command.js";
import { EXIT_OK } from "../cli/common.js";
import { CLOUDS, type CloudName } from "../config/clouds.js";
import { CollectorError } from "../errors.js";
import { createLogger, type Logger } from "../log/logger.js";
import { registerSecret } from "../log/redact.js";
import { createDispatcher } from "../net/dispatcher.js";
import { configValue, readConfigDocument, renderConfig, writeConfig, type ConfigValues } from "./config-file.js";
import {
  certificateRegistered,
  createCertificate,
  CREDENTIAL_NAME,
  readSecretFile,
  SECRET_ENV,
  secretDisplayName,
  secretFileText,
  secretStillRegistered,
  writeSecretFile,
} from "./credentials.js";
import { signInWithDeviceCode, type AdminSession } from "./device-login.js";
import { GraphApi, PermissionDenied } from "./graph-api.js";
import { SETUP_FLAGS, SETUP_HELP, toSetupOptions, type SetupOptions } from "./options.js";
import { readRecord, writeRecord, type SetupRecord } from "./record.js";
import { adminScopes, requirementsFor } from "./requirements.js";
import { rotateSecret } from "./rotate.js";
import { inspectTenant, planTenant, type Application, type Step, type TenantState } from "./tenant.js";
import { waitUntilWorking } from "./wait.js";

export const EXIT_PENDING = 75;

export interface SetupContext {
  o: SetupOptions;
  logger: Logger;
  dispatcher: Dispatcher;
  env: NodeJS.ProcessEnv;
  say: (line: string) => void;
}

/** Login and Graph hosts for the chosen cloud, with the endpoint flags applied. */
export function hosts(o: SetupOptions): { login: string; graph: string; graphResource: string } {
  const cloud = CLOUDS[(o.cloud ?? "global") as CloudName];
  return { login: o.endpoints.login ?? cloud.login, graph: o.endpoints.graph ?? cloud.graph, graphResource: cloud.graphResource };
}

export async function adminSignIn(c: SetupContext, tenant: string): Promise<{ admin: AdminSession; api: GraphApi }> {
  const h = hosts(c.o);
  const admin = await signInWithDeviceCode({
    loginBase: h.login,
    tenant,
    clientId: c.o.adminClientId,
    dispatcher: c.dispatcher,
    logger: c.logger,
    scopes: adminScopes(requirementsFor(c.o.source)).map((s) => `${h.graphResource}/${s}`),
    prompt: (m) => process.stderr.write(`o365-message-trace setup: ${m}\n`),
  });
  c.say(`signed in as ${admin.username}`);
  return { admin, api: new GraphApi({ base: h.graph, token: admin.token, dispatcher: c.dispatcher }) };
}

/** Run steps in order; a 403 becomes one line naming the Entra role the administrator lacks. */
export async function applySteps(c: SetupContext, steps: Step[], admin: AdminSession): Promise<void> {
  for (const s of steps) {
    try {
      await s.apply();
    } catch (err) {
      if (err instanceof PermissionDenied) {
        throw new CollectorError(
          "permission",
          `the signed-in account ${admin.username} lacks the Entra role ${s.role} (or Global Administrator), needed to ${s.what}`,
          {
            hint: "sign in with an account that has that role, or ask one to run setup; what is already done stays done and a re-run continues from here",
          },
        );
      }
      throw err;
    }
    c.say(`done: ${s.what}`);
  }
}

function credentialSteps(c: SetupContext, state: TenantState, api: GraphApi, fresh: { secret?: string }): Step[] {
  const { o } = c;
  const app = () => state.app as Application;
  if (o.credential === "certificate") {
    const files = { keyFile: `${o.certBase}.key.pem`, certFile: `${o.certBase}.cert.pem` };
    if (state.app && certificateRegistered(state.app, files)) return [];
    return [
      {
        what: `generate a key pair (${files.keyFile}, mode 0600) and upload its self-signed certificate (${files.certFile}, valid ${o.secretDays} days) to the app`,
        role: "Application Administrator (or Cloud Application Administrator)",
        apply: async () => {
          const der = await createCertificate(files, `${CREDENTIAL_NAME} ${app().appId}`, o.secretDays);
          const current = await api.get<Application>(`/applications/${app().id}`);
          // PATCH replaces the collection: name the existing keys by keyId so they stay.
          const keep = (current.keyCredentials ?? []).map((k) => ({ keyId: k.keyId, type: k.type, usage: k.usage }));
          await api.patch(`/applications/${app().id}`, {
            keyCredentials: [...keep, { type: "AsymmetricX509Cert", usage: "Verify", key: der, displayName: `${CREDENTIAL_NAME} (setup)` }],
          });
        },
      },
    ];
  }
  const file = o.secretOut ? readSecretFile(o.secretOut) : undefined;
  if (state.app && secretStillRegistered(state.app, file)) return [];
  if (
    state.app &&
    !o.secretOut &&
    (state.app.passwordCredentials ?? []).some(
      (p) => (p.displayName ?? "").startsWith(CREDENTIAL_NAME) && Date.parse(p.endDateTime) > Date.now(),
    )
  ) {
    c.say(`note: the app already has a client secret made by setup; it is not shown again (use --rotate-secret for a new one)`);
    return [];
  }
  const where = [o.secretOut ? `written to ${o.secretOut} (mode 0600)` : "", o.printSecret ? "printed once on stdout" : ""]
    .filter(Boolean)
    .join(" and ");
  return [
    {
      what: `create a client secret '${secretDisplayName()}' expiring in ${o.secretDays} days, ${where}`,
      role: "Application Administrator (or Cloud Application Administrator)",
      apply: async () => {
        const end = new Date(Date.now() + o.secretDays * 86400_000).toISOString();
        const cred = await api.post<{ keyId: string; secretText: string; endDateTime: string }>(`/applications/${app().id}/addPassword`, {
          passwordCredential: { displayName: secretDisplayName(), endDateTime: end },
        });
        registerSecret(cred.secretText);
        fresh.secret = cred.secretText;
        if (o.secretOut) writeSecretFile(o.secretOut, secretFileText(app().appId, cred.keyId, cred.endDateTime, cred.secretText));
        if (o.printSecret) process.stdout.write(`${SECRET_ENV}=${cred.secretText}\n`);
      },
    },
  ];
}

function configValues(o: SetupOptions, tenant: string, clientId: string): ConfigValues {
  return {
    tenant_id: tenant,
    source: o.source,
    cloud: o.cloud,
    endpoints: o.endpoints,
    ca_file: o.caFile,
    auth:
      o.credential === "certificate"
        ? {
            method: "certificate",
            client_id: clientId,
            certificate: { private_key_file: `${o.certBase}.key.pem`, certificate_file: `${o.certBase}.cert.pem` },
          }
        : { method: "client_secret", client_id: clientId },
  };
}

async function setupTenant(c: SetupContext): Promise<number> {
  const { o } = c;
  const doc = readConfigDocument(o.configOut);
  const tenant = o.tenant ?? configValue(doc, ["tenant_id"]);
  if (!tenant)
    throw new CollectorError("config", "setup needs --tenant", {
      hint: "pass --tenant with your tenant id or verified domain (e.g. contoso.onmicrosoft.com)",
    });
  if (o.credential === "secret" && !o.secretOut && !o.printSecret) {
    throw new CollectorError("config", "say where the new client secret goes", {
      hint: "add --secret-out FILE (an env file, mode 0600) and/or --print-secret",
    });
  }
  const { admin, api } = await adminSignIn(c, tenant);
  const org = (await api.get<{ value?: Array<{ id: string; displayName: string }> }>("/organization")).value?.[0];
  if (org) c.say(`tenant: ${org.displayName} (${org.id})`);
  const target = {
    req: requirementsFor(o.source),
    displayName: o.appName,
    clientId: o.clientId ?? configValue(doc, ["auth", "client_id"]),
  };
  const state = await inspectTenant(api, target);
  const fresh: { secret?: string } = {};
  const steps = [...(await planTenant(api, target, state)), ...credentialSteps(c, state, api, fresh)];
  const configStep: Step = {
    what: `write the config ${o.configOut}`,
    role: "none",
    apply: async () => writeConfig(o.configOut, renderConfig(o.configOut, configValues(o, tenant, state.app!.appId), o.secretOut).text),
  };
  if (!state.app || renderConfig(o.configOut, configValues(o, tenant, state.app.appId), o.secretOut).changed) steps.push(configStep);

  c.say(
    steps.length
      ? `plan for tenant ${tenant} (source ${o.source}):`
      : `nothing to change: tenant ${tenant} is set up for source ${o.source} (app ${state.app!.appId})`,
  );
  for (const s of steps) c.say(`  - ${s.what}`);
  if (o.dryRun) {
    c.say("dry run: nothing was changed");
    return EXIT_OK;
  }
  await applySteps(c, steps, admin);
  const record: SetupRecord = { tenant, source: o.source, client_id: state.app!.appId, credential: o.credential };
  if (o.secretOut) record.secret_file = o.secretOut;
  writeRecord(o.configOut, record);
  const secret = fresh.secret ?? (o.secretOut ? readSecretFile(o.secretOut)?.secret : undefined) ?? c.env[SECRET_ENV];
  if (o.credential === "secret" && !secret) {
    c.say(
      `skipping the auth check: the secret was shown only once; set ${SECRET_ENV} and run: o365-message-trace auth-test --config ${o.configOut}`,
    );
    return EXIT_OK;
  }
  return waitAndReport(c, record, secret);
}

export async function waitAndReport(c: SetupContext, record: SetupRecord, secret: string | undefined, since?: number): Promise<number> {
  const { o } = c;
  const env = { ...c.env, ...(secret ? { [SECRET_ENV]: secret } : {}) };
  c.say(`checking that collection works (auth check against tenant ${record.tenant})…`);
  const r = await waitUntilWorking({ configFile: o.configOut, env, logger: c.logger, intervalMs: o.pollMs, limitMs: o.waitMs, since });
  if (r.ok) {
    writeRecord(o.configOut, { ...record, waiting_since: undefined, waiting_for: undefined });
    if (r.checks > 1) c.say(`waited ${Math.round(r.waitedMs / 1000)}s (${r.checks} checks) for Microsoft to finish provisioning`);
    c.say(`ready: ${r.message}`);
    const load = record.secret_file ? `load ${record.secret_file} into the environment, then ` : "";
    c.say(`next: ${load}o365-message-trace once --config ${o.configOut}`);
    return EXIT_OK;
  }
  const waitingSince = new Date(since ?? Date.now() - r.waitedMs).toISOString();
  writeRecord(o.configOut, { ...record, waiting_since: waitingSince, waiting_for: r.waitingFor });
  c.say(`not ready yet: still waiting for ${r.waitingFor}. Everything else is done.`);
  c.say(`run later (no sign-in needed): o365-message-trace setup --resume --config-out ${o.configOut}`);
  return EXIT_PENDING;
}

async function resume(c: SetupContext): Promise<number> {
  const record = readRecord(c.o.configOut);
  if (!record || !existsSync(c.o.configOut)) {
    throw new CollectorError("config", `nothing to resume: no setup record for ${c.o.configOut}`, {
      hint: "run setup without --resume first (pass the same --config-out)",
    });
  }
  const secret = record.secret_file ? readSecretFile(record.secret_file)?.secret : c.env[SECRET_ENV];
  if (record.credential === "secret" && !secret)
    throw new CollectorError("config", `no client secret to check with`, {
      hint: `set ${SECRET_ENV} (the secret was only printed) or keep the --secret-out file`,
    });
  const since = record.waiting_since ? Date.parse(record.waiting_since) : undefined;
  return waitAndReport(c, record, secret, since);
}

async function runSetup(o: SetupOptions): Promise<number> {
  const logger = createLogger({ level: "warn" });
  // An existing config's endpoints, CA, cloud and proxy apply unless a flag says otherwise.
  const doc = readConfigDocument(o.configOut);
  const configured = doc?.getIn(["source", "type"]) ?? configValue(doc, ["source"]);
  if (configured === o.source) (o.endpoints as Record<string, string | undefined>)[o.source] ??= configValue(doc, ["source", "endpoint"]);
  for (const k of ["login", "graph", "rws"] as const) o.endpoints[k] ??= configValue(doc, ["endpoints", k]);
  const ca = configValue(doc, ["http", "ca_file"]);
  o.caFile ??= ca ? resolve(dirname(o.configOut), ca) : undefined;
  o.cloud ??= configValue(doc, ["cloud"]);
  const proxyUrl = configValue(doc, ["http", "proxy", "url"]);
  const proxy = proxyUrl
    ? {
        url: proxyUrl,
        username: configValue(doc, ["http", "proxy", "username"]),
        password: process.env.O365_PROXY_PASSWORD ?? configValue(doc, ["http", "proxy", "password"]),
        no_proxy: configValue(doc, ["http", "proxy", "no_proxy"]),
      }
    : undefined;
  const dispatcher = createDispatcher({ caFile: o.caFile, proxy, logger });
  try {
    const c: SetupContext = { o, logger, dispatcher, env: process.env, say: (line) => process.stdout.write(`${line}\n`) };
    if (o.resume) return await resume(c);
    if (o.rotate) return await rotateSecret(c);
    return await setupTenant(c);
  } finally {
    await dispatcher.close().catch(() => {});
  }
}

export const command = defineCommand({
  name: "setup",
  help: SETUP_HELP,
  options: SETUP_FLAGS,
  run: (values) => runSetup(toSetupOptions(values)),
});
