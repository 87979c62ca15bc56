// HTTP sink: POST batches of records (NDJSON or a JSON array, optionally gzip) to Fluent Bit `http`, Vector
// `http_server` or Fluentd `in_http`. A batch is delivered only on 2xx; connection errors, timeouts, 429 and
// 5xx are retried with backoff (Retry-After honoured); any other status is a configuration problem and stops
// with one clear error. `flush` posts what is buffered and resolves only after the receiver said 2xx.
import { promisify } from "node:util";
import type { Dispatcher } from "undici";
import { CollectorError } from "../../errors.js";
import type { Logger } from "../../log/logger.js";
import { registerSecret } from "../../log/redact.js";
import { createDispatcher } from "../../net/dispatcher.js";
import { describeUrl, httpRequest, parseRetryAfter } from "../../net/request.js";
import { withRetry, type RetryPolicy } from "../../net/retry.js";
import type { PipelineMetrics } from "../../pipeline/metrics.js";
import type { ConfirmListener, Envelope, Sink } from "../../types.js";
import type { HttpSinkConfig } from "./options.js";

export type { HttpSinkConfig } from "./options.js";

/** zlib's gzip, loaded at the first gzip batch: every command loads this module, few configs gzip (issue 19). */
let gzipLoaded: Promise<(raw: Buffer) => Promise<Buffer>> | undefined;
const gzip = async (raw: Buffer): Promise<Buffer> => (await (gzipLoaded ??= import("node:zlib").then((z) => promisify(z.gzip))))(raw);

export interface HttpSinkOptions {
  config: HttpSinkConfig;
  retry: RetryPolicy;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  metrics?: PipelineMetrics;
  /** Tests: a ready dispatcher. Default: a direct agent (no proxy: receivers are normally local). */
  dispatcher?: Dispatcher;
  /** Test hook: replaces the backoff sleep. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export class HttpSink implements Sink {
  readonly name = "http";
  private buffer: Envelope[] = [];
  private readonly headers: Record<string, string>;
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher: boolean;
  /** Batches the receiver accepted (tests, logs). */
  batchesDelivered = 0;
  private listener?: ConfirmListener;

  constructor(private readonly opts: HttpSinkOptions) {
    const c = opts.config;
    this.headers = { ...c.headers };
    for (const [k, v] of Object.entries(c.headers)) if (/^(authorization|x-api-key|.*token.*)$/i.test(k)) registerSecret(v);
    if (c.bearer_token_env) {
      const token = opts.env[c.bearer_token_env];
      if (!token) {
        throw new CollectorError("config", `sink.http.bearer_token_env names ${c.bearer_token_env}, which is not set in the environment`, {
          hint: `export ${c.bearer_token_env}=<token> for the collector process`,
        });
      }
      registerSecret(token);
      this.headers.authorization = `Bearer ${token}`;
    }
    this.headers["content-type"] = c.format === "ndjson" ? "application/x-ndjson" : "application/json";
    if (c.gzip) this.headers["content-encoding"] = "gzip";
    this.ownDispatcher = !opts.dispatcher;
    this.dispatcher = opts.dispatcher ?? createDispatcher({ caFile: c.ca_file, insecure: c.insecure, env: {}, logger: opts.logger });
  }

  /** Each 2xx confirms its batch. */
  onConfirm(listener: ConfirmListener): void {
    this.listener = listener;
  }

  async send(batch: Envelope[]): Promise<void> {
    for (const e of batch) {
      this.buffer.push(e);
      if (this.buffer.length >= this.opts.config.batch_size) await this.postOrDrop(this.take());
    }
  }

  async flush(): Promise<void> {
    while (this.buffer.length > 0) await this.postOrDrop(this.take());
  }

  /** A failed batch fails its window; what is still buffered belongs to that window and is read again. */
  private async postOrDrop(batch: Envelope[]): Promise<void> {
    try {
      await this.post(batch);
    } catch (err) {
      this.buffer = [];
      throw err;
    }
  }

  /** Unposted records belong to a window that is not committed: dropping them loses nothing. */
  async close(): Promise<void> {
    this.buffer = [];
    if (this.ownDispatcher) await this.dispatcher.close().catch(() => {});
  }

  private take(): Envelope[] {
    const n = this.opts.config.batch_size;
    const out = this.buffer.slice(0, n);
    this.buffer = this.buffer.slice(n);
    return out;
  }

  private async encode(batch: Envelope[]): Promise<Buffer> {
    const text =
      this.opts.config.format === "ndjson"
        ? batch.map((e) => JSON.stringify(e.record)).join("\n") + "\n"
        : JSON.stringify(batch.map((e) => e.record));
    const raw = Buffer.from(text, "utf8");
    return this.opts.config.gzip ? gzip(raw) : raw;
  }

  private async post(batch: Envelope[]): Promise<void> {
    if (batch.length === 0) return;
    const c = this.opts.config;
    const body = await this.encode(batch);
    const where = describeUrl(c.url);
    await withRetry(
      async () => {
        const res = await httpRequest(c.url, {
          method: "POST",
          headers: this.headers,
          body,
          dispatcher: this.dispatcher,
          timeoutMs: c.timeout * 1000,
        });
        this.opts.metrics?.apiResponse("sink_http", res.status);
        if (res.status >= 200 && res.status < 300) return;
        const snippet = res.body.replace(/\s+/g, " ").trim().slice(0, 200);
        const said = snippet ? `: ${snippet}` : "";
        if (res.status === 429 || res.status >= 500) {
          throw new CollectorError("transient", `HTTP receiver ${where} answered ${res.status}${said}`, {
            status: res.status,
            retryAfter: parseRetryAfter(res.headers["retry-after"]),
            hint: "the receiver is overloaded or down; the window is not committed and is sent again",
          });
        }
        throw new CollectorError("config", `HTTP receiver ${where} rejected ${batch.length} record(s) with ${res.status}${said}`, {
          status: res.status,
          hint: hintFor(res.status),
        });
      },
      this.opts.retry,
      {
        sleep: this.opts.sleep,
        onRetry: (err, attempt, waitMs) => {
          this.opts.metrics?.retry("sink_http");
          this.opts.logger.warn("http sink: retrying batch", {
            error: (err as Error).message,
            attempt,
            wait_ms: waitMs,
            records: batch.length,
          });
        },
      },
    );
    this.batchesDelivered++;
    this.listener?.(batch);
  }
}

function hintFor(status: number): string {
  if (status === 401 || status === 403) return "the receiver refused our credentials: check sink.http.headers / bearer_token_env";
  if (status === 404 || status === 405) return "check sink.http.url (path and method POST)";
  if (status === 413) return "the batch is too large for the receiver: lower sink.http.batch_size or enable gzip";
  if (status === 415 || status === 400) return "check sink.http.format (ndjson vs json) and gzip against the receiver's decoding settings";
  if (status >= 300 && status < 400) return "redirects are not followed: point sink.http.url at the final address";
  return "fix sink.http settings; records are not committed, nothing is lost";
}
