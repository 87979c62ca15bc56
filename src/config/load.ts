// Load YAML config, apply env overrides for secrets, normalise the old flat source keys, validate, and turn
// the first problem into one clear line. Which option of a component is a path, a secret or an env override
// is asked of its descriptor (sources, sinks, auth methods), never listed here.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { z } from "zod/mini";
import { authMethods } from "../auth/registry.js";
import { CollectorError } from "../errors.js";
import { registerSecret } from "../log/redact.js";
import { sinkDescriptors } from "../sinks/registry.js";
import { sourceDescriptors } from "../sources/registry.js";
import { closest } from "../text/closest.js";
import { configSchema, type Config } from "./schema.js";

/** Env vars that override shared config keys; secrets should come from here rather than the file. */
const CORE_ENV_OVERRIDES: Array<[string, string[]]> = [
  ["O365_TENANT_ID", ["tenant_id"]],
  ["O365_CLIENT_ID", ["auth", "client_id"]],
  ["O365_CLIENT_SECRET", ["auth", "client_secret"]],
  ["O365_PROXY_PASSWORD", ["http", "proxy", "password"]],
  ["O365_STATE_DIR", ["state_dir"]],
  ["O365_LOG_LEVEL", ["log", "level"]],
  ["O365_LOG_FORMAT", ["log", "format"]],
  ["O365_METRICS_LISTEN", ["metrics", "listen"]],
];

/** Every env override: the shared ones, then each sink's (`sink.<kind>.…`). */
export function envOverrides(): Array<[string, string[]]> {
  const out = [...CORE_ENV_OVERRIDES];
  for (const d of sinkDescriptors()) for (const [name, path] of d.envOverrides ?? []) out.push([name, ["sink", d.kind, ...path]]);
  return out;
}

export function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    if (typeof cur[key] !== "object" || cur[key] === null) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

function getPath(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** `${NAME}` in any string value is replaced by the env var; a missing var is a config error naming it. */
export function interpolate(value: unknown, env: NodeJS.ProcessEnv, where: string): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined) {
        throw new CollectorError("config", `${where} refers to \${${name}}, which is not set in the environment`, {
          hint: `export ${name}=… or write the value in the file`,
        });
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, `${where}[${i}]`));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, where ? `${where}.${k}` : k);
    return out;
  }
  return value;
}

const SECRET_KEYS = /(secret|password|shared_key|private_key|token)$/i;

/** Values that must not be echoed back in a validation message. */
function showValue(path: PropertyKey[], value: unknown): string {
  if (SECRET_KEYS.test(String(path[path.length - 1] ?? ""))) return "[hidden]";
  if (value === undefined) return "missing";
  const s = JSON.stringify(value);
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}

/** Remove the value at `path` from `obj` and return it; the objects along the path are copied, never changed. */
function takePath(obj: Record<string, unknown>, path: string[]): { found: boolean; value?: unknown } {
  const [key, ...rest] = path as [string, ...string[]];
  if (!Object.prototype.hasOwnProperty.call(obj, key)) return { found: false };
  if (rest.length === 0) {
    const value = obj[key];
    delete obj[key];
    return { found: true, value };
  }
  const child = obj[key];
  if (!child || typeof child !== "object" || Array.isArray(child)) return { found: false };
  const copy = { ...(child as Record<string, unknown>) };
  obj[key] = copy;
  return takePath(copy, rest);
}

/**
 * The older config forms in the nested one: `source: graph` and top-level `page_size`, `format` (flat form),
 * `endpoints.graph`, `endpoints.rws`, `endpoints.graph_version` (endpoints before they moved into their
 * source) become `source: {type: graph, page_size: …, endpoint: …}`. Which old key belongs to which source is
 * in its descriptor (`legacyKeys`). An old key of another source than the chosen one was ignored before and is
 * dropped; a key given both ways keeps the nested value. `defaultType`: the source when none is named (a
 * tenant entry's is the shared defaults'); `keepOtherSources` leaves other sources' old keys where they are
 * (shared tenant defaults: an entry may choose that other source).
 */
