// Forward protocol chunks the sink encodes itself, so that only bytes wait for an acknowledgement (issue 19).
//
// Records are encoded as they are sent, into one reused buffer; batch_size of them (or what a flush finds) are
// sealed into a chunk: one buffer holding everything of the transport message in the configured event mode but
// its option map, which carries the chunk id the library draws for each write (a resend is a new write). What
// waits for the ack, and is kept to send again after a reconnect, is that buffer and the records' identities
// (all the collector's confirmations read): no record, no per-record entry or promise. Records die young, before
// the next young-generation collection; a waiting chunk is one off-heap buffer and an array of strings the
// collector's checkpoints hold anyway.
//
// The bytes are those @fluent-org/logger 1.0.10 writes for the same records and chunk id in each mode
// (test/sink-forward-chunks.test.ts compares them with its protocol module's generate*Mode + encodeMessage):
//   Message                  [tag, time, record, {chunk}]                       one record per chunk
//   Forward                  [tag, [[time, record], …], {size, chunk}]
//   PackedForward            [tag, bin(entries), {size, chunk}]                 entries: msgpack [time, record] …
//   CompressedPackedForward  [tag, bin(gzip(entries)), {size, chunk, compressed: "gzip"}]
// `chunk` only when acks are on, as the library does; `size` is the number of entries.
import { gzipSync } from "node:zlib";
import type { EventModes } from "@fluent-org/logger";
import type { Envelope } from "../../types.js";
import { ByteBuffer, entryAtMs, eventTime, libraryEntryEncoder, num, strHeader } from "./entry-encoder.js";

/**
 * What waits for an acknowledgement: the message without its option map (`body[0, length)`, with room after it
 * for the option of its first write), and the identities it carries.
 */
export interface Chunk {
  readonly mode: EventModes;
  readonly body: Buffer;
  readonly length: number;
  readonly ids: readonly string[];
  /** Times written: the first write puts the option in the body's room, a resend writes a copy. */
  writes: number;
}

/** Room for the largest option map: {size: uint32, chunk: the library's 24-character id, compressed: "gzip"}. */
const OPTION_ROOM = 96;
/** Bodies of chunks acknowledged after one write, kept for the next chunks (bounded: inflight is ~4 chunks). */
const POOL = 6;

const fcc = String.fromCharCode;

/** A msgpack str of any well-formed text (tags are configured, so not necessarily ASCII). */
function text(s: string): string {
  return strHeader(Buffer.byteLength(s, "utf8")) + Buffer.from(s, "utf8").toString("latin1");
}

function binHeader(n: number): string {
  if (n < 0x100) return fcc(0xc4, n);
  if (n < 0x10000) return fcc(0xc5, n >>> 8, n & 0xff);
  return fcc(0xc6, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function arrayHeader(n: number): string {
  if (n < 16) return fcc(0x90 + n);
  if (n < 0x10000) return fcc(0xdc, n >>> 8, n & 0xff);
  return fcc(0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** The transport message of `chunk` with its option map (the library's key order: size, chunk, compressed). */
export function chunkMessage(chunk: Chunk, chunkId: string | undefined): Buffer {
  let option: string;
  if (chunk.mode === "Message") {
    option = chunkId === undefined ? "\x80" : "\x81" + text("chunk") + text(chunkId);
  } else {
    const compressed = chunk.mode === "CompressedPackedForward";
    const members = 1 + (chunkId === undefined ? 0 : 1) + (compressed ? 1 : 0);
    option = fcc(0x80 + members) + text("size") + num(chunk.ids.length);
    if (chunkId !== undefined) option += text("chunk") + text(chunkId);
    if (compressed) option += text("compressed") + text("gzip");
  }
  const { body, length } = chunk;
  chunk.writes++;
  // The first write is the body itself, no copy. A resend copies: the old connection may still hold the first.
  if (chunk.writes === 1 && length + option.length <= body.length) {
    body.write(option, length, "latin1");
    return body.subarray(0, length + option.length);
  }
  const tail = Buffer.from(option, "latin1");
  return Buffer.concat([body.subarray(0, length), tail], length + tail.length);
}

/**
 * Encodes records as they are sent into one reused buffer; `seal` copies them out as a chunk. Message mode
 * seals every record on its own (one message, one chunk id each).
 */
export class ChunkWriter {
  private readonly out = new ByteBuffer(64 * 1024);
  private ids: string[] = [];
  private readonly tag: string;
  private readonly libraryEntry = libraryEntryEncoder();
  /**
   * Bodies to reuse, so that a steady stream allocates no buffer per chunk: a body lives until its ack, long
   * enough to be promoted, and an old ArrayBuffer's memory returns only with a full collection (peak RSS).
   */
  private readonly pool: Buffer[] = [];

  constructor(
    readonly mode: EventModes,
    tag: string,
  ) {
    this.tag = text(tag);
  }

  get count(): number {
    return this.ids.length;
  }

  add(e: Envelope): void {
    const out = this.out;
    if (!entryAtMs(out, e.time, e.record)) {
      const bytes = this.libraryEntry(eventTime(e.time), e.record);
      out.room(bytes.length);
      out.buf.set(bytes, out.len);
      out.len += bytes.length;
    }
    this.ids.push(e.id);
  }

  /** The records added since the last seal, as one chunk (undefined if there are none). */
  seal(): Chunk | undefined {
    if (this.ids.length === 0) return undefined;
    let entries = this.out.buf.subarray(0, this.out.len);
    let head: string;
    switch (this.mode) {
      case "Message":
        if (this.ids.length !== 1) throw new Error("forward Message mode: one record per chunk");
        head = "\x94" + this.tag;
        entries = entries.subarray(1); // the entry's [time, record] array header: time and record join the message
        break;
      case "Forward":
        head = "\x93" + this.tag + arrayHeader(this.ids.length);
        break;
      case "CompressedPackedForward":
        entries = gzipSync(entries);
        head = "\x93" + this.tag + binHeader(entries.length);
        break;
      default:
        head = "\x93" + this.tag + binHeader(entries.length);
    }
    const length = head.length + entries.length;
    const body = this.take(length + OPTION_ROOM);
    body.write(head, 0, "latin1");
    body.set(entries, head.length);
    const chunk: Chunk = { mode: this.mode, body, length, ids: this.ids, writes: 0 };
    this.ids = [];
    this.out.len = 0;
    return chunk;
  }

  /**
   * The chunk was acknowledged (or, without acks, written): its body may be reused — unless it was written more
   * than once, since the connection of an earlier write may still be sending from it.
   */
  release(chunk: Chunk): void {
    if (chunk.writes === 1 && this.pool.length < POOL) this.pool.push(chunk.body);
  }

  private take(size: number): Buffer {
    for (let i = this.pool.length - 1; i >= 0; i--) {
      const b = this.pool[i]!;
      if (b.length < size) continue;
      this.pool.splice(i, 1);
      return b;
    }
    this.pool.shift(); // none fits: let the oldest go, so that the pool follows the chunks' size
    // An eighth more, so that chunks of batch_size records, which differ a little in bytes, fit each other's body.
    return Buffer.allocUnsafeSlow(size + (size >>> 3));
  }

  /** Forget the records added since the last seal (one of them could not be encoded). */
  discard(): void {
    this.ids = [];
    this.out.len = 0;
  }
}
