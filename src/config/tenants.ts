// Many tenants in one config: `tenants:` (a list) and/or `tenants_dir:` (one small YAML file per tenant), each
// entry a tenant's own keys (tenant_id, auth, optionally source and any collection key) over the shared
// defaults at the top level. Expanded here into one validated Config per tenant; a config without `tenants`
// is a fleet of one and loads exactly as loadConfig does. Errors name the entry: `tenants[3] "contoso"`.
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import * as z from "zod/mini";
import { CollectorError } from "../errors.js";
import { closest } from "../text/closest.js";
import { owns, resolveShard, type Shard } from "../fleet/shard.js";
import {
  envOverrides,
  interpolate,
  loadConfig,
  normaliseSource,
  resolvePaths,
  secretFromFile,
  setPath,
  validateConfig,
  type LoadOptions,
} from "./load.js";
import type { Config } from "./schema.js";

export interface TenantConfig {
  /** Stable name: the state directory under state_dir, the `tenant` label, the shard key. */
  name: string;
  config: Config;
}

export interface FleetConfig {
  /** Whether the file lists tenants (each then gets state_dir/<name>/); false: the classic single-tenant file. */
  multi: boolean;
  /** Every tenant of the file, in file order. */
  all: TenantConfig[];
  /** The tenants this replica owns (all of them without `shard`). */
  tenants: TenantConfig[];
  shard?: Shard;
  /** Cycles running at the same time (`tenant_concurrency`). */
  concurrency: number;
  /** `/healthz` is healthy while any / all tenants are (`tenant_health`). */
  health: "any" | "all";
  /** One tenant's cycle is abandoned (and retried on its own schedule) after this many seconds. */
  cycleTimeoutSeconds: number;
}

/** Top-level keys that describe the fleet, not a tenant. */
const fleetSchema = z.strictObject({
  tenants: z.optional(z.array(z.record(z.string(), z.unknown()))),
  tenants_dir: z.optional(z.string().check(z.minLength(1))),
  tenant_concurrency: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(1000)), 8),
  tenant_health: z._default(z.enum(["any", "all"]), "any"),
  tenant_cycle_timeout: z._default(z.number().check(z.minimum(1), z.maximum(86400)), 900),
  shard: z.optional(
    z.strictObject({
      index: z.optional(z.number().check(z.int(), z.minimum(0))),
      count: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(10000))),
    }),
  ),
});
const FLEET_KEYS = Object.keys(fleetSchema.shape);
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

/** `over` on top of `base`: maps merge key by key, anything else replaces. A different source type replaces the section. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    const otherSource = k === "source" && isMap(b) && isMap(v) && v.type !== undefined && v.type !== b.type;
    out[k] = isMap(b) && isMap(v) && !otherSource ? merge(b, v) : v;
  }
  return out;
}

/** `{tenant}` in the sink section (forward tag, HTTP URL) becomes the tenant's name. */
function placeTenant(value: unknown, name: string): unknown {
  if (typeof value === "string") return value.replaceAll("{tenant}", name);
  if (Array.isArray(value)) return value.map((v) => placeTenant(v, name));
  if (isMap(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, placeTenant(v, name)]));
  return value;
}

function configError(message: string, hint: string): CollectorError {
  return new CollectorError("config", message, { hint });
}

function readYamlMap(file: string, what: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, "utf8")) ?? {};
  } catch (err) {
    throw configError(`${what}: cannot read ${file}: ${(err as Error).message.split("\n")[0]}`, "fix the file or remove it");
  }
  if (!isMap(raw)) throw configError(`${what}: ${file} must be a mapping of keys`, "see the tenants example in README.md");
  return raw;
}

/** The file's tenants, with where each came from (for messages). */
type Entry = { where: string; raw: Record<string, unknown>; defaultName?: string };

function entries(fleet: z.infer<typeof fleetSchema>, baseDir: string): Entry[] {
  const out: Entry[] = [];
  (fleet.tenants ?? []).forEach((raw, i) => out.push({ where: `tenants[${i}]`, raw }));
  if (fleet.tenants_dir) {
    const dir = isAbsolute(fleet.tenants_dir) ? fleet.tenants_dir : resolve(baseDir, fleet.tenants_dir);
    let files: string[];
    try {
      files = readdirSync(dir)
        .filter((f) => /\.ya?ml$/i.test(f))
        .sort();
    } catch (err) {
      throw configError(
        `tenants_dir ${dir} cannot be read: ${(err as Error).message}`,
        "create it or fix the path (relative paths are relative to the config file)",
      );
    }
    for (const f of files)
      out.push({ where: `tenants_dir/${f}`, raw: readYamlMap(join(dir, f), `tenants_dir/${f}`), defaultName: basename(f, extname(f)) });
  }
  return out;
}

