// Fluent forward protocol sink (Fluentd / Fluent Bit `in_forward`) over @fluent-org/logger.
// Delivery rule: `flush` resolves only when every record emitted since the last flush is acknowledged
// (`require_ack_response`, the default) — or, with acks off, written to the socket. It rejects when an ack
// times out, when the connection drops while records wait for their ack, or when the handshake fails.
// After a failure the client is thrown away with everything unacknowledged: the collector never commits
// that window, so the next cycle reads and sends it again on a fresh connection.
import { EventTime, FluentClient, FluentSocketEvent, type FluentClientOptions } from "@fluent-org/logger";
import { CollectorError } from "../../errors.js";
import type { Logger } from "../../log/logger.js";
import type { Envelope, Sink } from "../../types.js";
import { clientOptions, type ForwardConfig } from "./options.js";

/** Event time with sub-second precision (EventTime, msgpack ext 0) from epoch milliseconds. */
export function eventTime(ms: number): EventTime {
  const sec = Math.floor(ms / 1000);
  return new EventTime(sec, Math.round((ms - sec * 1000) * 1_000_000));
}

interface Waiter {
  check(): void;
  arm(): void;
}

export class ForwardSink implements Sink {
  readonly name = "forward";
  private readonly options: FluentClientOptions;
  private readonly waitMs: number;
  private client?: FluentClient;
  private connecting?: Promise<FluentClient>;
  /** Bumped on every reset, so late callbacks of a discarded client cannot touch the current state. */
  private gen = 0;
  /** Unsettled emit promises → how many records each carries (records of one packet share one promise). */
  private readonly pending = new Map<Promise<void>, number>();
  private inflight = 0;
  private failure?: CollectorError;
  private lastSocketError?: Error;
  private readonly waiters = new Set<Waiter>();
  /** Records acknowledged since start (tests and logs). */
  acked = 0;

  constructor(
    private readonly c: ForwardConfig,
    private readonly logger: Logger,
  ) {
    this.options = clientOptions(c);
    // The library's own ack timer starts when a chunk is written; ours also covers records that could not be
    // written at all (receiver unreachable), measured from the last sign of progress.
    this.waitMs = c.ack_timeout * 1000 + 1_000;
  }

  private get where(): string {
    return `${this.c.host}:${this.c.port}`;
  }

  async send(batch: Envelope[]): Promise<void> {
    if (batch.length === 0) return;
    await this.throwIfFailed();
    const client = await this.ensureClient();
    const gen = this.gen;
    for (const e of batch) {
      this.inflight++;
      this.track(client.emit(this.c.tag, e.record, eventTime(e.time)), gen);
    }
    // Bound memory when the receiver is slower than the source: wait until most of the backlog is acked.
    if (this.inflight > this.c.batch_size * 4) await this.guard(this.waitFor(() => this.inflight <= this.c.batch_size, "acknowledgement"));
  }

  async flush(): Promise<void> {
    if (!this.client) return this.throwIfFailed();
    void this.client.flush();
    await this.guard(this.waitFor(() => this.inflight === 0, "acknowledgement"));
  }

  /** Nothing pending matters here: the cursor only moves after a successful flush. */
  async close(): Promise<void> {
    await this.reset();
  }

  private track(p: Promise<void>, gen: number): void {
    const n = this.pending.get(p);
    if (n !== undefined) {
      this.pending.set(p, n + 1);
      return;
    }
    this.pending.set(p, 1);
    p.then(
      () => {
        if (gen !== this.gen) return;
        const k = this.pending.get(p) ?? 0;
        this.pending.delete(p);
        this.inflight -= k;
        this.acked += k;
        this.progress();
      },
      (err: unknown) => {
        if (gen === this.gen) this.fail(this.classify(err));
      },
    );
  }

  private async ensureClient(): Promise<FluentClient> {
    if (this.client && !this.connecting) return this.client;
    if (this.connecting) return this.connecting;
    const gen = this.gen;
    const client = new FluentClient(null, this.options);
    this.client = client;
    this.lastSocketError = undefined;
    client.socketOn(FluentSocketEvent.ERROR, (err: Error) => {
      if (gen === this.gen) this.lastSocketError = err;
    });
    client.socketOn(FluentSocketEvent.ESTABLISHED, () => {
      if (gen === this.gen) this.progress();
    });
    client.socketOn(FluentSocketEvent.CLOSE, () => {
      // Chunks written on this connection can never be acknowledged on the next one.
      if (gen === this.gen && (this.inflight > 0 || this.connecting)) this.fail(this.closedError());
    });
    this.connecting = (async () => {
      try {
        await client.connect();
      } catch (err) {
        this.fail(this.classify(err));
      }
      // With a shared key the socket becomes writable only after HELO/PING/PONG.
      await this.waitFor(() => client.writable, "connection");
      return client;
    })();
    try {
      return await this.guard(this.connecting);
    } finally {
      this.connecting = undefined;
    }
  }

