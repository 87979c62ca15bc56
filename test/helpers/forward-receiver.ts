// A real Fluent forward protocol (v1) receiver for tests and benchmarks: TCP (or TLS), msgpack decoded with
// @msgpack/msgpack, all four event modes (Message, Forward, PackedForward, CompressedPackedForward),
// EventTime (ext type 0), the shared-key handshake (HELO/PING/PONG) and `chunk` → `{ack}` answers.
// The handshake behaves like Fluentd's in_forward (default) or like Fluent Bit's (`handshake: "fluent-bit"`,
// modelled on plugins/in_forward/fw_prot.c: HELO nonce and auth salt as msgpack str of raw random bytes, digests
// over those exact bytes, PING fields must be str, a key mismatch closes the connection without a PONG).
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
  /** Whose in_forward handshake to reproduce (default fluentd). */
  handshake?: "fluentd" | "fluent-bit";
}

interface Helo {
  nonce: Buffer;
  authSalt: Buffer;
}

/** msgpack str header + body with arbitrary bytes (our encoder only writes UTF-8 text as str). */
function rawStr(bytes: Uint8Array): Buffer {
  const n = bytes.length;
  const head = n < 32 ? Buffer.from([0xa0 | n]) : n < 256 ? Buffer.from([0xd9, n]) : Buffer.from([0xda, n >> 8, n & 0xff]);
  return Buffer.concat([head, bytes]);
}

/** 16 random bytes that are certainly not UTF-8 (Fluent Bit's are random, so almost never UTF-8). */
function nonUtf8Random(): Buffer {
  const b = randomBytes(16);
  b[0] = 0xff; // never valid in UTF-8
  b[7] = 0xc3; // a lead byte…
  b[8] = 0x28; // …without its continuation byte
  return b;
}

const sha512hex = (...parts: Uint8Array[]) => parts.reduce((hash, p) => hash.update(p), createHash("sha512")).digest("hex");

type Msg = unknown[];

export class ForwardReceiver {
  readonly events: ReceivedEvent[] = [];
  /** Transport messages received (accepted or not). */
  messages = 0;
  connections = 0;
  acksSent = 0;
  crashes = 0;
  readonly modes = new Set<ForwardMode>();
  /** Why handshakes were refused, worded as the receiver logs it. */
  readonly handshakeErrors: string[] = [];
  /** Messages whose `size` option is not their number of entries (the spec's meaning of `size`). */
  readonly badSizes: string[] = [];
  /** Nonces sent in HELO (tests check they were not UTF-8). */
  readonly nonces: Buffer[] = [];
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private opts: ReceiverStartOptions = {};
  private withholdAfter?: number;
  private dropAfter?: number;
  private crashAfterMsg?: number;
  /** Crashed: stores and answers nothing until started again. */
  private down = false;
  private waiters: Array<() => void> = [];
  host = "127.0.0.1";
  port = 0;