export function normaliseSource(
  raw: Record<string, unknown>,
  { defaultType = sourceDescriptors()[0]!.kind, keepOtherSources = false }: { defaultType?: string; keepOtherSources?: boolean } = {},
): Record<string, unknown> {
  const out = { ...raw };
  const given = out.source;
  const section: Record<string, unknown> =
    typeof given === "string"
      ? { type: given }
      : given && typeof given === "object" && !Array.isArray(given)
        ? { ...(given as Record<string, unknown>) }
        : {};
  if (given !== undefined && typeof given !== "string" && (typeof given !== "object" || given === null || Array.isArray(given))) return out;
  section.type ??= defaultType;
  for (const d of sourceDescriptors()) {
    if (keepOtherSources && d.kind !== section.type) continue;
    for (const [oldPath, key] of Object.entries(d.legacyKeys ?? {})) {
      const old = takePath(out, oldPath.split("."));
      if (old.found && d.kind === section.type && !(key in section)) section[key] = old.value;
    }
  }
  out.source = section;
  return out;
}

/** The keys a schema accepts at `path` (for "did you mean"), looking through defaults, optionals and unions. */
function keysAt(schema: z.core.$ZodType, path: PropertyKey[]): string[] {
  type Schema = z.core.$ZodType;
  type Def = { type: string; innerType?: Schema; shape?: Record<string, Schema>; options?: Schema[]; in?: Schema };
  const def = (s: Schema) => (s as unknown as { _zod: { def: Def } })._zod.def;
  let nodes: Schema[] = [schema];
  const unwrap = (list: Schema[]): Schema[] =>
    list.flatMap((s) => {
      const d = def(s);
      if (d.innerType) return unwrap([d.innerType]);
      if (d.options) return unwrap(d.options);
      if (d.in) return unwrap([d.in]);
      return [s];
    });
  for (const key of path) nodes = unwrap(unwrap(nodes).flatMap((s) => (def(s).shape?.[String(key)] ? [def(s).shape![String(key)]!] : [])));
  return unwrap(nodes).flatMap((s) => Object.keys(def(s).shape ?? {}));
}

/** An unknown source kind, named the way it was written (`source: x` or `source.type: x`), with the closest kind. */
function checkSourceKind(input: Record<string, unknown>, raw: Record<string, unknown>, where: string): void {
  const kind = (raw.source as { type?: unknown } | undefined)?.type;
  const kinds = sourceDescriptors().map((d) => d.kind);
  if (typeof kind !== "string" || kinds.includes(kind)) return;
  const key = typeof input.source === "string" ? "source" : "source.type";
  const guess = closest(kind, kinds);
  throw new CollectorError(
    "config",
    `${where}: ${key} = ${JSON.stringify(kind)}: Invalid option: expected one of ${kinds.map((k) => JSON.stringify(k)).join("|")}${guess ? ` (did you mean "${guess}"?)` : ""}`,
    {
      hint: "fix that key (see conf/o365-message-trace.yaml for every key, its default and range)",
    },
  );
}

export function validateConfig(input: unknown, where = "config"): Config {
  const isMap = input && typeof input === "object" && !Array.isArray(input);
  const raw = isMap ? normaliseSource(input as Record<string, unknown>) : input;
  if (isMap) checkSourceKind(input as Record<string, unknown>, raw as Record<string, unknown>, where);
  const schema = configSchema();
  const result = schema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = issue.path.map(String).join(".") || "(top level)";
  const value = getPath(raw, issue.path);
  let detail = issue.message;
  if (issue.code === "unrecognized_keys") {
    detail = `unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    const known = keysAt(schema, issue.path);
    const guess = issue.keys.length === 1 ? closest(issue.keys[0]!, known) : undefined;
    if (guess) detail += ` (did you mean "${guess}"?)`;
  }
  const more = result.error.issues.length > 1 ? ` (+${result.error.issues.length - 1} more problem(s))` : "";
  if (issue.code === "invalid_type" && value === undefined) {
    // A required key that is absent: say so plainly, and where it can come from.
    const env = envOverrides().find(([, path]) => path.join(".") === key)?.[0];
    throw new CollectorError("config", `${where}: ${key} is missing${more}`, {
      hint: `add ${key}: ${key === "tenant_id" ? "<tenant GUID or contoso.onmicrosoft.com>" : "…"} to ${where}${env ? ` (or set ${env})` : ""}`,
    });
  }
  const shown = issue.code === "unrecognized_keys" ? "" : ` = ${showValue(issue.path, value)}`;
  throw new CollectorError("config", `${where}: ${key}${shown}: ${detail}${more}`, {
    hint: "fix that key (see conf/o365-message-trace.yaml for every key, its default and range)",
  });
}

/**
 * auth.client_secret_file: the secret from a file (a mounted Kubernetes or Docker secret), relative to the
 * config file; replaces auth.client_secret. O365_CLIENT_SECRET, applied after, still wins.
 */
export function secretFromFile(data: Record<string, unknown>, baseDir: string, where: string): void {
  const auth = data.auth;
  if (!auth || typeof auth !== "object" || Array.isArray(auth)) return;
  const a = auth as Record<string, unknown>;
  if (a.client_secret_file === undefined) return;
  const file = String(a.client_secret_file);
  const path = isAbsolute(file) ? file : resolve(baseDir, file);
  delete a.client_secret_file;
  let secret: string;
  try {
    secret = readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new CollectorError(
      "config",
      `${where}: auth.client_secret_file ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        hint: "mount the secret there or fix the path (relative paths are relative to the config file)",
      },
    );
  }
  if (!secret)
    throw new CollectorError("config", `${where}: auth.client_secret_file ${path} is empty`, {
      hint: "write the client secret into it (one line)",
    });
  a.client_secret = secret;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Overrides applied after the file (CLI flags), as dotted paths. */
  overrides?: Record<string, unknown>;
}

