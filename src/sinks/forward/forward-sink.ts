// Fluent forward protocol sink (Fluentd / Fluent Bit `in_forward`, Vector `fluent`) over @fluent-org/logger.
// Encoding: records are encoded as they are sent into chunks of batch_size (chunk.ts; flush seals the rest), handed
// to the client as pre-encoded chunks (chunk-queue.ts); what waits for an ack is their bytes and identities.
// Delivery: every acknowledged chunk is reported to the confirm listener as its ack arrives (the collector journals
// it there); `flush` resolves when every record sent so far is acknowledged (or, with acks off, written).
// Recovery: when a connection fails (receiver down or restarting, connection cut, ack timeout), the records not
// acknowledged are kept, and the sink reconnects with bounded backoff (retry.count / retry.backoff, like the HTTP
// sink) and sends them again within the same send/flush, so a receiver restart costs seconds, not a poll interval.
// Only when the retries are used up does the error reach the collector, which leaves the window uncommitted.
// Handshake failures are configuration errors and are never retried.
import { FluentClient, FluentSocketEvent, type FluentClientOptions } from "@fluent-org/logger";
import { CollectorError } from "../../errors.js";
import type { Logger } from "../../log/logger.js";
import { backoffMs, sleep, type RetryPolicy } from "../../net/retry.js";
import type { ConfirmListener, Envelope, Sink } from "../../types.js";
import { ackTimeout, connectFailed, handshakeClosed, handshakeProblem, noConnection, noHelo, receiverClosed } from "./errors.js";
import { ChunkWriter, type Chunk } from "./chunk.js";
import { useChunkQueue } from "./chunk-queue.js";
import { decodeHandshakeBytesExactly } from "./exact-bytes.js";
import { clientOptions, type ForwardConfig } from "./options.js";

/** Without a policy (unit tests) a failure is reported at once, as before in-cycle reconnects existed. */
const NO_RETRY: RetryPolicy = { count: 0, initialMs: 0, maxMs: 0, jitter: 0 };

interface Waiter {
  check(): void;
  arm(): void;
}

type SocketError = Error & { code?: string };

export class ForwardSink implements Sink {
  readonly name = "forward";
  private readonly options: FluentClientOptions;
  private readonly waitMs: number;
  private client?: FluentClient;
  private connecting?: Promise<FluentClient>;
  /** Bumped on every reset, so late callbacks of a discarded client cannot touch the current state. */
  private gen = 0;
  /** Of the current client: a connection is up / it has been up once / the receiver accepted us (PONG). */
  private connected = false;
  private everConnected = false;
  private established = false;
  /** Chunks encoded by send() and not yet handed to a client (new ones, or unacknowledged ones to send again). */
  private outbox: Chunk[] = [];
  /** Unsettled emit promises → their chunks (one emit per chunk). */
  private readonly pending = new Map<Promise<void>, Chunk>();
  /** Records handed to the client and not acknowledged. */
  private inflight = 0;
  private readonly writer: ChunkWriter;
  /** Records per chunk: batch_size, or one in Message mode (a message carries one record and one chunk id). */
  private readonly chunkRecords: number;
  private failure?: CollectorError;
  private lastSocketError?: SocketError;
  private readonly waiters = new Set<Waiter>();
  /** Reconnect attempts since the last acknowledgement. */
  private attempt = 0;
  private readonly closing = new AbortController();
  private listener?: ConfirmListener;
  /** Records acknowledged since start / reconnects made (tests and logs). */
  acked = 0;
  reconnects = 0;

  constructor(
    private readonly c: ForwardConfig,
    private readonly logger: Logger,
    private readonly retry: RetryPolicy = NO_RETRY,
  ) {
    decodeHandshakeBytesExactly();
    this.options = clientOptions(c);
    this.writer = new ChunkWriter(c.event_mode, c.tag);
    this.chunkRecords = c.event_mode === "Message" ? 1 : c.batch_size;
    // The library's own ack timer starts when a chunk is written; ours also covers records that could not be
    // written at all (receiver unreachable), measured from the last sign of progress.
    this.waitMs = c.ack_timeout * 1000 + 1_000;
  }

