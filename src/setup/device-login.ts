// The administrator's sign-in for `setup`: msal-node's device code flow (works over SSH and in containers),
// with every request through our undici dispatcher (proxy, CA, the simulator). msal-node stops polling on
// `slow_down` (RFC 8628 §3.5), so the network layer below honours it: wait 5 s longer and poll again.
import { LogLevel, PublicClientApplication, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from "@azure/msal-node";
import type { Dispatcher } from "undici";
import { classifyAuthError, explainDiscoveryFailure } from "../auth/errors.js";
import { UndiciNetworkClient } from "../auth/network-client.js";
import { CollectorError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { registerSecret } from "../log/redact.js";
import { httpRequest } from "../net/request.js";
import { sleep } from "./graph-api.js";

const MICROSOFT_LOGIN_HOSTS = new Set([
  "login.microsoftonline.com",
  "login.microsoftonline.us",
  "login.chinacloudapi.cn",
  "login.microsoft.com",
]);

/** Adds RFC 8628 slow_down handling to a network module: the token poll is repeated after a longer pause. */
export class SlowDownNetworkClient implements INetworkModule {
  private extraMs = 0;
  /** Set when the device authorization endpoint refused (msal reports it only as a network error). */
  refused?: DeviceCodeRefused;
  constructor(
    private readonly inner: INetworkModule,
    private readonly stepMs = 5000,
    private readonly maxRetries = 10,
  ) {}

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.inner.sendGetRequestAsync<T>(url, options, timeout);
  }

  async sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    for (let i = 0; ; i++) {
      const res = await this.inner.sendPostRequestAsync<T>(url, options);
      // msal reads the device code answer without checking for an error (it would print "undefined").
      const e = res.body as { error?: string; error_description?: string } | undefined;
      if (/\/devicecode(\?|$)/.test(url) && e?.error) throw (this.refused = new DeviceCodeRefused(e.error, e.error_description ?? ""));
      if ((res.body as { error?: string } | undefined)?.error !== "slow_down" || i >= this.maxRetries) return res;
      this.extraMs += this.stepMs;
      await sleep(this.extraMs);
    }
  }
}

/** The device authorization endpoint refused the request (unknown client, bad scope, tenant). */
export class DeviceCodeRefused extends Error {
  constructor(
    readonly errorCode: string,
    readonly errorMessage: string,
  ) {
    super(`${errorCode}: ${errorMessage}`);
  }
}

export interface AdminSession {
  /** The signed-in administrator (user principal name). */
  username: string;
  token: () => Promise<string>;
}

export interface DeviceLoginOptions {
  loginBase: string;
  tenant: string;
  clientId: string;
  /** Full scope strings, e.g. https://graph.microsoft.com/Application.ReadWrite.All. */
  scopes: string[];
  dispatcher: Dispatcher;
  logger: Logger;
  /** Where the code and URL go (stderr). */
  prompt: (message: string) => void;
  slowDownStepMs?: number;
}

export async function signInWithDeviceCode(o: DeviceLoginOptions): Promise<AdminSession> {
  const host = new URL(o.loginBase).host;
  const authority = `${o.loginBase.replace(/\/+$/, "")}/${o.tenant}`;
  const net = new SlowDownNetworkClient(new UndiciNetworkClient(o.dispatcher, 60_000), o.slowDownStepMs);
  const app = new PublicClientApplication({
    auth: {
      clientId: o.clientId,
      authority,
      ...(MICROSOFT_LOGIN_HOSTS.has(host) ? {} : { knownAuthorities: [host] }),
    },
    system: {
      networkClient: net,
      loggerOptions: {
        logLevel: LogLevel.Warning,
        piiLoggingEnabled: false,
        loggerCallback: (_l, message) => o.logger.debug("msal", { detail: message }),
      },
    },
  });
  let result;
  try {
    result = await app.acquireTokenByDeviceCode({ scopes: o.scopes, deviceCodeCallback: (r) => o.prompt(r.message) });
  } catch (err) {
    const text = net.refused?.message ?? `${(err as { errorCode?: string }).errorCode ?? ""} ${(err as Error).message ?? ""}`;
    if (/authorization_declined|AADSTS70000\b/.test(text))
      throw new CollectorError("auth", "the administrator declined the sign-in", { hint: "run setup again and approve the sign-in" });
    if (/expired_token|device_code_expired|AADSTS70019/i.test(text))
      throw new CollectorError("auth", "the device code expired before anyone signed in (15 minutes)", {
        hint: "run setup again and enter the code promptly",
      });
    if (/AADSTS700016|AADSTS7000218|unauthorized_client/.test(text)) {
      throw new CollectorError("auth", `the sign-in app ${o.clientId} cannot be used for a device code sign-in in tenant ${o.tenant}`, {
        hint: "pass --admin-client-id with a public client app that allows the device code flow in your tenant",
      });
    }
    if (net.refused) throw classifyAuthError(net.refused);
    // An unknown or malformed tenant shows only as a failed metadata fetch; ask the login host why.
    throw await explainDiscoveryFailure(err, authority, (url) => httpRequest(url, { dispatcher: o.dispatcher, timeoutMs: 30_000 }));
  }
  if (!result?.accessToken) throw new CollectorError("auth", "the device code sign-in returned no access token", {});
  registerSecret(result.accessToken);
  const account = result.account;
  let current = result;
  return {
    username: account?.username || "the signed-in administrator",
    token: async () => {
      // Renew five minutes before expiry (a slow run, a long plan).
      if (account && current.expiresOn && current.expiresOn.getTime() - Date.now() < 300_000) {
        current = (await app.acquireTokenSilent({ account, scopes: o.scopes, forceRefresh: true })) ?? current;
        registerSecret(current.accessToken);
      }
      return current.accessToken;
    },
  };
}