  /** Resolve when `cond` holds; reject on failure or when nothing progresses for waitMs. */
  private waitFor(cond: () => boolean, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        if (err) reject(err);
        else resolve();
      };
      const waiter: Waiter = {
        check: () => {
          if (this.failure) done(this.failure);
          else if (cond()) done();
        },
        arm: () => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            this.fail(this.timeoutError(what));
          }, this.waitMs);
        },
      };
      this.waiters.add(waiter);
      waiter.arm();
      waiter.check();
    });
  }

  private progress(): void {
    for (const w of [...this.waiters]) {
      w.arm();
      w.check();
    }
  }

  private fail(err: CollectorError): void {
    this.failure ??= err;
    for (const w of [...this.waiters]) w.check();
  }

  /** On any failure: drop the client and everything unacknowledged, then rethrow. */
  private async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      const e = this.failure ?? err;
      await this.reset();
      throw e;
    }
  }

  private async throwIfFailed(): Promise<void> {
    const f = this.failure;
    if (!f) return;
    await this.reset();
    throw f;
  }

  private async reset(): Promise<void> {
    const client = this.client;
    this.gen++;
    this.client = undefined;
    this.pending.clear();
    if (this.inflight > 0) this.logger.warn("forward: dropping unacknowledged records; their window is sent again", { records: this.inflight, receiver: this.where });
    this.inflight = 0;
    this.failure = undefined;
    if (!client) return;
    // shutdown() flushes nothing new, rejects what is queued and ends the socket; never let a dead peer hold us.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([client.shutdown().catch(() => {}), new Promise<void>((r) => (timer = setTimeout(r, 2_000)))]);
    clearTimeout(timer);
  }

  private timeoutError(what: string): CollectorError {
    const s = this.c.ack_timeout;
    if (what === "connection") {
      return new CollectorError("transient", `forward receiver ${this.where}: no connection within ${s}s${this.socketDetail()}`, {
        hint: "check sink.forward.host/port, TLS and shared_key, and that the receiver is up",
      });
    }
    return new CollectorError("transient", `forward receiver ${this.where} did not acknowledge ${this.inflight} record(s) within ${s}s`, {
      hint: "the receiver must answer acks (Fluentd/Fluent Bit in_forward do); the window is not committed and is sent again next cycle",
    });
  }

  private closedError(): CollectorError {
    const auth = this.authProblem(this.lastSocketError);
    if (auth) return auth;
    return new CollectorError("transient", `forward receiver ${this.where} closed the connection with ${this.inflight} record(s) not acknowledged${this.socketDetail()}`, {
      hint: "the window is not committed and is sent again next cycle",
    });
  }

  private socketDetail(): string {
    const e = this.lastSocketError as (Error & { code?: string }) | undefined;
    return e ? `: ${e.message || e.name}${e.code ? ` (${e.code})` : ""}` : "";
  }

  private authProblem(err: unknown): CollectorError | undefined {
    const name = (err as Error | undefined)?.name ?? "";
    if (!/SharedKeyMismatch|AuthError/.test(name)) return undefined;
    const msg = (err as Error).message || name;
    return new CollectorError("config", `forward handshake with ${this.where} failed: ${msg}`, {
      hint: "sink.forward.shared_key (env O365_FORWARD_SHARED_KEY), username and password must match the receiver's <security> settings",
    });
  }

  private classify(err: unknown): CollectorError {
    if (err instanceof CollectorError) return err;
    const e = err as (Error & { code?: string }) | undefined;
    const auth = this.authProblem(e) ?? this.authProblem(this.lastSocketError);
    if (auth) return auth;
    if (e?.name === "AckTimeoutError") return this.timeoutError("acknowledgement");
    if (e?.name === "AckShutdownError" || e?.name === "QueueShutdownError") return this.closedError();
    if (e?.code) {
      return new CollectorError("transient", `cannot connect to forward receiver ${this.where}: ${e.message} (${e.code})`, {
        hint: "check sink.forward.host/port and that Fluentd/Fluent Bit in_forward is listening",
        code: e.code,
      });
    }
    return new CollectorError("sink", `forward sink failed: ${e?.message || e?.name || String(err)}`, { hint: "the window is not committed and is sent again next cycle" });
  }
}
