// Auth methods get a narrow context, not the whole Config: the `auth:` section, the tenant, the timeout, and
// only the extras their descriptor declares (auth_code: the state dir and the source's scope).
import { afterAll, describe, expect, it } from "vitest";
import { validateConfig } from "../src/config/load.js";
import { silentLogger } from "../src/log/logger.js";
import { createDispatcherFor, authContext } from "../src/runtime.js";

const base = { tenant_id: "contoso.onmicrosoft.com", state_dir: "/tmp/state", http: { timeout: 30 } };

describe("the composition root builds each auth method's narrow context", () => {
  const dispatcher = createDispatcherFor(validateConfig(base), { logger: silentLogger });
  const deps = { dispatcher, logger: silentLogger, loginBase: "https://login.example.test" };
  afterAll(() => dispatcher.close());

  it("client_secret sees its options, tenant and timeout, never the state dir or the source", () => {
    const ctx = authContext(validateConfig({ ...base, auth: { client_id: "app", client_secret: "s" } }), deps);
    expect(Object.keys(ctx).sort()).toEqual(["dispatcher", "logger", "loginBase", "options", "tenantId", "timeoutMs"]);
    expect(ctx).toMatchObject({
      tenantId: "contoso.onmicrosoft.com",
      timeoutMs: 30_000,
      options: { method: "client_secret", client_id: "app" },
    });
  });

  it("auth_code gets the state dir and the configured source's scope, which its descriptor asks for", () => {
    const graph = authContext(validateConfig({ ...base, auth: { method: "auth_code", client_id: "app", client_secret: "s" } }), deps);
    expect(graph).toMatchObject({ stateDir: "/tmp/state", sourceScope: "https://graph.microsoft.com/.default" });
    const rws = authContext(
      validateConfig({ ...base, source: "rws", auth: { method: "auth_code", client_id: "app", client_secret: "s" } }),
      deps,
    );
    expect(rws.sourceScope).toBe("https://outlook.office365.com/.default");
  });
});
