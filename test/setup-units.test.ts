// Issue 16, small parts of `setup`: the config is updated in place (comments and other keys kept, unchanged
// content not rewritten), the secret env file round-trips, durations/expiry parse, slow_down is honoured.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { INetworkModule, NetworkResponse } from "@azure/msal-node";
import { describe, expect, it } from "vitest";
import { renderConfig, writeConfig } from "../src/setup/config-file.js";
import { expiryDays, readSecretFile, secretFileText, secretStillRegistered } from "../src/setup/credentials.js";
import { SlowDownNetworkClient } from "../src/setup/device-login.js";
import { parseDuration, waitingFor } from "../src/setup/wait.js";
import { CollectorError } from "../src/errors.js";
import { requirementsFor } from "../src/setup/requirements.js";
import { sourceDescriptor } from "../src/sources/registry.js";
import { parse as parseYaml } from "yaml";
import { validateConfig } from "../src/config/load.js";
import { tempDir } from "./helpers/harness.js";

const values = { tenant_id: "t1", source: "graph" as const, auth: { method: "client_secret" as const, client_id: "c1" } };

describe("setup config file", () => {
  it("keeps the user's comments and keys, sets only its own, and reports no change the second time", () => {
    const file = join(tempDir(), "c.yaml");
    writeFileSync(file, "# my collector\ndelay: 5   # minutes\nauth:\n  method: client_secret\n  client_id: old\nsink:\n  type: forward\n");
    const first = renderConfig(file, values);
    expect(first.changed).toBe(true);
    writeConfig(file, first.text);
    const text = readFileSync(file, "utf8");
    expect(text).toContain("# my collector");
    expect(text).toContain("delay: 5 # minutes");
    expect(text).toContain("type: forward");
    expect(text).toMatch(/client_id: c1/);
    expect(text).toMatch(/tenant_id: t1/);
    expect(renderConfig(file, values).changed).toBe(false);
  });
});

describe("setup secret file", () => {
  it("round-trips app, keyId and secret; knows whether the credential is still registered", () => {
    const file = join(tempDir(), "s.env");
    const appId = "11111111-2222-3333-4444-555555555555";
    const keyId = "aaaaaaaa-2222-3333-4444-555555555555";
    writeFileSync(file, secretFileText(appId, keyId, "2030-01-01T00:00:00Z", "abc~def.ghi_jkl-mno"));
    const s = readSecretFile(file)!;
    expect(s).toEqual({ appId, keyId, secret: "abc~def.ghi_jkl-mno" });
    const app = {
      id: "x",
      appId,
      displayName: "d",
      passwordCredentials: [{ keyId, displayName: null, endDateTime: "2030-01-01T00:00:00Z" }],
    };
    expect(secretStillRegistered(app, s, Date.parse("2029-01-01"))).toBe(true);
    expect(secretStillRegistered(app, s, Date.parse("2031-01-01"))).toBe(false);
    expect(secretStillRegistered({ ...app, passwordCredentials: [] }, s)).toBe(false);
  });

  it("parses expiry and durations, refusing what Entra would refuse", () => {
    expect(expiryDays("180d")).toBe(180);
    expect(expiryDays("12m")).toBe(360);
    expect(() => expiryDays("3y")).toThrow(/24 months/);
    expect(parseDuration("30m", "--wait")).toBe(1_800_000);
    expect(parseDuration("0.2s", "--wait")).toBe(200);
    expect(() => parseDuration("soon", "--wait")).toThrow(/not a duration/);
  });
});

describe("setup waiting", () => {
  it("waits for provisioning and replication, not for real problems", () => {
    expect(waitingFor(new CollectorError("permission", "x", { code: "ServicePrincipalNotFound" }))).toMatch(
      /provision the Exchange message trace service principal/,
    );
    expect(waitingFor(new CollectorError("auth", "sign-in failed: the client secret is wrong (AADSTS7000215)"))).toMatch(
      /reach Entra's sign-in service/,
    );
    expect(waitingFor(new CollectorError("config", "tenant_id is malformed"))).toBeUndefined();
  });

  it("repeats a token poll answered with slow_down after a longer pause", async () => {
    const answers = [{ error: "slow_down" }, { error: "slow_down" }, { access_token: "t" }];
    let calls = 0;
    const inner: INetworkModule = {
      sendGetRequestAsync: async () => ({ status: 200, headers: {}, body: {} }) as NetworkResponse<never>,
      sendPostRequestAsync: async <T>() => ({ status: 400, headers: {}, body: answers[calls++] as T }),
    };
    const started = Date.now();
    const res = await new SlowDownNetworkClient(inner, 20).sendPostRequestAsync<{ access_token?: string }>("https://x/token");
    expect(res.body.access_token).toBe("t");
    expect(calls).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55); // 20 ms, then 40 ms more
  });
});

describe("setup requirements come from the source descriptors", () => {
  it("graph: its permission, the API that defines it, the message trace service principal; rws: Global Reader", () => {
    const g = requirementsFor("graph");
    expect(g.permission).toBe(sourceDescriptor("graph").permission);
    expect(g.resource).toEqual({ appId: "00000003-0000-0000-c000-000000000000", name: "Microsoft Graph" });
    expect(g.servicePrincipal?.appId).toBe(sourceDescriptor("graph").wellKnownIds?.message_trace_app_id);
    expect(g.directoryRole).toBeUndefined();
    const r = requirementsFor("rws");
    expect(r.resource.name).toBe("Office 365 Exchange Online");
    expect(r.directoryRole).toEqual({ id: "f2ef992c-3afb-46b9-b7cf-a126ee74c451", name: "Global Reader" });
    expect(r.servicePrincipal).toBeUndefined();
  });

  it("keeps a flat `source: graph` as written and nests a new kind", () => {
    const file = join(tempDir(), "c.yaml");
    writeFileSync(file, "tenant_id: t1\nsource: graph\n");
    writeConfig(file, renderConfig(file, values).text);
    expect(readFileSync(file, "utf8")).toMatch(/^source: graph$/m);
    writeConfig(file, renderConfig(file, { ...values, source: "rws" }).text);
    expect(readFileSync(file, "utf8")).toMatch(/^source:\n {2}type: rws$/m);
  });

  it("writes the login host under endpoints and the source's own host as source.endpoint, replacing an old endpoints.<kind>", () => {
    const file = join(tempDir(), "c.yaml");
    writeFileSync(file, "tenant_id: t1\nsource: graph\nendpoints:\n  graph: https://old.example.test\n");
    const endpoints = { login: "https://login.example.test", graph: "https://graph.example.test", rws: "https://rws.example.test/r.svc" };
    writeConfig(file, renderConfig(file, { ...values, endpoints }).text);
    const config = validateConfig(parseYaml(readFileSync(file, "utf8")));
    expect(config.endpoints).toEqual({ login: "https://login.example.test" });
    expect(config.source).toMatchObject({ type: "graph", endpoint: "https://graph.example.test" });
    expect(readFileSync(file, "utf8")).not.toContain("old.example.test");
    writeConfig(file, renderConfig(file, { ...values, source: "rws", endpoints }).text);
    expect(validateConfig(parseYaml(readFileSync(file, "utf8"))).source).toEqual({
      type: "rws",
      format: "json",
      endpoint: "https://rws.example.test/r.svc",
    });
  });
});
