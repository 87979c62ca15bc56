// The service's own time, as far as we can tell: from the `Date` header of its responses (primary) and the
// `iat` of a freshly issued token (a lower bound, before any data response arrived). The collector plans and
// commits windows against it, so a local clock that jumps ahead (NTP step, VM resume, a wrong RTC at boot)
// can never move the cursor past what the service has actually served.
import type { Logger } from "../log/logger.js";

/** Local and service clocks further apart than this are reported. */
export const SKEW_WARN_MS = 60_000;
/** Entra issues tokens with iat/nbf a few minutes in the past; allow for it when iat is all we know. */
const IAT_SLACK_MS = 5 * 60_000;

export class ServerClock {
  /** service time − local time, from the latest Date header. */
  private offsetMs?: number;
  private issuedAtMs?: number;
  private warnedSkewMs?: number;

  constructor(
    private readonly local: () => number = Date.now,
    private readonly logger?: Logger,
    /**
     * The local clock is pinned in the past on purpose (the O365MT_NOW test hook replays a past day): being
     * behind the service is then expected and logged at debug level. Ahead is always a warning.
     */
    private readonly pinned = false,
  ) {}

  /** An HTTP `Date` header value from a response of the service. */
  observeDate(value: string | undefined): void {
    if (!value) return;
    const ms = Date.parse(value);
    if (!Number.isFinite(ms)) return;
    this.offsetMs = ms - this.local();
    this.checkSkew(this.offsetMs, "Date header");
  }

  /** The `iat` claim (seconds) of a token the login service just issued. */
  observeIssuedAt(iatSeconds: number): void {
    if (!Number.isFinite(iatSeconds) || iatSeconds <= 0) return;
    const ms = iatSeconds * 1000;
    this.issuedAtMs = Math.max(this.issuedAtMs ?? 0, ms);
    if (this.offsetMs === undefined) {
      // iat is a few minutes behind the issuing time: only a gap beyond that slack says the clocks differ.
      const offset = ms - this.local();
      if (offset > SKEW_WARN_MS || offset < -(SKEW_WARN_MS + IAT_SLACK_MS)) this.checkSkew(offset, "token iat");
    }
  }

  /** The service's time now, or undefined when nothing was observed yet. */
  now(): number | undefined {
    if (this.offsetMs !== undefined) return this.local() + this.offsetMs;
    return this.issuedAtMs !== undefined ? this.issuedAtMs + IAT_SLACK_MS : undefined;
  }

  /**
   * The earliest the service's time can be now: what windows are planned up to. Before any Date header only
   * the token's iat is known, and that is a lower bound (Entra dates it a few minutes back); `now()` adds
   * the slack to it, which suits the checks that must not fire early, but a window planned by it can end
   * past the service's time and be refused.
   */
  earliest(): number | undefined {
    if (this.offsetMs !== undefined) return this.local() + this.offsetMs;
    return this.issuedAtMs;
  }

  /** Local minus service time, when known from a Date header. */
  skewMs(): number | undefined {
    return this.offsetMs === undefined ? undefined : -this.offsetMs;
  }

  private checkSkew(offsetMs: number, from: string): void {
    if (Math.abs(offsetMs) <= SKEW_WARN_MS) return;
    if (this.warnedSkewMs !== undefined && Math.abs(this.warnedSkewMs - offsetMs) <= SKEW_WARN_MS) return;
    this.warnedSkewMs = offsetMs;
    const local = this.local();
    const log = this.pinned && offsetMs > 0 ? this.logger?.debug : this.logger?.warn;
    log?.(
      `the local clock is ${describeSpan(-offsetMs)} ${offsetMs < 0 ? "ahead of" : "behind"} the service's clock; windows are planned and committed by the service's time`,
      {
        local: new Date(local).toISOString(),
        service: new Date(local + offsetMs).toISOString(),
        from,
        hint: "check NTP / chrony on this host",
      },
    );
  }
}

export function describeSpan(ms: number): string {
  const s = Math.abs(ms) / 1000;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 129_600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

/** The `iat` claim of a JWT (no signature check: only to read the issuer's clock). */
export function tokenIssuedAt(token: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
    return typeof payload.iat === "number" ? payload.iat : undefined;
  } catch {
    return undefined;
  }
}