export function loadConfig(file: string, opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CollectorError("config", `cannot read config file ${file}: ${(err as Error).message}`, {
      hint: "pass an existing file with --config",
    });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    const e = err as { message: string; linePos?: Array<{ line: number; col: number }> };
    const pos = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "";
    throw new CollectorError("config", `${file}: not valid YAML${pos}: ${e.message.split("\n")[0]}`, {
      hint: "fix the YAML syntax",
    });
  }
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new CollectorError("config", `${file}: the top level must be a mapping of keys`, {
      hint: "see conf/o365-message-trace.yaml",
    });
  }
  const data = interpolate(raw, env, "") as Record<string, unknown>;
  secretFromFile(data, dirname(resolve(file)), file);
  for (const [name, path] of envOverrides()) {
    const v = env[name];
    if (v !== undefined && v !== "") setPath(data, path, v);
  }
  for (const [dotted, v] of Object.entries(opts.overrides ?? {})) setPath(data, dotted.split("."), v);
  const config = validateConfig(data, file);
  return resolvePaths(config, dirname(resolve(file)));
}

/** Each component's option sections with the paths (inside them) its descriptor declares. */
function componentFields(config: Config, which: "pathFields" | "secretFields"): Array<[Record<string, unknown>, readonly string[]]> {
  const out: Array<[Record<string, unknown>, readonly string[]]> = [];
  const add = (section: unknown, fields: readonly string[][] | undefined) => {
    if (section && typeof section === "object") for (const f of fields ?? []) out.push([section as Record<string, unknown>, f]);
  };
  // Every method's and sink's fields, not only the chosen one's: what the file holds is resolved and hidden alike.
  for (const d of authMethods()) add(config.auth, d[which]);
  for (const d of sinkDescriptors()) add(config.sink[d.kind], d[which]);
  for (const d of sourceDescriptors()) if (d.kind === config.source.type) add(config.source, d[which]);
  return out;
}

/** Relative paths in the file are relative to the file, so a shipper can start us from any directory. */
export function resolvePaths(config: Config, baseDir: string): Config {
  const abs = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(baseDir, p));
  config.state_dir = abs(config.state_dir)!;
  if (config.http.ca_file) config.http.ca_file = abs(config.http.ca_file);
  for (const [section, path] of componentFields(config, "pathFields")) {
    const parent = getPath(section, path.slice(0, -1)) as Record<string, unknown> | undefined;
    const leaf = path[path.length - 1]!;
    if (parent && typeof parent === "object" && leaf in parent) parent[leaf] = abs(parent[leaf] as string | undefined);
  }
  config.log.requests = abs(config.log.requests);
  registerConfigSecrets(config);
  return config;
}

export function registerConfigSecrets(config: Config): void {
  registerSecret(config.http.proxy?.password);
  for (const [section, path] of componentFields(config, "secretFields")) {
    const v = getPath(section, path);
    if (typeof v === "string") registerSecret(v);
  }
  registerSecret(proxyUrlPassword(config.http.proxy?.url));
}

/** The password inside a proxy URL (http://user:password@host), decoded as the dispatcher uses it. */
function proxyUrlPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}