  private get where(): string {
    return `${this.c.host}:${this.c.port}`;
  }

  onConfirm(listener: ConfirmListener): void {
    this.listener = listener;
  }

  async send(batch: Envelope[]): Promise<void> {
    if (batch.length === 0) return;
    // Encoded now, so the records die young. A chunk fills across sends up to batch_size records (flush sends
    // the rest): fewer, larger chunks mean fewer acks, and fewer journal lines and syncs in the collector.
    const chunks: Chunk[] = [];
    const open = this.writer.count;
    try {
      for (const e of batch) {
        this.writer.add(e);
        if (this.writer.count >= this.chunkRecords) chunks.push(this.writer.seal()!);
      }
    } catch (err) {
      // A value the library's encoder refuses too (e.g. a bigint): nothing of this batch goes out, and the
      // records of earlier sends still in the open chunk are dropped with it (their window fails and is read again).
      this.writer.discard();
      if (open > 0)
        this.logger.warn("forward: dropping records not sent yet; their window is read again", {
          records: open + batch.length,
          receiver: this.where,
        });
      throw this.classify(err);
    }
    for (const c of chunks) this.outbox.push(c);
    await this.drive(() => true);
    // Bound memory when the receiver is slower than the source: wait until most of the backlog is acked.
    if (this.inflight > this.c.batch_size * 4) await this.drive(() => this.inflight <= this.c.batch_size);
  }

  async flush(): Promise<void> {
    const rest = this.writer.seal();
    if (rest) this.outbox.push(rest);
    if (!this.client && this.outbox.length === 0 && !this.failure) return;
    await this.drive(() => this.inflight === 0 && this.outbox.length === 0);
  }

  /** Nothing pending matters here: the cursor only moves after a successful flush. */
  async close(): Promise<void> {
    this.closing.abort();
    this.outbox = [];
    this.writer.discard();
    await this.reset();
  }

  /** Connect, hand the outbox to the client, wait for `done`; on a transient failure reconnect and go again. */
  private async drive(done: () => boolean): Promise<void> {
    for (;;) {
      try {
        if (this.failure) throw this.failure;
        const client = await this.ensureClient();
        this.emitOutbox(client);
        if (done()) return;
        void client.flush();
        await this.waitFor(done, "acknowledgement");
        return;
      } catch (err) {
        await this.recover(err);
        if (done() && this.outbox.length === 0) return;
      }
    }
  }

  private emitOutbox(client: FluentClient): void {
    const batch = this.outbox;
    this.outbox = [];
    const gen = this.gen;
    for (const chunk of batch) {
      this.inflight += chunk.ids.length;
      // The client's queue is a ChunkQueue: the "record" emitted is the whole pre-encoded chunk.
      this.track(client.emit(this.c.tag, chunk as unknown as Record<string, unknown>), chunk, gen);
    }
  }

  private track(p: Promise<void>, chunk: Chunk, gen: number): void {
    this.pending.set(p, chunk);
    p.then(
      () => {
        if (gen !== this.gen) return;
        this.pending.delete(p);
        const n = chunk.ids.length;
        this.inflight -= n;
        this.acked += n;
        this.attempt = 0;
        this.writer.release(chunk);
        if (this.listener) this.listener(chunk.ids.map((id) => ({ id })));
        this.progress();
      },
      (err: unknown) => {
        if (gen === this.gen) this.fail(this.classify(err));
      },
    );
  }

  /**
   * After a failure: drop the client, put every unacknowledged record back at the head of the outbox, and wait
   * the backoff — or, when the error is not transient or the attempts are used up, drop them and rethrow.
   */
  private async recover(thrown: unknown): Promise<void> {
    const err = this.failure ?? this.classify(thrown);
    this.outbox = [...this.pending.values()].concat(this.outbox);
    await this.reset();
    if (!err.retryable || this.attempt >= this.retry.count || this.closing.signal.aborted) {
      const unsent = recordsIn(this.outbox) + this.writer.count;
      if (unsent > 0)
        this.logger.warn("forward: dropping unacknowledged records; their window is read again", {
          records: unsent,
          receiver: this.where,
        });
      this.outbox = [];
      this.writer.discard();
      this.attempt = 0;
      throw err;
    }
    this.attempt++;
    const waitMs = backoffMs(this.retry, this.attempt);
    this.logger.warn("forward: reconnecting to the receiver", {
      receiver: this.where,
      error: err.message,
      attempt: this.attempt,
      wait_ms: waitMs,
      records_to_resend: recordsIn(this.outbox),
    });
    await sleep(waitMs, this.closing.signal).catch(() => {});
    if (this.closing.signal.aborted) throw err;
    this.reconnects++;
  }

