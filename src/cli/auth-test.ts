// `auth-test`: walk the path the collector takes (login host → token → roles → one tiny API query) and say in
// one plain sentence what is wrong, or that collection would work. Exit 0 only in the latter case.
import type { Dispatcher } from "undici";
import { authMethod } from "../auth/registry.js";
import type { Config } from "../config/schema.js";
import { CollectorError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { describeUrl, httpRequest } from "../net/request.js";
import { createTokenProvider, open } from "../runtime.js";
import { sourceDescriptor } from "../sources/registry.js";
import { defineCommand } from "./command.js";
import { clockFromEnv, EXIT_OK, requireConfigPath, setupTenant } from "./common.js";

export const AUTH_TEST_HELP = `Usage: o365-message-trace auth-test --config FILE [--tenant NAME|ID]

Checks, in order: the login endpoint is reachable (proxy, CA) and the tenant exists; the clock agrees with
the server's; a token can be obtained (secret, certificate, app id); the token carries the permission the
configured API needs; and the API answers a query for a 5-minute window. Prints each step, then one
sentence: what is wrong and how to fix it, or that collection would work (exit 0 only then).`;

/** Tokens further apart from the server than this are refused by Entra and the APIs (5 minutes of leeway). */
const MAX_SKEW_MS = 5 * 60_000;

export interface DiagnoseOptions {
  logger: Logger;
  caPem?: string;
  env?: NodeJS.ProcessEnv;
  /** This machine's wall clock (compared with the server's Date header). */
  wallClock?: () => number;
  /** Data-time clock for the tiny query window (O365MT_NOW in subprocess tests). */
  clock?: () => number;
  /** Each step that passed, as a short line. */
  step?: (line: string) => void;
}

export function decodeClaims(token: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) ?? {};
  } catch {
    return {};
  }
}

function proxyInUse(config: Config, env: NodeJS.ProcessEnv): string | undefined {
  return config.http.proxy?.url ?? env.HTTPS_PROXY ?? env.https_proxy ?? undefined;
}

/** A failure to reach the login host, in the words an operator needs: proxy, TLS, or plain network. */
export function networkDiagnosis(err: unknown, url: string, config: Config, env: NodeJS.ProcessEnv): CollectorError {
  const cause = (err as { cause?: { message?: string; code?: string } })?.cause ?? (err as { message?: string; code?: string });
  const text = `${cause?.message ?? ""} ${cause?.code ?? ""} ${(err as Error)?.message ?? ""}`;
  const proxy = proxyInUse(config, env);
  const proxyHost = proxy ? describeUrl(proxy) : undefined;
  if (/407|Proxy Authentication Required/i.test(text)) {
    return new CollectorError("transient", `the proxy ${proxyHost} refused us: it wants credentials (HTTP 407)`, {
      hint: "set http.proxy.username and O365_PROXY_PASSWORD (or user:password in the proxy URL)",
    });
  }
  if (proxy && /Proxy response|HTTP Tunneling|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|socket/i.test(text)) {
    return new CollectorError(
      "transient",
      `the proxy ${proxyHost} failed to connect us to ${new URL(url).host} (${(cause?.message ?? "").slice(0, 120)})`,
      {
        hint: "check http.proxy.url / HTTPS_PROXY, that the proxy allows CONNECT to the Microsoft hosts, and NO_PROXY",
      },
    );
  }
  if (/certificate|self[- ]signed|UNABLE_TO_VERIFY|CERT_/i.test(text)) {
    return new CollectorError("config", `TLS verification of ${new URL(url).host} failed (${(cause?.message ?? "").slice(0, 120)})`, {
      hint: "a TLS-inspecting proxy needs its CA in http.ca_file",
    });
  }
  return new CollectorError(
    "transient",
    `cannot reach the login endpoint ${new URL(url).host} (${(cause?.message ?? String(err)).slice(0, 120)})`,
    {
      hint: "check DNS, firewall and proxy settings (http.proxy, HTTPS_PROXY)",
    },
  );
}