  async start(opts: ReceiverStartOptions = {}): Promise<this> {
    this.opts = { ack: true, hostname: "test-receiver", ...opts };
    this.down = false;
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

  /** Cut every open connection now (`reset`: with a TCP RST, so the client's next write fails with EPIPE/ECONNRESET). */
  dropAll(opts: { reset?: boolean } = {}): void {
    for (const s of this.sockets) {
      if (opts.reset && "resetAndDestroy" in s) s.resetAndDestroy();
      else s.destroy();
    }
  }

  /**
   * Die while handling the transport message after `afterMessages` more: its records are kept (stored before the
   * crash, as a receiver with a disk buffer would) but never acknowledged, and the receiver stays down until
   * `reopen()`.
   */
  crashAfter(afterMessages = 0): void {
    this.crashAfterMsg = this.messages + afterMessages;
  }

  /** Listen again on the same port after a crash. */
  async reopen(): Promise<void> {
    await this.start({ ...this.opts, port: this.port });
  }

  /** Crash and come back on the same port after `downMs` (records received so far are kept, as on disk). */
  async restart(downMs: number): Promise<void> {
    await this.close();
    this.crashes++;
    await new Promise((r) => setTimeout(r, downMs));
    await this.start({ ...this.opts, port: this.port });
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
        // A destroyed connection (a crash, a drop) stores nothing more, even what was already buffered.
        if (socket.destroyed || this.down) break;
        this.onMessage(socket, msg);
      }
    } catch {
      socket.destroy();
    }
  }

  private helo(socket: Socket): Helo {
    if (this.opts.handshake === "fluent-bit") {
      // Fluent Bit always sends both values as str of 16 raw random bytes, and no keepalive.
      const nonce = nonUtf8Random();
      const authSalt = nonUtf8Random();
      const text = (t: string) => rawStr(Buffer.from(t));
      socket.write(
        Buffer.concat([
          Buffer.from([0x92]),
          text("HELO"),
          Buffer.from([0x82]),
          text("nonce"),
          rawStr(nonce),
          text("auth"),
          rawStr(authSalt),
        ]),
      );
      this.nonces.push(nonce);
      return { nonce, authSalt };
    }
    const nonce = randomBytes(16);
    const authSalt = this.opts.users ? randomBytes(16) : Buffer.alloc(0);
    socket.write(encode(["HELO", { nonce, auth: authSalt, keepalive: true }]));
    this.nonces.push(nonce);
    return { nonce, authSalt };
  }

  private ping(socket: Socket, msg: Msg, h: Helo): void {
    if (this.opts.handshake === "fluent-bit") return this.pingFluentBit(socket, msg, h);
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
    if (!ok) this.handshakeErrors.push(reason);
    socket.write(encode(["PONG", ok, reason, me, ok ? sha(salt, me, h.nonce, key) : ""]));
    if (!ok) socket.end();
  }

  /**
   * Fluent Bit's check_ping/send_pong: a 6-element array of str; digest = sha512(salt, client hostname, nonce, key)
   * over the bytes as received (the nonce: the 16 raw bytes of its HELO). A shared-key mismatch is only logged:
   * the connection is closed without a PONG. A user mismatch is answered with a PONG false, then closed.
   */
  private pingFluentBit(socket: Socket, msg: Msg, h: Helo): void {
    const refuse = (why: string) => {
      this.handshakeErrors.push(why);
      socket.destroy();
    };
    if (msg.length !== 6 || !msg.every((v) => typeof v === "string")) return refuse("Invalid PING message");
    const [kind, clientHost, salt, digest, user, pwDigest] = (msg as string[]).map((v) => Buffer.from(v, "utf8"));
    if (kind!.toString() !== "PING") return refuse("Invalid PING type message");
    const key = Buffer.from(this.opts.sharedKey!, "utf8");
    if (sha512hex(salt!, clientHost!, h.nonce, key) !== digest!.toString()) return refuse("shared_key mismatch");
    let ok = true;
    if (this.opts.users) {
      const pw = this.opts.users[user!.toString()];
      ok = pw !== undefined && sha512hex(h.authSalt, user!, Buffer.from(pw)) === pwDigest!.toString();
    }
    const me = Buffer.from(this.opts.hostname!);
    if (!ok) this.handshakeErrors.push("user authentication is failed");
    socket.write(encode(["PONG", ok, ok ? "" : "username/password mismatch", me.toString(), sha512hex(salt!, me, h.nonce, key)]));
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
    if (option?.size !== undefined && option.size !== entries.length)
      this.badSizes.push(`${mode} message with size ${String(option.size)} holds ${entries.length} entries`);
    for (const [time, record] of entries)
      this.events.push({ tag, time: time as ReceivedTime | number, record: record as Record<string, unknown>, mode });
    if (this.crashAfterMsg !== undefined && this.messages > this.crashAfterMsg) {
      this.crashAfterMsg = undefined;
      this.crashes++;
      // Acks already written still reach the client (FIN after them, no RST that could discard them there):
      // the test then counts exactly the chunks stored without an ack. Nothing more is stored from now on.
      this.down = true;
      for (const s of this.sockets) s.end();
      this.server?.close();
      for (const r of this.waiters.splice(0)) r();
      return;
    }
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
