// Request tracing for support cases (what LogRhythm calls LogApiRequests): with `log.requests: FILE`, one
// JSON line per API exchange (method, URL, status, duration, headers, the first bytes of both bodies),
// rotated to FILE.1 at `log.requests_max_bytes`; at `log.level: debug` one short line per exchange in the
// log too. Secrets never reach the file: credential headers are censored by name, secret-looking query and
// form parameters by name, and every body and finished line also passes through redact().
// httpRequest (request.ts) is the one caller, so token, Graph, RWS and HTTP-sink requests are all traced.
import { closeSync, openSync, renameSync, statSync, writeSync } from "node:fs";
import type { Logger } from "../log/logger.js";
import { redact } from "../log/redact.js";

export interface RequestTraceOptions {
  /** Trace file; undefined = no file (debug log lines only). */
  file?: string;
  maxBytes?: number;
  logger?: Logger;
  now?: () => number;
}

const BODY_BYTES = 1024;
const SECRET_HEADER = /authorization|cookie|secret|token|api-key|apikey|password|identity-header|signature|x-ms-client-assertion/i;
const SECRET_PARAM = /secret|token|assertion|password|passwd|code|sig|key|credential/i;

let current: RequestTracer | undefined;

/** Turn tracing on (or off with undefined). Called once by the CLI after loading the config. */
export function configureRequestTrace(opts: RequestTraceOptions | undefined): void {
  current?.close();
  current = opts && (opts.file || opts.logger) ? new RequestTracer(opts) : undefined;
}

export interface TraceSpan {
  response(status: number, headers: Record<string, string>, body: string): void;
  failure(err: unknown): void;
}

/** Start tracing one exchange; undefined (nothing to do) when tracing is off. */
export function traceRequest(
  method: string,
  url: string,
  headers: Record<string, string> | undefined,
  body: string | Buffer | undefined,
): TraceSpan | undefined {
  return current?.begin(method, url, headers, body);
}

export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    for (const name of [...u.searchParams.keys()])
      if (SECRET_PARAM.test(name) && !name.startsWith("$")) u.searchParams.set(name, "[REDACTED]");
    return redact(decodeURIComponentSafe(u.toString()));
  } catch {
    return "(invalid URL)";
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function safeHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = SECRET_HEADER.test(k) ? "[REDACTED]" : redact(String(v));
  return out;
}

/** The first bytes of a body, secrets removed (form parameters by name, everything else by redact()). */
export function safeBody(body: string | Buffer | undefined): string | undefined {
  if (body === undefined || body.length === 0) return undefined;
  let text = typeof body === "string" ? body.slice(0, 4 * BODY_BYTES) : body.subarray(0, 4 * BODY_BYTES).toString("utf8");
  if (/^[\w.%-]+=[^&]*(&[\w.%-]+=[^&]*)*$/.test(text.trim())) {
    const form = new URLSearchParams(text);
    for (const name of [...form.keys()]) if (SECRET_PARAM.test(name) && name !== "grant_type") form.set(name, "[REDACTED]");
    text = decodeURIComponentSafe(form.toString());
  }
  const safe = redact(text);
  return safe.length > BODY_BYTES ? safe.slice(0, BODY_BYTES) + "…" : safe;
}

class RequestTracer {
  private fd?: number;
  private size = 0;
  private readonly maxBytes: number;
  private readonly now: () => number;

  constructor(private opts: RequestTraceOptions) {
    this.maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
  }

  begin(method: string, url: string, headers: Record<string, string> | undefined, body: string | Buffer | undefined): TraceSpan {
    const started = this.now();
    const request = { method, url: safeUrl(url), headers: safeHeaders(headers), body: safeBody(body) };
    const finish = (response: Record<string, unknown>) => {
      const duration_ms = this.now() - started;
      this.opts.logger?.debug("api request", {
        method,
        url: request.url.split("?")[0],
        status: response.status ?? null,
        duration_ms,
        ...(response.error ? { error: response.error } : {}),
      });
      if (this.opts.file) this.write({ time: new Date(started).toISOString(), duration_ms, request, response });
    };
    return {
      response: (status, resHeaders, resBody) => finish({ status, headers: safeHeaders(resHeaders), body: safeBody(resBody) }),
      failure: (err) => finish({ error: redact((err as Error)?.message ?? String(err)) }),
    };
  }

  private write(entry: Record<string, unknown>): void {
    const line = redact(JSON.stringify(entry)) + "\n";
    const bytes = Buffer.byteLength(line);
    try {
      if (this.fd === undefined) this.open();
      if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
      writeSync(this.fd!, line);
      this.size += bytes;
    } catch (err) {
      // Tracing must never break collection: say so once and stop writing the file.
      this.opts.logger?.warn("request trace disabled: cannot write the trace file", {
        file: this.opts.file,
        error: (err as Error).message,
      });
      this.opts = { ...this.opts, file: undefined };
    }
  }

  private open(): void {
    this.fd = openSync(this.opts.file!, "a", 0o600);
    this.size = statSync(this.opts.file!).size;
  }

  private rotate(): void {
    closeSync(this.fd!);
    renameSync(this.opts.file!, this.opts.file! + ".1");
    this.fd = openSync(this.opts.file!, "a", 0o600);
    this.size = 0;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
