// Token acquisition through @azure/msal-node. msal caches app tokens and renews them before expiry;
// `force` skips the cache after a 401 (token revoked or expired mid-paging). Methods are listed in ./registry.ts.
import { readFileSync, existsSync } from "node:fs";
import { X509Certificate } from "node:crypto";
// msal-node is about 120 modules and ~100 ms of CPU to load: it is imported at the first token request, so a
// `once` with nothing due never loads it (docs/performance.md, cold start). Types only here.
import type { ConfidentialClientApplication, Configuration, LogLevel, NodeSystemOptions } from "@azure/msal-node";
import type { Dispatcher } from "undici";
import type { AuthOptions } from "./options.js";
import { CollectorError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { registerSecret } from "../log/redact.js";
import { explainDiscoveryFailure } from "./errors.js";
import { httpRequest } from "../net/request.js";
import { UndiciNetworkClient } from "./network-client.js";
import type { AuthContext } from "./descriptor.js";

export interface TokenProvider {
  /** A bearer token for `scope` (e.g. https://graph.microsoft.com/.default). */
  getToken(scope: string, opts?: { force?: boolean }): Promise<string>;
  /** Which method, for diagnostics. */
  readonly method: string;
}

export interface AuthDeps {
  dispatcher: Dispatcher;
  logger: Logger;
  /** Login host base, e.g. https://login.microsoftonline.com (cloud default or endpoints.login). */
  loginBase: string;
  env?: NodeJS.ProcessEnv;
}

/** msal's `LogLevel.Warning` (a numeric enum), without loading msal to read it. */
const MSAL_WARNING = 1 as LogLevel;

/** msal-node, loaded once on first use. */
export const loadMsal = (): Promise<typeof import("@azure/msal-node")> => import("@azure/msal-node");

const MICROSOFT_LOGIN_HOSTS = new Set([
  "login.microsoftonline.com",
  "login.microsoftonline.us",
  "login.chinacloudapi.cn",
  "login.microsoft.com",
]);

/** Network (our undici dispatcher: proxy, CA) and logging (debug, no PII) for every msal application. */
export function msalSystemOptions(ctx: AuthContext): NodeSystemOptions {
  return {
    networkClient: new UndiciNetworkClient(ctx.dispatcher, ctx.timeoutMs || 60_000),
    loggerOptions: {
      logLevel: MSAL_WARNING,
      piiLoggingEnabled: false,
      loggerCallback: (_level, message) => ctx.logger.debug("msal", { detail: message }),
    },
  };
}

/** msal configuration shared by every confidential-client method. */
export function msalBaseConfig(ctx: AuthContext): Configuration {
  const authority = `${ctx.loginBase.replace(/\/+$/, "")}/${ctx.tenantId}`;
  const host = new URL(ctx.loginBase).host;
  return {
    auth: {
      clientId: requireClientId(ctx.options),
      authority,
      // A non-Microsoft login host (sovereign override, simulator) is trusted explicitly, which also makes
      // msal read its metadata from the authority itself instead of the public instance-discovery endpoint.
      ...(MICROSOFT_LOGIN_HOSTS.has(host) ? {} : { knownAuthorities: [host] }),
    },
    system: msalSystemOptions(ctx),
  };
}

function requireClientId(options: AuthOptions): string {
  const id = options.client_id;
  if (!id) {
    throw new CollectorError("config", "auth.client_id is missing", {
      hint: "set auth.client_id (the application (client) id of your app registration) or O365_CLIENT_ID",
    });
  }
  return id;
}

function readPem(file: string, what: string): string {
  if (!existsSync(file)) throw new CollectorError("config", `${what} file ${file} does not exist`, { hint: `fix auth.certificate paths` });
  return readFileSync(file, "utf8");
}

/** Credentials for client-secret or certificate auth (`method`: which of the two). */
export function clientCredential(
  options: AuthOptions,
  method: "client_secret" | "certificate",
  env: NodeJS.ProcessEnv,
): Pick<Configuration["auth"], "clientSecret" | "clientCertificate"> {
  if (method === "client_secret") {
    const secret = options.client_secret;
    if (!secret) {
      throw new CollectorError("config", "auth.client_secret is missing", {
        hint: "export O365_CLIENT_SECRET=… (preferred) or set auth.client_secret",
      });
    }
    return { clientSecret: secret };
  }
  const cert = options.certificate;
  const keyPem = env.O365_CERT_PRIVATE_KEY || (cert?.private_key_file ? readPem(cert.private_key_file, "private key") : undefined);
  if (!keyPem) {
    throw new CollectorError("config", "auth.certificate.private_key_file is missing", {
      hint: "point it at the PEM private key of the certificate uploaded to the app registration (or set O365_CERT_PRIVATE_KEY)",
    });
  }
  registerSecret(keyPem);
  let thumbprint = cert?.thumbprint?.replace(/:/g, "");
  let thumbprintSha256 = cert?.thumbprint_sha256?.replace(/:/g, "");
  let x5c: string | undefined;
  if (cert?.certificate_file) {
    const pem = readPem(cert.certificate_file, "certificate");
    const x509 = new X509Certificate(pem);
    thumbprint ??= x509.fingerprint.replace(/:/g, "");
    thumbprintSha256 ??= x509.fingerprint256.replace(/:/g, "");
    if (cert.send_x5c) x5c = pem;
  }
  if (!thumbprint && !thumbprintSha256) {
    throw new CollectorError("config", "auth.certificate needs thumbprint_sha256, thumbprint or certificate_file", {
      hint: "give the certificate file, or its thumbprint as shown in the app registration",
    });
  }
  return {
    clientCertificate: {
      privateKey: keyPem,
      ...(thumbprintSha256 ? { thumbprintSha256 } : { thumbprint }),
      ...(x5c ? { x5c } : {}),
    },
  };
}

export class ConfidentialClientProvider implements TokenProvider {
  readonly method: string;
  private readonly authority: string;
  private readonly msalConfig: Configuration;
  private app?: Promise<ConfidentialClientApplication>;

  private readonly deps: AuthDeps;

  constructor(ctx: AuthContext, method: "client_secret" | "certificate") {
    this.method = method;
    this.deps = ctx;
    const base = msalBaseConfig(ctx);
    this.authority = base.auth.authority!;
    // Credentials are checked here (a config error fails at start); msal itself is built at the first token.
    this.msalConfig = { ...base, auth: { ...base.auth, ...clientCredential(ctx.options, method, ctx.env ?? process.env) } };
  }

  async getToken(scope: string, opts: { force?: boolean } = {}): Promise<string> {
    try {
      this.app ??= loadMsal().then((m) => new m.ConfidentialClientApplication(this.msalConfig));
      const res = await (await this.app).acquireTokenByClientCredential({ scopes: [scope], skipCache: !!opts.force });
      if (!res?.accessToken) throw new CollectorError("auth", "the login endpoint returned no access token", {});
      registerSecret(res.accessToken);
      return res.accessToken;
    } catch (err) {
      throw await explainDiscoveryFailure(err, this.authority, (url) =>
        httpRequest(url, { dispatcher: this.deps.dispatcher, timeoutMs: 30_000 }),
      );
    }
  }
}