  private async ensureClient(): Promise<FluentClient> {
    if (this.client && !this.connecting) return this.client;
    if (this.connecting) return this.connecting;
    const gen = this.gen;
    const client = new FluentClient(null, this.options);
    useChunkQueue(client);
    this.client = client;
    this.lastSocketError = undefined;
    this.connected = this.everConnected = this.established = false;
    const current = () => gen === this.gen;
    client.socketOn(FluentSocketEvent.ERROR, (err: SocketError) => {
      if (current()) this.lastSocketError = err;
    });
    client.socketOn(FluentSocketEvent.CONNECTED, () => {
      if (current()) this.connected = this.everConnected = true;
    });
    client.socketOn(FluentSocketEvent.ESTABLISHED, () => {
      if (!current()) return;
      this.established = true;
      this.progress();
    });
    client.socketOn(FluentSocketEvent.CLOSE, () => {
      if (!current()) return;
      const inHandshake = !!this.c.shared_key && this.connected && !this.established;
      this.connected = this.established = false;
      const refused = handshakeProblem(this.where, this.lastSocketError);
      if (refused) this.fail(refused);
      else if (inHandshake) this.fail(handshakeClosed(this.where));
      // Chunks written on this connection can never be acknowledged on the next one.
      else if (this.inflight > 0 || this.connecting) this.fail(this.closedError());
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
      return await this.connecting;
    } finally {
      this.connecting = undefined;
    }
  }

  /** Resolve when `cond` holds; reject on failure or when nothing progresses for waitMs. */
  private waitFor(cond: () => boolean, what: "connection" | "acknowledgement"): Promise<void> {
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
          timer = setTimeout(() => this.fail(this.timeoutError(what)), this.waitMs);
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

  private async reset(): Promise<void> {
    const client = this.client;
    this.gen++;
    this.client = undefined;
    this.pending.clear();
    this.inflight = 0;
    this.failure = undefined;
    if (!client) return;
    // shutdown() flushes nothing new, rejects what is queued and ends the socket; never let a dead peer hold us.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([client.shutdown().catch(() => {}), new Promise<void>((r) => (timer = setTimeout(r, 2_000)))]);
    clearTimeout(timer);
  }

  private timeoutError(what: "connection" | "acknowledgement"): CollectorError {
    const s = this.c.ack_timeout;
    if (what === "acknowledgement") return ackTimeout(this.where, this.inflight, s);
    if (this.c.shared_key && this.connected) return noHelo(this.where, s);
    return noConnection(this.where, s, this.lastSocketError);
  }

  /** A connection that never came up is a connect failure (host/port hint); one that worked was closed by the peer. */
  private closedError(e: SocketError | undefined = this.lastSocketError): CollectorError {
    if (!this.everConnected) return connectFailed(this.where, e);
    return receiverClosed(this.where, this.inflight, e);
  }

  private classify(err: unknown): CollectorError {
    if (err instanceof CollectorError) return err;
    const e = err as SocketError | undefined;
    const handshake = handshakeProblem(this.where, e) ?? handshakeProblem(this.where, this.lastSocketError);
    if (handshake) return handshake;
    if (e?.name === "AckTimeoutError") return this.timeoutError("acknowledgement");
    if (e?.name === "AckShutdownError" || e?.name === "QueueShutdownError") return this.closedError();
    if (e?.code) return this.closedError(e);
    return new CollectorError("sink", `forward sink failed: ${e?.message || e?.name || String(err)}`, {
      hint: "the window is not committed and is sent again next cycle",
    });
  }
}

function recordsIn(chunks: readonly Chunk[]): number {
  let n = 0;
  for (const c of chunks) n += c.ids.length;
  return n;
}
