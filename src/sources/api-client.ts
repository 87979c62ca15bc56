// Authenticated GETs against Graph or the reporting web service: bearer token, one forced token refresh on
// 401, retries with backoff for transient failures (429 honours Retry-After), every failure classified.
import type { Dispatcher } from "undici";
import type { TokenProvider } from "../auth/provider.js";
import { CollectorError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { describeUrl, httpRequest, parseRetryAfter, type HttpResponse } from "../net/request.js";
import { withRetry, type RetryPolicy } from "../net/retry.js";

export interface ApiHooks {
  /** Called before every request (client-side request budget / pacing). */
  beforeRequest?: (signal?: AbortSignal) => Promise<void>;
  /** Called with every response status (metrics). */
  onResponse?: (route: string, status: number) => void;
  onRetry?: (route: string, err: unknown, attempt: number, waitMs: number) => void;
  /** Called with every response's `Date` header (the service's clock, for the clock guard). */
  onServerDate?: (date: string | undefined) => void;
}

export interface ApiClientOptions {
  dispatcher: Dispatcher;
  tokens: TokenProvider;
  scope: string;
  timeoutMs: number;
  /** Response body bound (default DEFAULT_MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  retry: RetryPolicy;
  logger: Logger;
  hooks?: ApiHooks;
  /** Extra request headers on every call (e.g. Graph's `Prefer`). */
  headers?: Record<string, string>;
  /** Turns a non-2xx (or unusable 2xx) response into an error; returns undefined when the response is fine. */
  classify: (res: HttpResponse, url: string, token: string) => CollectorError | undefined;
}

/** The `roles` claim of a JWT access token (no signature check: for diagnostics only). */
export function tokenRoles(token: string): string[] {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
    return Array.isArray(payload.roles) ? payload.roles.map(String) : [];
  } catch {
    return [];
  }
}

export class ApiClient {
  constructor(private readonly opts: ApiClientOptions) {}

  /**
   * GET and parse inside the retry loop: a garbled body (HTML sign-in page, truncated JSON) is retried like
   * a 5xx, so a page is either delivered whole or the window fails, never half-read.
   */
  async get<T>(url: string, route: string, accept: string, parse: (res: HttpResponse) => T, signal?: AbortSignal): Promise<T> {
    const { opts } = this;
    // One forced token refresh per request, independent of retry.count: a token that expired mid-paging
    // is renewed and the request repeated at once; a second 401 with a fresh token is a real auth failure.
    let refreshed = false;
    return withRetry(
      async () => {
        for (let force = false; ;) {
          await opts.hooks?.beforeRequest?.(signal);
          const token = await opts.tokens.getToken(opts.scope, { force });
          // Counted only once a fresh token was really obtained: a refresh that failed (login endpoint 503)
          // leaves the next attempt free to try again instead of turning the next 401 into a fatal error.
          if (force) refreshed = true;
          const res = await httpRequest(url, {
            dispatcher: opts.dispatcher,
            headers: { ...opts.headers, authorization: `Bearer ${token}`, accept, "client-request-id": crypto.randomUUID() },
            timeoutMs: opts.timeoutMs,
            maxBodyBytes: opts.maxBodyBytes,
            signal,
          });
          opts.hooks?.onResponse?.(route, res.status);
          opts.hooks?.onServerDate?.(res.headers.date);
          const err = opts.classify(res, url, token);
          if (!err) return parse(res);
          if (res.status === 401 && !refreshed && err.code !== "ServicePrincipalNotFound") {
            force = true;
            opts.logger.info("access token rejected; acquiring a new one", { route });
            continue;
          }
          throw err;
        }
      },
      opts.retry,
      {
        signal,
        onRetry: (err, attempt, waitMs) => {
          opts.logger.warn("request failed, retrying", { route, attempt, wait_ms: waitMs, error: (err as Error).message });
          opts.hooks?.onRetry?.(route, err, attempt, waitMs);
        },
      },
    );
  }
}

/** Classification shared by both APIs for statuses that mean the same everywhere. */
export function classifyCommon(res: HttpResponse, url: string, apiName: string): CollectorError | undefined {
  const where = `${apiName} ${describeUrl(url)}`;
  if (res.status === 429) {
    return new CollectorError("transient", `${where} is throttling us (HTTP 429)`, {
      status: 429,
      retryAfter: parseRetryAfter(res.headers["retry-after"]) ?? 30,
      hint: "lower request_budget.limit or use larger windows",
    });
  }
  if (res.status >= 500 || res.status === 408) {
    return new CollectorError("transient", `${where} answered HTTP ${res.status}`, {
      status: res.status,
      retryAfter: parseRetryAfter(res.headers["retry-after"]),
    });
  }
  return undefined;
}

/**
 * A 400 stops the collector only when it is certainly caused by our configuration (the page size). A time range
 * the service refuses (too long, too old, an end later than its clock) is `range()`: explained, not retried at
 * once, not fatal to `run`. Anything else (a proxy's or gateway's 400, a transient service fault) is retried
 * with backoff and the cursor stays where it is.
 */
export function classifyBadRequest(
  res: HttpResponse,
  url: string,
  apiName: string,
  text: string,
  range: () => CollectorError,
): CollectorError | undefined {
  if (res.status !== 400) return undefined;
  const where = `${apiName} ${describeUrl(url)}`;
  const said = text.replace(/\s+/g, " ").trim().slice(0, 200);
  if (/\$top|page ?size/i.test(said)) {
    return new CollectorError("config", `${where} refused the page size (HTTP 400: ${said})`, {
      status: 400,
      hint: "set source.page_size to 1–5000",
    });
  }
  if (
    /\bfuture\b|later than the current|current (date|time)|\b(90|ninety|10|ten) days\b|older than|date range|time range|too old|start ?date|end ?date/i.test(
      said,
    )
  ) {
    return range();
  }
  return new CollectorError(
    "transient",
    `${where} answered HTTP 400 (${said || "no message"}); not a configuration problem we can recognise, so it is retried with backoff and the cursor stays`,
    {
      status: 400,
    },
  );
}
