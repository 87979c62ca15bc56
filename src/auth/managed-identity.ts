// Managed identity (Azure VM / App Service / Functions / Arc…) through msal-node's ManagedIdentityApplication:
// no secret at all; msal finds the platform's token endpoint from the environment (IDENTITY_ENDPOINT +
// IDENTITY_HEADER on App Service, IMDS on VMs). Our network client carries the proxy/CA settings.
import type { ManagedIdentityApplication, ManagedIdentityConfiguration } from "@azure/msal-node";
import { CollectorError } from "../errors.js";
import { registerSecret } from "../log/redact.js";
import { classifyAuthError } from "./errors.js";
import type { AuthContext } from "./descriptor.js";
import { loadMsal, msalSystemOptions, type TokenProvider } from "./provider.js";

export class ManagedIdentityProvider implements TokenProvider {
  readonly method = "managed_identity";
  private readonly msalConfig: ManagedIdentityConfiguration;
  private app?: Promise<ManagedIdentityApplication>;

  constructor(ctx: AuthContext) {
    const id = ctx.options.managed_identity_client_id;
    this.msalConfig = {
      ...(id ? { managedIdentityIdParams: { userAssignedClientId: id } } : {}),
      system: msalSystemOptions(ctx),
    };
  }

  async getToken(scope: string, opts: { force?: boolean } = {}): Promise<string> {
    // Managed identity speaks v1 "resource", not v2 scopes.
    const resource = scope.replace(/\/\.default$/i, "");
    try {
      // msal is loaded at the first token (cold start: see provider.ts); a failure to build it is classified below.
      this.app ??= loadMsal().then((m) => new m.ManagedIdentityApplication(this.msalConfig));
      const res = await (await this.app).acquireToken({ resource, forceRefresh: !!opts.force });
      if (!res?.accessToken) throw new CollectorError("auth", "the managed identity endpoint returned no access token", {});
      registerSecret(res.accessToken);
      return res.accessToken;
    } catch (err) {
      const e = err as { errorCode?: string; message?: string };
      if (/unable_to_create_source|managed_identity_unavailable|invalid_managed_identity/i.test(`${e?.errorCode} ${e?.message}`)) {
        throw new CollectorError("config", `no managed identity is available here (${e.errorCode ?? e.message})`, {
          hint: "run on an Azure host with a managed identity enabled, or use client_secret/certificate",
          cause: err,
        });
      }
      throw classifyAuthError(err);
    }
  }
}