/** Login host reachable, tenant known, clock in agreement with the server. */
async function checkLogin(config: Config, dispatcher: Dispatcher, login: string, opts: DiagnoseOptions): Promise<void> {
  const url = `${login.replace(/\/+$/, "")}/${encodeURIComponent(config.tenant_id)}/v2.0/.well-known/openid-configuration`;
  let res;
  try {
    res = await httpRequest(url, { dispatcher, timeoutMs: Math.min(config.http.timeout * 1000 || 30_000, 30_000) });
  } catch (err) {
    throw networkDiagnosis(err, url, config, opts.env ?? process.env);
  }
  let body: { error_description?: string; token_endpoint?: string };
  try {
    body = JSON.parse(res.body);
  } catch {
    throw new CollectorError("transient", `the login endpoint ${new URL(url).host} answered HTTP ${res.status} with a non-JSON page`, {
      hint: "a proxy or captive portal is intercepting the request; check http.proxy / HTTPS_PROXY",
    });
  }
  if (/AADSTS90002\b/.test(body.error_description ?? "")) {
    throw new CollectorError("auth", `the tenant ${config.tenant_id} was not found (AADSTS90002)`, {
      hint: "check tenant_id (directory GUID or verified domain) and the cloud setting",
    });
  }
  if (/AADSTS900023/.test(body.error_description ?? "")) {
    throw new CollectorError("config", `the tenant id ${config.tenant_id} is malformed (AADSTS900023)`, {
      hint: "set tenant_id to the directory (tenant) GUID or a verified domain",
    });
  }
  if (res.status !== 200 || !body.token_endpoint) {
    throw new CollectorError("transient", `the login endpoint answered HTTP ${res.status} for the tenant's metadata`, {
      hint: "check endpoints.login and the cloud setting",
    });
  }
  const serverTime = Date.parse(res.headers.date ?? "");
  const wall = (opts.wallClock ?? Date.now)();
  if (Number.isFinite(serverTime) && Math.abs(wall - serverTime) > MAX_SKEW_MS) {
    const minutes = Math.round((wall - serverTime) / 60_000);
    throw new CollectorError(
      "config",
      `this machine's clock is ${Math.abs(minutes)} minutes ${minutes > 0 ? "ahead of" : "behind"} the login server's`,
      {
        hint: "tokens and certificate assertions are refused with that much clock skew; sync the clock (NTP / chrony / w32time)",
      },
    );
  }
  opts.step?.(`login endpoint ${new URL(login).host} reachable, tenant found, clock in agreement`);
}

/** The permission the configured API needs, checked in the token before calling it (a clearer message). */
function checkRoles(config: Config, token: string, opts: DiagnoseOptions): string {
  const c = decodeClaims(token);
  const roles = Array.isArray(c.roles) ? c.roles.map(String) : [];
  const scopes = String(c.scp ?? "")
    .split(" ")
    .filter(Boolean);
  const granted = [...roles, ...scopes];
  const api = sourceDescriptor(config.source);
  const need = api.permission;
  if (!granted.includes(need)) {
    const kind = scopes.length > 0 ? "delegated" : "application";
    const roles = (api.directoryRoles ?? []).map((r) => `; also assign the app the Entra role ${r}`).join("");
    throw new CollectorError("permission", `the token has no ${need} permission (it carries: ${granted.join(", ") || "none"})`, {
      hint: `add the ${api.permissionApi} ${kind} permission ${need} to the app registration and grant admin consent${roles}`,
    });
  }
  opts.step?.(`token acquired (${config.auth.method}); it carries ${need}`);
  return need;
}

/** Run every check; resolves with the success sentence, rejects with the CollectorError describing the problem. */
export async function diagnose(config: Config, opts: DiagnoseOptions): Promise<string> {
  const env = opts.env ?? process.env;
  // Step by step: the network first (login host, clock), then the token, then the source on the same dispatcher.
  const net = open(config, { network: true }, { logger: opts.logger, caPem: opts.caPem, env });
  const { dispatcher, endpoints } = net;
  try {
    if (authMethod(config.auth.method).usesLoginEndpoint) await checkLogin(config, dispatcher, endpoints.login, opts);
    const tokens = createTokenProvider(config, { dispatcher, logger: opts.logger, loginBase: endpoints.login, env });
    const resource = endpoints.source.resource;
    let token: string;
    try {
      token = await tokens.getToken(`${resource}/.default`);
    } catch (err) {
      // msal wraps network failures; name the proxy when one is in the way.
      if (err instanceof CollectorError && err.kind === "transient") throw networkDiagnosis(err.cause ?? err, endpoints.login, config, env);
      throw err;
    }
    const need = checkRoles(config, token, opts);
    const side = open(config, { source: true }, { logger: opts.logger, dispatcher, tokens, env });
    const now = (opts.clock ?? Date.now)();
    const end = Math.floor(now / 60_000) * 60_000 - config.delay * 60_000;
    const window = { start: new Date(end - 5 * 60_000), end: new Date(end) };
    let rows = 0;
    for await (const page of side.source.readWindow(window)) {
      rows += page.length;
      break; // one page proves access; no need to read the window out
    }
    await side.close();
    const api = sourceDescriptor(config.source).displayName;
    opts.step?.(`${api} answered for ${window.start.toISOString()} – ${window.end.toISOString()} (${rows} row(s) on the first page)`);
    return `collection would work: ${config.auth.method} sign-in for app ${config.auth.client_id ?? "(managed identity)"} succeeded, the token carries ${need}, and ${api} answered.`;
  } finally {
    await net.close();
  }
}

export const command = defineCommand({
  name: "auth-test",
  help: AUTH_TEST_HELP,
  options: { config: { type: "string", short: "c" }, tenant: { type: "string" } },
  async run(values) {
    const { config, logger } = setupTenant(requireConfigPath(values.config, "auth-test"), values.tenant, "auth-test");
    const ok = await diagnose(config, { logger, clock: clockFromEnv(), step: (line) => process.stdout.write(`ok: ${line}\n`) });
    process.stdout.write(`auth-test: ${ok}\n`);
    return EXIT_OK;
  },
});
