// A small Microsoft Graph client for the directory calls `setup` makes, as the signed-in administrator.
// Throttling and 5xx are retried a few times; a 403 becomes a PermissionDenied the caller turns into
// "the signed-in account lacks role X" (Graph's own text never names the role).
import { request, type Dispatcher } from "undici";
import { CollectorError } from "../errors.js";
import { describeUrl } from "../net/request.js";

export class PermissionDenied extends Error {
  constructor(
    readonly path: string,
    readonly graphMessage: string,
  ) {
    super(`Graph refused ${path}: ${graphMessage}`);
  }
}

export interface GraphApiOptions {
  base: string;
  token: () => Promise<string>;
  dispatcher: Dispatcher;
  timeoutMs?: number;
  /** Test hook: milliseconds between retries. */
  retryDelayMs?: number;
}

export class GraphApi {
  constructor(private readonly opts: GraphApiOptions) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("POST", path, body);
  }

  patch(path: string, body: unknown): Promise<void> {
    return this.call<void>("PATCH", path, body);
  }

  /** `$filter` list: the `value` array. */
  async list<T>(path: string, filter: string): Promise<T[]> {
    const res = await this.get<{ value?: T[] }>(`${path}?$filter=${encodeURIComponent(filter)}`);
    return res.value ?? [];
  }

  private async call<T>(method: "GET" | "POST" | "PATCH", path: string, body?: unknown): Promise<T> {
    const url = `${this.opts.base.replace(/\/+$/, "")}/v1.0${path}`;
    for (let attempt = 0; ; attempt++) {
      let status: number;
      let text: string;
      let retryAfter: string | undefined;
      try {
        const res = await request(url, {
          method,
          dispatcher: this.opts.dispatcher,
          headers: {
            authorization: `Bearer ${await this.opts.token()}`,
            accept: "application/json",
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
          },
          body: body !== undefined ? JSON.stringify(body) : undefined,
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 60_000),
        });
        status = res.statusCode;
        text = await res.body.text();
        const ra = res.headers["retry-after"];
        retryAfter = Array.isArray(ra) ? ra[0] : ra;
      } catch (err) {
        if (attempt < 3) {
          await sleep(this.delay(attempt));
          continue;
        }
        throw new CollectorError("transient", `cannot reach Microsoft Graph at ${describeUrl(url)}: ${(err as Error).message}`, {
          hint: "check network, proxy (HTTPS_PROXY) and --ca-file",
          cause: err,
        });
      }
      if (status >= 200 && status < 300) return (text ? JSON.parse(text) : undefined) as T;
      const message = graphMessage(text);
      if ((status === 429 || status >= 500) && attempt < 3) {
        await sleep(retryAfter && Number.isFinite(Number(retryAfter)) ? Number(retryAfter) * 1000 : this.delay(attempt));
        continue;
      }
      if (status === 403) throw new PermissionDenied(`${method} ${path.split("?")[0]}`, message);
      if (status === 401) {
        throw new CollectorError("auth", `Microsoft Graph rejected the administrator's sign-in (${message})`, {
          status,
          hint: "run setup again and complete the device code sign-in",
        });
      }
      throw new CollectorError(
        status >= 500 || status === 429 ? "transient" : "config",
        `Microsoft Graph answered HTTP ${status} to ${method} ${path.split("?")[0]}: ${message}`,
        { status },
      );
    }
  }

  private delay(attempt: number): number {
    return (this.opts.retryDelayMs ?? 1000) * 2 ** attempt;
  }
}

function graphMessage(text: string): string {
  try {
    const e = JSON.parse(text)?.error;
    return `${e?.code ?? ""}: ${e?.message ?? ""}`.slice(0, 300);
  } catch {
    return text.slice(0, 200);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** OData string literal ('' escapes a quote). */
export function odataString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
