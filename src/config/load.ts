// Load YAML config, apply env overrides for secrets, validate, and turn the first problem into one clear line.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { CollectorError } from "../errors.js";
import { registerSecret } from "../log/redact.js";
import { configSchema, type Config } from "./schema.js";

/** Env vars that override config keys; secrets should come from here rather than the file. */
export const ENV_OVERRIDES: Array<[string, string[]]> = [
  ["O365_TENANT_ID", ["tenant_id"]],
  ["O365_CLIENT_ID", ["auth", "client_id"]],
  ["O365_CLIENT_SECRET", ["auth", "client_secret"]],
  ["O365_PROXY_PASSWORD", ["http", "proxy", "password"]],
  ["O365_FORWARD_SHARED_KEY", ["sink", "forward", "shared_key"]],
  ["O365_STATE_DIR", ["state_dir"]],
];

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    if (typeof cur[key] !== "object" || cur[key] === null) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

function getPath(obj: unknown, path: PropertyKey[]): unknown {
  let cur = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** `${NAME}` in any string value is replaced by the env var; a missing var is a config error naming it. */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, where: string): unknown {
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

export function validateConfig(raw: unknown, where = "config"): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = issue.path.map(String).join(".") || "(top level)";
  const value = getPath(raw, issue.path);
  let detail = issue.message;
  if (issue.code === "unrecognized_keys") {
    detail = `unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  }
  const more = result.error.issues.length > 1 ? ` (+${result.error.issues.length - 1} more problem(s))` : "";
  const shown = issue.code === "unrecognized_keys" ? "" : ` = ${showValue(issue.path, value)}`;
  throw new CollectorError("config", `${where}: ${key}${shown}: ${detail}${more}`, {
    hint: "fix that key (see conf/o365-message-trace.yaml for every key, its default and range)",
  });
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
  for (const [name, path] of ENV_OVERRIDES) {
    const v = env[name];
    if (v !== undefined && v !== "") setPath(data, path, v);
  }
  for (const [dotted, v] of Object.entries(opts.overrides ?? {})) setPath(data, dotted.split("."), v);
  const config = validateConfig(data, file);
  return resolvePaths(config, dirname(resolve(file)));
}

/** Relative paths in the file are relative to the file, so a shipper can start us from any directory. */
export function resolvePaths(config: Config, baseDir: string): Config {
  const abs = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(baseDir, p));
  config.state_dir = abs(config.state_dir)!;
  if (config.http.ca_file) config.http.ca_file = abs(config.http.ca_file);
  const cert = config.auth.certificate;
  if (cert) {
    cert.private_key_file = abs(cert.private_key_file);
    cert.certificate_file = abs(cert.certificate_file);
  }
  const tls = config.sink.forward?.tls;
  if (tls) {
    tls.ca_file = abs(tls.ca_file);
    tls.cert_file = abs(tls.cert_file);
    tls.key_file = abs(tls.key_file);
  }
  if (config.sink.http?.ca_file) config.sink.http.ca_file = abs(config.sink.http.ca_file);
  registerConfigSecrets(config);
  return config;
}

export function registerConfigSecrets(config: Config): void {
  registerSecret(config.auth.client_secret);
  registerSecret(config.http.proxy?.password);
  registerSecret(config.sink.forward?.shared_key);
  registerSecret(config.sink.forward?.password);
}
