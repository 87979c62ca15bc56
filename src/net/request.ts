// A small request helper over undici: whole-request timeout, body as text, network errors classified.
import { request, type Dispatcher } from "undici";
import { CollectorError } from "../errors.js";
import { traceRequest } from "./trace.js";

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT";
  headers?: Record<string, string>;
  body?: string | Buffer;
  dispatcher: Dispatcher;
  /** Whole-request timeout in milliseconds (0 = none). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Largest body accepted; a longer one aborts the request (default DEFAULT_MAX_BODY_BYTES). */
  maxBodyBytes?: number;
}

/**
 * Every response body is bounded: an endless or huge body must fail the request, not grow memory without
 * limit. The largest real page is 5000 rows of a few KB (≈ 20 MB of JSON); 64 MiB leaves room for verbose XML.
 */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

class BodyTooLarge extends Error {}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

/** Host and path only: query strings can carry tokens, and errors must stay readable. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

export async function httpRequest(url: string, opts: RequestOptions): Promise<HttpResponse> {
  const signals: AbortSignal[] = [];
  if (opts.signal) signals.push(opts.signal);
  const timeout = opts.timeoutMs ?? 0;
  if (timeout > 0) signals.push(AbortSignal.timeout(timeout));
  const signal = signals.length ? AbortSignal.any(signals) : undefined;
  const trace = traceRequest(opts.method ?? "GET", url, opts.headers, opts.body);
  try {
    const res = await request(url, {
      method: opts.method ?? "GET",
      headers: opts.headers,
      body: opts.body,
      dispatcher: opts.dispatcher,
      signal,
    });
    const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const chunks: Buffer[] = [];
    let size = 0;
    const declared = Number(res.headers["content-length"]);
    if (Number.isFinite(declared) && declared > max) {
      res.body.destroy();
      throw new BodyTooLarge();
    }
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > max) {
        res.body.destroy();
        throw new BodyTooLarge();
      }
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks, size).toString("utf8");
    const response = { status: res.statusCode, headers: flattenHeaders(res.headers), body };
    trace?.response(response.status, response.headers, body);
    return response;
  } catch (err) {
    trace?.failure(err);
    if (err instanceof BodyTooLarge) {
      const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
      throw new CollectorError(
        "transient",
        `response from ${describeUrl(url)} is larger than ${Math.round(max / 1024 / 1024)} MiB; aborted`,
        {
          hint: "a proxy or a broken server is sending an endless body; raise http.max_response_mb only if real pages are this large",
          code: "BODY_TOO_LARGE",
        },
      );
    }
    if (opts.signal?.aborted) throw err;
    const e = err as { name?: string; code?: string; message?: string };
    // undici reports a proxy's refusal of CONNECT as an abort; it is not a timeout.
    const proxy = /Proxy response \((\d{3})\)/.exec(e.message ?? "");
    if (proxy) throw proxyRefusal(Number(proxy[1]), url, err);
    const timedOut = e.name === "TimeoutError" || e.name === "AbortError" || e.code === "UND_ERR_ABORTED";
    const what = timedOut ? `timed out after ${timeout / 1000}s` : `failed: ${e.message ?? String(err)}${e.code ? ` (${e.code})` : ""}`;
    throw new CollectorError("transient", `request to ${describeUrl(url)} ${what}`, {
      hint: timedOut ? "the service is slow; raise http.timeout or use a smaller window" : "check network, proxy and DNS",
      code: timedOut ? "TIMEOUT" : e.code,
      cause: err,
    });
  }
}

/** Retry-After in seconds (delta-seconds or HTTP date), if present. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const n = Number(value);
  if (Number.isFinite(n)) return Math.max(0, n);
  const t = Date.parse(value);
  return Number.isFinite(t) ? Math.max(0, (t - now) / 1000) : undefined;
}

/** A forward proxy refused to tunnel to `url`: 407 wants credentials, anything else is the proxy's own failure. */
export function proxyRefusal(status: number, url: string, cause?: unknown): CollectorError {
  let host = "(invalid URL)";
  try {
    host = new URL(url).host;
  } catch {
    /* keep the placeholder */
  }
  if (status === 407) {
    return new CollectorError("transient", `the proxy refused us: it wants credentials (HTTP 407) to reach ${host}`, {
      status: 407,
      code: "PROXY_AUTH_REQUIRED",
      hint: "set http.proxy.username and O365_PROXY_PASSWORD (or user:password in the proxy URL)",
      cause,
    });
  }
  return new CollectorError("transient", `the proxy answered HTTP ${status} instead of connecting us to ${host}`, {
    status,
    code: "PROXY_REFUSED",
    hint: "check http.proxy.url / HTTPS_PROXY, that the proxy allows CONNECT to the Microsoft hosts, and NO_PROXY",
    cause,
  });
}
