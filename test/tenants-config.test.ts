// Issue 17: a config with `tenants:` / `tenants_dir:` expands into one validated Config per tenant.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { loadFleet } from "../src/config/tenants.js";
import { CollectorError } from "../src/errors.js";
import { tempDir } from "./helpers/harness.js";

const A = "00000000-0000-4000-8000-00000000000a";
const B = "00000000-0000-4000-8000-00000000000b";

function write(dir: string, doc: Record<string, unknown>, name = "c.yaml"): string {
  const file = join(dir, name);
  writeFileSync(file, stringify(doc));
  return file;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CollectorError);
    expect((err as CollectorError).kind).toBe("config");
    return (err as Error).message;
  }
  throw new Error("expected a config error");
}

describe("tenants config", () => {
  it("merges each entry over the shared defaults, each with its own secret, state directory and sink tag", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "b.secret"), "secret-of-b\n");
    const file = write(dir, {
      window: 30,
      delay: 10,
      auth: { method: "client_secret" },
      state_dir: "st",
      sink: { type: "forward", forward: { host: "127.0.0.1", port: 24224, tag: "o365.{tenant}" } },
      tenant_concurrency: 3,
      tenants: [
        { name: "contoso", tenant_id: A, auth: { client_id: "app-a", client_secret: "${O365_SECRET_CONTOSO}" } },
        {
          name: "fabrikam",
          tenant_id: B,
          auth: { client_id: "app-b", client_secret_file: "b.secret" },
          window: 15,
          source: { type: "rws" },
        },
      ],
    });
    const fleet = loadFleet(file, { env: { O365_SECRET_CONTOSO: "secret-of-a" } });
    expect(fleet.multi).toBe(true);
    expect(fleet.concurrency).toBe(3);
    const [a, b] = fleet.tenants.map((t) => t.config);
    expect(a!.auth.client_secret).toBe("secret-of-a");
    expect(b!.auth.client_secret).toBe("secret-of-b");
    expect([a!.window, b!.window, a!.delay, b!.delay]).toEqual([30, 15, 10, 10]);
    expect([a!.source.type, b!.source.type]).toEqual(["graph", "rws"]);
    expect(a!.state_dir).toBe(join(dir, "st", "contoso"));
    expect(b!.state_dir).toBe(join(dir, "st", "fabrikam"));
    expect((a!.sink.forward as { tag: string }).tag).toBe("o365.contoso");
    expect((b!.sink.forward as { tag: string }).tag).toBe("o365.fabrikam");
  });

  it("an entry's old-form source keys override the shared defaults' new form (and the reverse), each for its own source", () => {
    const dir = tempDir();
    const file = write(dir, {
      auth: { method: "client_secret", client_secret: "s" },
      source: { type: "graph", endpoint: "https://graph.shared.example", page_size: 100 },
      endpoints: { rws: "https://rws.shared.example" },
      tenants: [
        { name: "old-keys", tenant_id: A, auth: { client_id: "a" }, endpoints: { graph: "https://graph.a.example" }, page_size: 500 },
        { name: "new-keys", tenant_id: B, auth: { client_id: "b" }, source: { page_size: 250 } },
        {
          name: "other-source",
          tenant_id: A.replace("a", "c"),
          auth: { client_id: "c" },
          source: "rws",
          endpoints: { rws: "https://rws.c.example" },
        },
        { name: "shared-rws", tenant_id: A.replace("a", "d"), auth: { client_id: "d" }, source: "rws" },
      ],
    });
    const [a, b, c, d] = loadFleet(file, { env: {} }).tenants.map((t) => t.config.source as Record<string, unknown>);
    expect(a).toMatchObject({ type: "graph", endpoint: "https://graph.a.example", page_size: 500 });
    expect(b).toMatchObject({ type: "graph", endpoint: "https://graph.shared.example", page_size: 250 });
    expect(c).toMatchObject({ type: "rws", endpoint: "https://rws.c.example" });
    expect(d).toMatchObject({ type: "rws", endpoint: "https://rws.shared.example" });
  });

  it("reads one small file per tenant from tenants_dir (the file name is the tenant's name)", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "tenants.d"));
    write(join(dir, "tenants.d"), { tenant_id: A, auth: { client_id: "x", client_secret: "s1" } }, "alpha.yaml");
    write(join(dir, "tenants.d"), { tenant_id: B, auth: { client_id: "y", client_secret: "s2" }, max_windows_per_run: 2 }, "beta.yml");
    writeFileSync(join(dir, "tenants.d", "README.txt"), "ignored");
    const fleet = loadFleet(write(dir, { tenants_dir: "tenants.d", max_windows_per_run: 7 }), { env: {} });
    expect(fleet.tenants.map((t) => [t.name, t.config.tenant_id, t.config.max_windows_per_run])).toEqual([
      ["alpha", A, 7],
      ["beta", B, 2],
    ]);
  });

  it("a config without tenants is a fleet of one, loaded unchanged", () => {
    const dir = tempDir();
    const fleet = loadFleet(write(dir, { tenant_id: A, auth: { client_id: "x", client_secret: "s" }, state_dir: "st" }), { env: {} });
    expect(fleet.multi).toBe(false);
    expect(fleet.tenants).toHaveLength(1);
    expect(fleet.tenants[0]!.config.state_dir).toBe(join(dir, "st"));
  });

  it("one-line errors name the tenant entry", () => {
    const dir = tempDir();
    const base = { tenant_id: A, auth: { client_id: "x", client_secret: "s" } };
    expect(
      errorOf(() =>
        loadFleet(
          write(dir, {
            tenants: [base, { ...base, name: "two", tenant_id: B, auth: { client_id: "y", client_secret: "${O365_SECRET_TWO}" } }],
          }),
          { env: {} },
        ),
      ),
    ).toMatch(/tenants\[1\] "two": auth\.client_secret refers to \$\{O365_SECRET_TWO\}, which is not set/);
    expect(errorOf(() => loadFleet(write(dir, { tenants: [{ ...base, name: "one", windoww: 5 }] }), { env: {} }))).toMatch(
      /tenants\[0\] "one": .*"windoww" \(did you mean "window"\?\)/,
    );
    expect(errorOf(() => loadFleet(write(dir, { tenants: [{ ...base, name: "one", window: 0 }] }), { env: {} }))).toMatch(
      /tenants\[0\] "one": window = 0/,
    );
    expect(errorOf(() => loadFleet(write(dir, { tenants: [base, { ...base }] }), { env: {} }))).toMatch(
      /tenants\[1\] .* is used by tenants\[0\] too/,
    );
    expect(errorOf(() => loadFleet(write(dir, { tenants: [{ auth: base.auth, name: "x" }] }), { env: {} }))).toMatch(
      /tenants\[0\] "x": tenant_id is missing/,
    );
    expect(errorOf(() => loadFleet(write(dir, { tenants: [{ ...base, name: "../up" }] }), { env: {} }))).toMatch(
      /not usable as a directory name/,
    );
    expect(
      errorOf(() => loadFleet(write(dir, { tenants: [{ ...base, auth: { client_id: "x", client_secret_file: "nope" } }] }), { env: {} })),
    ).toMatch(/client_secret_file .*nope cannot be read: ENOENT/);
    expect(errorOf(() => loadFleet(write(dir, { tenants: [] }), { env: {} }))).toMatch(/tenants is empty/);
    expect(errorOf(() => loadFleet(write(dir, { tenants: [base], tenant_concurrency: 0 }), { env: {} }))).toMatch(/tenant_concurrency/);
  });

  it("assigns tenants by shard from the config or the environment (pod ordinal)", () => {
    const dir = tempDir();
    const tenants = Array.from({ length: 12 }, (_, i) => ({
      name: `t${i}`,
      tenant_id: `tenant${i}.onmicrosoft.com`,
      auth: { client_id: "x", client_secret: "s" },
    }));
    const owned = (env: NodeJS.ProcessEnv, shard?: object) =>
      loadFleet(write(dir, { tenants, ...(shard ? { shard } : {}) }), { env }).tenants.map((t) => t.name);
    const byConfig = [0, 1, 2].map((index) => owned({}, { index, count: 3 }));
    expect(byConfig.flat().sort()).toEqual(tenants.map((t) => t.name).sort());
    expect(owned({ O365_SHARD_COUNT: "3", O365_SHARD_INDEX: "1" })).toEqual(byConfig[1]);
    expect(owned({ POD_NAME: "o365mt-2" }, { count: 3 })).toEqual(byConfig[2]);
    expect(errorOf(() => owned({ HOSTNAME: "box" }, { count: 3 }))).toMatch(/no shard index/);
    expect(errorOf(() => owned({ O365_SHARD_INDEX: "3", O365_SHARD_COUNT: "3" }))).toMatch(/not within 0…2/);
  });

  it("the example conf/o365-message-trace-tenants.yaml loads as documented (with its tenants_dir)", () => {
    const dir = tempDir();
    const root = join(__dirname, "..");
    writeFileSync(join(dir, "fabrikam.secret"), "secret-of-fabrikam\n");
    const text = readFileSync(join(root, "conf/o365-message-trace-tenants.yaml"), "utf8")
      .replace("/run/secrets/fabrikam", join(dir, "fabrikam.secret"))
      .replace("# tenants_dir: ./tenants.d", `tenants_dir: ${join(root, "conf/tenants.d")}`);
    const file = join(dir, "fleet.yaml");
    writeFileSync(file, text);
    const fleet = loadFleet(file, { env: { O365_SECRET_CONTOSO: "a", O365_SECRET_NORTHWIND: "n" } });
    expect(fleet.all.map((t) => t.name)).toEqual(["contoso", "fabrikam", "northwind"]);
    expect([fleet.concurrency, fleet.health, fleet.cycleTimeoutSeconds]).toEqual([8, "any", 900]);
    const [c, f, n] = fleet.all.map((t) => t.config);
    expect([c!.auth.client_secret, f!.auth.client_secret, n!.auth.client_secret]).toEqual(["a", "secret-of-fabrikam", "n"]);
    expect([c!.source.type, f!.source.type, f!.delay]).toEqual(["graph", "rws", 15]);
    expect((f!.sink as unknown as { forward: { tag: string } }).forward.tag).toBe("o365.message_trace.fabrikam");
    expect(n!.state_dir).toBe("/var/lib/o365mt/northwind");
  });
});
