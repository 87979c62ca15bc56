// A real Fluent forward protocol (v1) receiver for tests and benchmarks: TCP (or TLS), msgpack decoded with
// @msgpack/msgpack, all four event modes (Message, Forward, PackedForward, CompressedPackedForward),
// EventTime (ext type 0), the shared-key handshake (HELO/PING/PONG) and `chunk` → `{ack}` answers.
// Faults on demand: withhold acks (records are kept, as a receiver that crashed before acking would),
// drop the connection on a message (record not kept), or cut every connection now.
import { createHash, randomBytes } from "node:crypto";
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { gunzipSync } from "node:zlib";
import { decodeMulti, decodeMultiStream, encode, ExtensionCodec } from "@msgpack/msgpack";

/** Forward protocol EventTime: seconds + nanoseconds. */
export class ReceivedTime {
  constructor(
    readonly sec: number,
    readonly nsec: number,
  ) {}
  get ms(): number {
    return this.sec * 1000 + this.nsec / 1e6;
  }
}

const codec = new ExtensionCodec();
codec.register({
  type: 0,
  encode: () => null,
  decode: (data: Uint8Array) => {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return new ReceivedTime(v.getUint32(0), v.getUint32(4));
  },
});

export type ForwardMode = "Message" | "Forward" | "PackedForward" | "CompressedPackedForward";

export interface ReceivedEvent {
  tag: string;
  /** EventTime when the client sent one, else integer seconds. */
  time: ReceivedTime | number;
  record: Record<string, unknown>;
  mode: ForwardMode;
}

export interface ReceiverStartOptions {
  port?: number;
  host?: string;
  /** Answer `chunk` options with `{ack}` (default true). */
  ack?: boolean;
  /** Require the shared-key handshake. */
  sharedKey?: string;
  /** Users for the handshake's user auth (needs sharedKey). */
  users?: Record<string, string>;
  /** PEM key + certificate: serve TLS. */
  tls?: { key: string; cert: string };
  hostname?: string;
}

type Msg = unknown[];

export class ForwardReceiver {
  readonly events: ReceivedEvent[] = [];
  /** Transport messages received (accepted or not). */
  messages = 0;
  connections = 0;
  acksSent = 0;
  readonly modes = new Set<ForwardMode>();
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private opts: ReceiverStartOptions = {};
  private withholdAfter?: number;
  private dropAfter?: number;
  private waiters: Array<() => void> = [];
  host = "127.0.0.1";
  port = 0;

  async start(opts: ReceiverStartOptions = {}): Promise<this> {
    this.opts = { ack: true, hostname: "test-receiver", ...opts };
    this.host = opts.host ?? "127.0.0.1";
    const onSocket = (s: Socket) => void this.serve(s);
    this.server = opts.tls ? createTlsServer({ key: opts.tls.key, cert: opts.tls.cert }, onSocket) : createTcpServer(onSocket);
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(opts.port ?? 0, this.host, () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  static async start(opts: ReceiverStartOptions = {}): Promise<ForwardReceiver> {
    return new ForwardReceiver().start(opts);
  }

  get records(): Array<Record<string, unknown>> {
    return this.events.map((e) => e.record);
  }

  /** Keep records but stop answering acks, after `afterMessages` more transport messages. */
  withholdAcks(afterMessages = 0): void {
    this.withholdAfter = this.messages + afterMessages;
  }

  resumeAcks(): void {
    this.withholdAfter = undefined;
  }

  /** The transport message after `afterMessages` more is not kept: its connection is cut instead (once). */
  dropConnection(afterMessages = 0): void {
    this.dropAfter = this.messages + afterMessages;
  }

  /** Cut every open connection now. */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Resolve once at least n records are held (no timer: the test's own timeout bounds it). */
  async waitForRecords(n: number): Promise<void> {
    while (this.events.length < n) await new Promise<void>((r) => this.waiters.push(r));
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async serve(socket: Socket): Promise<void> {
    this.connections++;
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => {});
    let handshake = this.opts.sharedKey ? this.helo(socket) : undefined;
    try {
      for await (const raw of decodeMultiStream(socket, { extensionCodec: codec })) {
        const msg = raw as Msg;
        if (!Array.isArray(msg)) throw new Error("not a msgpack array");
        if (handshake) {
          this.ping(socket, msg, handshake);
          handshake = undefined;
          continue;
        }
        this.onMessage(socket, msg);
      }
    } catch {
      socket.destroy();
    }
  }

  private helo(socket: Socket): { nonce: Buffer; authSalt: Buffer } {
    const nonce = randomBytes(16);
    const authSalt = this.opts.users ? randomBytes(16) : Buffer.alloc(0);
    socket.write(encode(["HELO", { nonce, auth: authSalt, keepalive: true }]));
    return { nonce, authSalt };
  }

  private ping(socket: Socket, msg: Msg, h: { nonce: Buffer; authSalt: Buffer }): void {
    const [kind, clientHost, salt, digest, user, pwDigest] = msg as [string, string, string | Uint8Array, string, string, string];
    const sha = (...parts: Array<string | Uint8Array>) => parts.reduce((hash, p) => hash.update(p), createHash("sha512")).digest("hex");
    const key = this.opts.sharedKey!;
    let ok = kind === "PING" && digest === sha(salt, clientHost, h.nonce, key);
    let reason = ok ? "" : "shared_key mismatch";
    if (ok && this.opts.users) {
      const pw = this.opts.users[user];
      ok = pw !== undefined && pwDigest === sha(h.authSalt, user, pw);
      if (!ok) reason = "username/password mismatch";
    }
    const me = this.opts.hostname!;
    socket.write(encode(["PONG", ok, reason, me, ok ? sha(salt, me, h.nonce, key) : ""]));
    if (!ok) socket.end();
  }

  private onMessage(socket: Socket, msg: Msg): void {
    const [tag, second, third, fourth] = msg;
    let entries: unknown[][];
    let option: Record<string, unknown> | undefined;
    let mode: ForwardMode;
    if (typeof second === "number" || second instanceof ReceivedTime) {
      mode = "Message";
      entries = [[second, third]];
      option = fourth as Record<string, unknown> | undefined;
    } else if (Array.isArray(second)) {
      mode = "Forward";
      entries = second as unknown[][];
      option = third as Record<string, unknown> | undefined;
    } else if (second instanceof Uint8Array || typeof second === "string") {
      option = third as Record<string, unknown> | undefined;
      let bytes: Uint8Array = typeof second === "string" ? Buffer.from(second, "binary") : second;
      mode = option?.compressed === "gzip" ? "CompressedPackedForward" : "PackedForward";
      if (mode === "CompressedPackedForward") bytes = gunzipSync(bytes);
      entries = [...decodeMulti(bytes, { extensionCodec: codec })] as unknown[][];
    } else {
      throw new Error("unknown forward mode");
    }
    if (typeof tag !== "string") throw new Error("tag is not a string");
    this.messages++;
    if (this.dropAfter !== undefined && this.messages > this.dropAfter) {
      this.dropAfter = undefined;
      socket.destroy();
      return;
    }
    this.modes.add(mode);
    for (const [time, record] of entries)
      this.events.push({ tag, time: time as ReceivedTime | number, record: record as Record<string, unknown>, mode });
    const chunk = option?.chunk;
    const withhold = this.withholdAfter !== undefined && this.messages > this.withholdAfter;
    if (chunk !== undefined && this.opts.ack && !withhold) {
      socket.write(encode({ ack: chunk }));
      this.acksSent++;
    }
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}
