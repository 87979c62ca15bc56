// Logs go to stderr (stdout carries records in exec mode): one JSON object per line (`log.format: json`, the
// default when stderr is not a terminal, so a shipper can parse every line, the fatal one included), or
// one readable line (`log.format: text`, the default on a terminal). pino does the formatting and the
// key-based redaction; every finished line then passes through redact() (src/log/redact.ts), the one place
// that knows secret values and credential shapes. The rest of the code sees only the Logger interface.
import { pino, type Logger as PinoLogger } from "pino";
import { redact } from "./redact.js";
import { renderText } from "./text-format.js";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "json" | "text";
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** json or text; default json when `write` is given or stderr is not a TTY, text on a TTY. */
  format?: LogFormat;
  /** Where lines go; default process.stderr (through the output hook, see setLogOutput). Tests pass a collector. */
  write?: (line: string) => void;
  /** Fields on every line (tenant, source). */
  base?: Record<string, unknown>;
}

/** Structured fields that may hold secrets whatever their value looks like; pino censors them by key. */
const REDACT_PATHS = [
  "client_secret",
  "password",
  "shared_key",
  "refresh_token",
  "access_token",
  "authorization",
  "cookie",
  "set-cookie",
  "*.client_secret",
  "*.password",
  "*.shared_key",
  "*.refresh_token",
  "*.access_token",
  "*.authorization",
  "*.cookie",
  '*["set-cookie"]',
];

let outputHook: ((line: string) => void) | undefined;

/**
 * Route default (stderr) log lines through `hook` while it is set, e.g. a progress bar that prints them
 * above itself; undefined restores plain stderr writes.
 */
export function setLogOutput(hook: ((line: string) => void) | undefined): void {
  outputHook = hook;
}

const toStderr = (line: string) => {
  if (outputHook) outputHook(line);
  else process.stderr.write(line);
};

/** Error values become {name, message}: stacks are noise in a SOC pipeline and can quote secrets. */
function plainFields(fields: Record<string, unknown> | undefined, base: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!fields) return out;
  for (const [k, v] of Object.entries(fields)) {
    if (k in base && base[k] === v) continue; // already on the line (tenant, source)
    out[k] = v instanceof Error ? { name: v.name, message: v.message } : v;
  }
  return out;
}

function wrap(p: PinoLogger, base: Record<string, unknown>): Logger {
  return {
    debug: (m, f) => p.debug(plainFields(f, base), m),
    info: (m, f) => p.info(plainFields(f, base), m),
    warn: (m, f) => p.warn(plainFields(f, base), m),
    error: (m, f) => p.error(plainFields(f, base), m),
    child: (fields) => wrap(p.child(plainFields(fields, base)), { ...base, ...fields }),
  };
}

/**
 * pino writes level, time, bindings, fields, msg; we keep the order this tool has always written (time,
 * level, msg, fields, then tenant and source), which reads better and keeps existing line matchers working.
 */
function ordered(json: string, base: Record<string, unknown>): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const { time, level, msg, ...rest } = entry;
  const tail: Record<string, unknown> = {};
  const out: Record<string, unknown> = { time, level, msg };
  for (const [k, v] of Object.entries(rest)) (k in base ? tail : out)[k] = v;
  return JSON.stringify(Object.assign(out, tail));
}

export function defaultLogFormat(stream: { isTTY?: boolean } = process.stderr): LogFormat {
  return stream.isTTY ? "text" : "json";
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const write = opts.write ?? toStderr;
  const format = opts.format ?? (opts.write ? "json" : defaultLogFormat());
  const base = opts.base ?? {};
  const destination = {
    write: (json: string) => {
      const safe = redact(ordered(json, base));
      write((format === "text" ? renderText(safe) : safe) + "\n");
    },
  };
  const p = pino(
    {
      level: opts.level ?? "info",
      base,
      messageKey: "msg",
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
    },
    destination,
  );
  return wrap(p, base);
}

/** A logger that drops everything (library use, tests that do not look at logs). */
export const silentLogger: Logger = createLogger({ level: "error", write: () => {} });

// The process-wide logger: lines written outside a command's own logger (the fatal error, signals, "already
// running", progress) go here so they have the same format, level and tenant/source fields. Until a command
// has loaded its config it follows the environment (O365_LOG_LEVEL, O365_LOG_FORMAT, O365_TENANT_ID).
let processLog: Logger | undefined;

function envLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  const level = LOG_LEVELS.find((l) => l === env.O365_LOG_LEVEL?.toLowerCase()) ?? "info";
  const fmt = env.O365_LOG_FORMAT?.toLowerCase();
  const format = fmt === "json" || fmt === "text" ? fmt : undefined;
  return createLogger({ level, format, base: env.O365_TENANT_ID ? { tenant: env.O365_TENANT_ID } : {} });
}

export function processLogger(): Logger {
  return (processLog ??= envLogger());
}

export function setProcessLogger(logger: Logger | undefined): void {
  processLog = logger;
}