/** Load a config file as a fleet: every tenant's validated Config, the fleet options, and this replica's share. */
export function loadFleet(file: string, opts: LoadOptions = {}): FleetConfig {
  const env = opts.env ?? process.env;
  const baseDir = dirname(resolve(file));
  // Parse once for the fleet keys; a file without them is the classic single-tenant config, loaded unchanged.
  const top = readYamlMap(file, file);
  if (!FLEET_KEYS.some((k) => k in top)) {
    const config = loadConfig(file, { ...opts, overrides: { ...opts.overrides } });
    const one = { name: config.tenant_id, config };
    return { multi: false, all: [one], tenants: [one], concurrency: 1, health: "all", cycleTimeoutSeconds: 900 };
  }
  const fleetRaw: Record<string, unknown> = {};
  const defaults: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(top)) (FLEET_KEYS.includes(k) ? fleetRaw : defaults)[k] = v;
  const parsed = fleetSchema.safeParse(fleetRaw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw configError(
      `${file}: ${issue.path.map(String).join(".") || "(fleet keys)"}: ${issue.message}`,
      "see the tenants example in README.md",
    );
  }
  const fleet = parsed.data;
  for (const [name, path] of envOverrides()) {
    const v = env[name];
    if (v !== undefined && v !== "" && name !== "O365_TENANT_ID") setPath(defaults, path, v);
  }
  // Old flat source keys (page_size, endpoints.graph, …) go into `source:` on each side before the merge: after
  // it, an entry's old key would lose against the defaults' nested one and be ignored.
  const shared = normaliseSource(defaults, { keepOtherSources: true });
  const sharedType = (shared.source as Record<string, unknown> | undefined)?.type as string | undefined;
  const list = entries(fleet, baseDir);
  if (list.length === 0) throw configError(`${file}: tenants is empty (and tenants_dir has no .yaml files)`, "list at least one tenant");
  const seen = new Map<string, string>();
  const all: TenantConfig[] = [];
  for (const { where: at, raw, defaultName } of list) {
    const entry = normaliseSource(raw, { defaultType: sharedType, keepOtherSources: true });
    const name = String(entry.name ?? defaultName ?? entry.tenant_id ?? "");
    delete entry.name;
    const where = `${file}: ${at}${name ? ` ${JSON.stringify(name)}` : ""}`;
    if (entry.tenant_id === undefined) throw configError(`${where}: tenant_id is missing`, "give every tenant entry its own tenant_id");
    if (!NAME_RE.test(name))
      throw configError(
        `${where}: name ${JSON.stringify(name)} is not usable as a directory name`,
        "use letters, digits, '.', '_' or '-' (set `name:` on the entry)",
      );
    if (seen.has(name.toLowerCase()))
      throw configError(
        `${where}: the name ${JSON.stringify(name)} is used by ${seen.get(name.toLowerCase())} too`,
        "give each tenant a unique `name:`",
      );
    seen.set(name.toLowerCase(), at);
    let data = merge(shared, entry);
    try {
      data = interpolate(data, env, "") as Record<string, unknown>;
    } catch (err) {
      throw configError(`${where}: ${(err as Error).message}`, (err as CollectorError).hint ?? "");
    }
    secretFromFile(data, baseDir, where);
    if (isMap(data.sink)) data.sink = placeTenant(data.sink, name);
    for (const [dotted, v] of Object.entries(opts.overrides ?? {})) setPath(data, dotted.split("."), v);
    const config = resolvePaths(validateConfig(data, where), baseDir);
    config.state_dir = join(config.state_dir, name);
    all.push({ name, config });
  }
  const shard = resolveShard(fleet.shard, env);
  return {
    multi: true,
    all,
    tenants: all.filter((t) => owns(shard, t.name)),
    shard,
    concurrency: fleet.tenant_concurrency,
    health: fleet.tenant_health,
    cycleTimeoutSeconds: fleet.tenant_cycle_timeout,
  };
}

/**
 * The one tenant a single-tenant command (backfill, get-events, auth-test) works on: `--tenant NAME|ID`, by
 * name or tenant_id (any case), among every tenant of the file (a replica may backfill a tenant it does not
 * own: the tenant's lock keeps two writers apart). Without it, a file with one tenant means that one.
 */
export function pickTenant(fleet: FleetConfig, wanted: string | undefined, command: string): TenantConfig {
  const names = fleet.all.map((t) => t.name);
  const listed = names.length > 10 ? `${names.slice(0, 10).join(", ")}, … (${names.length} in all)` : names.join(", ");
  if (wanted === undefined) {
    if (fleet.all.length === 1) return fleet.all[0]!;
    throw configError(
      `${command}: the config lists ${fleet.all.length} tenants; say which one with --tenant NAME`,
      `e.g. o365-message-trace ${command} --tenant ${names[0]} … (tenants: ${listed}; a tenant_id works too)`,
    );
  }
  const w = wanted.toLowerCase();
  const hit = fleet.all.find((t) => t.name.toLowerCase() === w) ?? fleet.all.find((t) => t.config.tenant_id.toLowerCase() === w);
  if (hit) return hit;
  const near = closest(wanted, names);
  throw configError(
    `--tenant ${wanted}: no tenant of this name or tenant_id in the config`,
    near ? `did you mean --tenant ${near}? (tenants: ${listed})` : `tenants: ${listed}`,
  );
}
