// Authorization-code flow (delegated): `login-url` prints the consent URL, `auth-code CODE` redeems it,
// and from then on msal renews access tokens with the refresh token. msal's token cache (which holds the
// refresh token, rotated on every renewal) is persisted to a 0600 file in the state dir by a cache plugin,
// so the refresh token never appears in config, logs or output. `auth-reset` deletes it.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import type { ConfidentialClientApplication, Configuration, ICachePlugin, TokenCacheContext } from "@azure/msal-node";
import { ensurePrivateDir, writeFileAtomic } from "../cursor/atomic.js";
import { CollectorError } from "../errors.js";
import { registerSecret } from "../log/redact.js";
import { classifyAuthError } from "./errors.js";
import type { AuthContext, InteractiveSignIn } from "./descriptor.js";
import { clientCredential, loadMsal, msalBaseConfig, type TokenProvider } from "./provider.js";

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** Where a tenant's sign-in lives in the state directory: msal's token cache and the pending login-url. */
export function authCodeFiles(stateDir: string, tenantId: string): { cache: string; pending: string } {
  const base = join(stateDir, `${safeName(tenantId)}.auth-code`);
  return { cache: `${base}.token-cache.json`, pending: `${base}.pending.json` };
}

/** msal's serialized cache ⇄ a 0600 file, written atomically (a crash never loses the current refresh token). */
class FileCachePlugin implements ICachePlugin {
  constructor(private readonly file: string) {}

  async beforeCacheAccess(ctx: TokenCacheContext): Promise<void> {
    if (existsSync(this.file)) ctx.tokenCache.deserialize(readFileSync(this.file, "utf8"));
  }

  async afterCacheAccess(ctx: TokenCacheContext): Promise<void> {
    if (!ctx.cacheHasChanged) return;
    ensurePrivateDir(dirname(this.file));
    writeFileAtomic(this.file, ctx.tokenCache.serialize());
  }
}

interface Pending {
  state: string;
  verifier: string;
  redirect_uri: string;
  scope: string;
  created: string;
}

export class AuthCodeProvider implements TokenProvider, InteractiveSignIn {
  readonly method = "auth_code";
  private readonly msalConfig: Configuration;
  private appPromise?: Promise<ConfidentialClientApplication>;
  private readonly files: { cache: string; pending: string };
  private readonly stateDir: string;
  private readonly redirectUri: string;
  /** The delegated scope for the configured API (Graph or the reporting web service resource). */
  private readonly scope: string;

  constructor(ctx: AuthContext) {
    const options = ctx.options;
    if (!options.client_secret && !options.certificate) {
      throw new CollectorError("config", "auth.method auth_code needs the app's client secret or certificate", {
        hint: "set O365_CLIENT_SECRET (or auth.certificate); the app registration must also list auth.redirect_uri as a Web redirect URI",
      });
    }
    if (ctx.stateDir === undefined || ctx.sourceScope === undefined)
      throw new Error("auth_code needs stateDir and sourceScope in its context");
    this.stateDir = ctx.stateDir;
    this.scope = ctx.sourceScope;
    this.redirectUri = options.redirect_uri;
    const base = msalBaseConfig(ctx);
    this.files = authCodeFiles(ctx.stateDir, ctx.tenantId);
    this.msalConfig = {
      ...base,
      auth: { ...base.auth, ...clientCredential(options, options.client_secret ? "client_secret" : "certificate", ctx.env ?? process.env) },
      cache: { cachePlugin: new FileCachePlugin(this.files.cache) },
    };
  }

  /** msal, loaded and built at first use (cold start: see provider.ts). */
  private app(): Promise<ConfidentialClientApplication> {
    return (this.appPromise ??= loadMsal().then((m) => new m.ConfidentialClientApplication(this.msalConfig)));
  }

  /** Step 1: the URL an administrator opens to sign in and consent. PKCE verifier and state are kept (0600) for step 2. */
  async loginUrl(): Promise<string> {
    const { verifier, challenge } = await new (await loadMsal()).CryptoProvider().generatePkceCodes();
    const pending: Pending = {
      state: randomBytes(16).toString("hex"),
      verifier,
      redirect_uri: this.redirectUri,
      scope: this.scope,
      created: new Date().toISOString(),
    };
    const url = await (
      await this.app()
    )
      .getAuthCodeUrl({
        scopes: [pending.scope, "offline_access"],
        redirectUri: pending.redirect_uri,
        codeChallenge: challenge,
        codeChallengeMethod: "S256",
        state: pending.state,
      })
      .catch((err) => {
        throw classifyAuthError(err);
      });
    ensurePrivateDir(this.stateDir);
    writeFileAtomic(this.files.pending, JSON.stringify(pending) + "\n");
    return url;
  }

  /** Step 2: redeem the code (or the whole redirect URL it came back on). Returns the signed-in user. */
  async redeem(codeOrUrl: string): Promise<string> {
    if (!existsSync(this.files.pending)) {
      throw new CollectorError("config", "no sign-in is pending for this tenant", {
        hint: "run `o365-message-trace login-url` first, then open the URL it prints",
      });
    }
    const pending = JSON.parse(readFileSync(this.files.pending, "utf8")) as Pending;
    let code = codeOrUrl.trim();
    if (/^https?:\/\//i.test(code)) {
      const u = new URL(code);
      const err = u.searchParams.get("error");
      if (err)
        throw new CollectorError("auth", `sign-in was refused: ${err} ${u.searchParams.get("error_description") ?? ""}`.trim(), {
          hint: "an administrator must consent; run login-url again",
        });
      if (u.searchParams.get("state") !== pending.state) {
        throw new CollectorError("auth", "the redirect URL does not belong to the last login-url (state mismatch)", {
          hint: "run login-url again and use the URL it leads to",
        });
      }
      code = u.searchParams.get("code") ?? "";
    }
    if (!code)
      throw new CollectorError("config", "no authorization code given", {
        hint: "pass the `code` value from the redirect URL, or the whole URL in quotes",
      });
    registerSecret(code);
    try {
      const res = await (
        await this.app()
      ).acquireTokenByCode({
        code,
        scopes: [pending.scope],
        redirectUri: pending.redirect_uri,
        codeVerifier: pending.verifier,
      });
      if (!res?.account) throw new CollectorError("auth", "the login endpoint returned no account for the code", {});
      registerSecret(res.accessToken);
      rmSync(this.files.pending, { force: true });
      return res.account.username || res.account.homeAccountId;
    } catch (err) {
      throw classifyAuthError(err);
    }
  }

  async getToken(scope: string, opts: { force?: boolean } = {}): Promise<string> {
    const app = await this.app();
    const accounts = await app.getTokenCache().getAllAccounts();
    const account = accounts[0];
    if (!account) {
      throw new CollectorError("auth", "no one has signed in for auth_code yet (no stored refresh token)", {
        hint: "run `o365-message-trace login-url --config FILE`, open the URL, then `o365-message-trace auth-code --config FILE CODE`",
      });
    }
    try {
      // forceRefresh redeems the refresh token (Entra rotates it; the plugin persists the new one).
      const res = await app.acquireTokenSilent({ account, scopes: [scope], forceRefresh: !!opts.force });
      if (!res?.accessToken) throw new CollectorError("auth", "the login endpoint returned no access token", {});
      registerSecret(res.accessToken);
      return res.accessToken;
    } catch (err) {
      throw classifyAuthError(err);
    }
  }
}
