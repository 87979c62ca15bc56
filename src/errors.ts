// One error type the CLI knows how to print as a single clear line: what went wrong, where, how to fix.
import { redact } from "./log/redact.js";

export type ErrorKind =
  | "config" // bad configuration or arguments: fix the config, never retried
  | "auth" // credentials rejected (wrong secret, unknown app/tenant): not retried
  | "permission" // token is fine but lacks a role / consent / provisioning: not retried
  | "transient" // network, 429, 5xx, timeouts, garbage bodies: retried
  | "rejected" // the API refused this query (e.g. a range outside its limits): explained, not retried at once; `run` goes on
  | "sink" // the receiver refused records
  | "state" // cursor/state file problem
  | "internal";

export class CollectorError extends Error {
  readonly kind: ErrorKind;
  readonly hint?: string;
  readonly status?: number;
  /** Seconds the server asked us to wait (Retry-After). */
  readonly retryAfter?: number;
  /** Machine code, e.g. AADSTS7000215 or InvalidAuthenticationToken. */
  readonly code?: string;

  constructor(
    kind: ErrorKind,
    message: string,
    opts: { hint?: string; status?: number; retryAfter?: number; code?: string; cause?: unknown } = {},
  ) {
    super(redact(message), opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = "CollectorError";
    this.kind = kind;
    this.hint = opts.hint;
    this.status = opts.status;
    this.retryAfter = opts.retryAfter;
    this.code = opts.code;
  }

  get retryable(): boolean {
    return this.kind === "transient";
  }
}

export function isRetryable(err: unknown): boolean {
  if (err instanceof CollectorError) return err.retryable;
  // Errors from the network stack (undici, sockets) that are not classified yet are treated as transient.
  const code = (err as { code?: string } | null)?.code ?? "";
  return /^(UND_ERR_|ECONN|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH)/.test(code);
}

/** The single line printed to stderr when a command fails. */
export function describeError(err: unknown): string {
  if (err instanceof CollectorError) {
    const hint = err.hint ? ` — ${err.hint}` : "";
    return redact(`${err.kind} error: ${err.message}${hint}`);
  }
  const e = err as { message?: string; code?: string } | null;
  const msg = e?.message ?? String(err);
  return redact(`error: ${msg}${e?.code ? ` (${e.code})` : ""}`);
}
