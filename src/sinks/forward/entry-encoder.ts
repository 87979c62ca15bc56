// The forward sink's per-record encoding, without a new msgpack Encoder per record (issue 19).
//
// @fluent-org/logger 1.0.10 packs every event with `protocol.packEntry`, which builds a new @msgpack/msgpack
// Encoder (a fresh buffer, its comment says a shared one had its buffers overwritten) and encodes the key
// strings of every record again, character by character. In the bench's profile that was about half of the
// forward case's CPU (docs/performance.md). This module encodes an entry `[time, record]` into the very same
// bytes (test/sink-forward-encoder.test.ts compares them with the library's for every kind of value), with the
// map keys encoded once and kept, straight into the chunk writer's buffer (chunk.ts): no string or object per
// value, so a record's encoding leaves no garbage behind (an earlier version built each entry as a latin1
// string: about 40 small strings per record, and the copy flattened them).
//
// An entry holding anything else than JSON values (a Date, a Buffer, a class instance) or text that is not well
// formed UTF-16 is left to the library's own encoder (`libraryEntry`), so no input encodes differently.
import { createRequire } from "node:module";
import { EventTime } from "@fluent-org/logger";
import { CollectorError } from "../../errors.js";

type Protocol = { packEntry?: (entry: unknown) => Uint8Array };
/** String.prototype.isWellFormed is in Node 20 but not in the ES2023 typings this project compiles with. */
type WellFormed = string & { isWellFormed(): boolean };

/** A growing byte buffer that entries are encoded into: `buf[0, len)` holds them. */
export class ByteBuffer {
  buf: Buffer;
  len = 0;

  constructor(size = 64 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  /** Makes room for `n` more bytes (a bigger buffer holding what was written). */
  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }
}

/** Thrown inside the encoder for a value it leaves to the library; never escapes the entry functions. */
const NOT_MINE = Symbol("not mine");

/** A msgpack header: `tag` then `size` bytes of `n`, big-endian (room made by the caller). */
function header(w: ByteBuffer, tag: number, n: number, size: 0 | 1 | 2 | 4): void {
  const b = w.buf;
  let p = w.len;
  b[p++] = tag;
  if (size === 4) {
    b[p++] = n >>> 24;
    b[p++] = (n >>> 16) & 0xff;
  }
  if (size >= 2) b[p++] = (n >>> 8) & 0xff;
  if (size >= 1) b[p++] = n & 0xff;
  w.len = p;
}

function u32(w: ByteBuffer, n: number): void {
  const b = w.buf;
  const p = w.len;
  b[p] = n >>> 24;
  b[p + 1] = (n >>> 16) & 0xff;
  b[p + 2] = (n >>> 8) & 0xff;
  b[p + 3] = n & 0xff;
  w.len = p + 4;
}

function strHeaderInto(w: ByteBuffer, bytes: number): void {
  w.room(5);
  if (bytes < 32) header(w, 0xa0 + bytes, 0, 0);
  else if (bytes < 0x100) header(w, 0xd9, bytes, 1);
  else if (bytes < 0x10000) header(w, 0xda, bytes, 2);
  else header(w, 0xdb, bytes, 4);
}

/** Text: short ASCII copied char by char (no call into C++), anything else through Buffer's UTF-8 writer. */
function str(w: ByteBuffer, s: string): void {
  const n = s.length;
  if (n < 32) {
    w.room(n + 1);
    const b = w.buf;
    const at = w.len;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        ascii = false;
        break;
      }
      b[at + 1 + i] = c;
    }
    if (ascii) {
      b[at] = 0xa0 + n;
      w.len = at + 1 + n;
      return;
    }
  }
  const bytes = Buffer.byteLength(s, "utf8");
  // Only text that is not ASCII can hold a lone surrogate: the library's encoder has its own way with those.
  if (bytes !== n && !(s as WellFormed).isWellFormed()) throw NOT_MINE;
  strHeaderInto(w, bytes);
  w.room(bytes);
  w.len += w.buf.write(s, w.len, bytes, "utf8");
}

/** Map keys: the same few dozen names in every record, so each is encoded once (bounded, for odd inputs). */
const keys = new Map<string, Buffer>();
function key(w: ByteBuffer, k: string): void {
  let bytes = keys.get(k);
  if (bytes === undefined) {
    const one = new ByteBuffer(k.length * 3 + 5);
    str(one, k);
    bytes = one.buf.subarray(0, one.len);
    if (keys.size < 4096) keys.set(k, bytes);
  }
  w.room(bytes.length);
  const b = w.buf;
  const at = w.len;
  for (let i = 0; i < bytes.length; i++) b[at + i] = bytes[i]!;
  w.len = at + bytes.length;
}

/** @msgpack/msgpack 2.x's encodeNumber: the smallest integer form for safe integers, else float 64. */
function numInto(w: ByteBuffer, n: number): void {
  w.room(9);
  if (!Number.isSafeInteger(n)) {
    w.buf[w.len] = 0xcb;
    w.buf.writeDoubleBE(n, w.len + 1);
    w.len += 9;
  } else if (n >= 0) {
    if (n < 0x80) header(w, n, 0, 0);
    else if (n < 0x100) header(w, 0xcc, n, 1);
    else if (n < 0x10000) header(w, 0xcd, n, 2);
    else if (n < 0x100000000) header(w, 0xce, n, 4);
    else {
      header(w, 0xcf, Math.floor(n / 0x100000000), 4);
      u32(w, n >>> 0);
    }
  } else if (n >= -0x20) header(w, 0xe0 | (n + 0x20), 0, 0);
  else if (n >= -0x80) header(w, 0xd0, n & 0xff, 1);
  else if (n >= -0x8000) header(w, 0xd1, n & 0xffff, 2);
  else if (n >= -0x80000000) header(w, 0xd2, n >>> 0, 4);
  else {
    // int 64, two's complement: high word from the floor division, low word as unsigned.
    header(w, 0xd3, Math.floor(n / 0x100000000) >>> 0, 4);
    u32(w, n >>> 0);
  }
}

/** The msgpack of a number, as a latin1 string (for the few numbers of a chunk's option map). */
export function num(n: number): string {
  const w = new ByteBuffer(9);
  numInto(w, n);
  return w.buf.toString("latin1", 0, w.len);
}

/** The msgpack str header for `bytes` bytes of UTF-8, as a latin1 string. */
export function strHeader(bytes: number): string {
  const w = new ByteBuffer(5);
  strHeaderInto(w, bytes);
  return w.buf.toString("latin1", 0, w.len);
}

/** An array or map header: fix form under 16 members, else 16- or 32-bit. */
function members(w: ByteBuffer, fix: number, tag16: number, n: number): void {
  w.room(5);
  if (n < 16) header(w, fix + n, 0, 0);
  else if (n < 0x10000) header(w, tag16, n, 2);
  else header(w, tag16 + 1, n, 4);
}

function value(w: ByteBuffer, v: unknown, depth: number): void {
  if (depth > 100) throw NOT_MINE; // the library's maxDepth error is its own to raise
  switch (typeof v) {
    case "string":
      return str(w, v);
    case "number":
      return numInto(w, v);
    case "boolean":
      w.room(1);
      return header(w, v ? 0xc3 : 0xc2, 0, 0);
    case "undefined":
      w.room(1);
      return header(w, 0xc0, 0, 0);
    case "object": {
      if (v === null) {
        w.room(1);
        return header(w, 0xc0, 0, 0);
      }
      if (Array.isArray(v)) {
        members(w, 0x90, 0xdc, v.length);
        for (const item of v) value(w, item, depth + 1);
        return;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) throw NOT_MINE; // Date, Buffer, EventTime, class instances
      return map(w, v as Record<string, unknown>, depth);
    }
    default:
      throw NOT_MINE; // bigint, symbol, function
  }
}

/**
 * for…in instead of Object.keys: the same keys in the same order for a plain object (its prototype is
 * Object.prototype or null, checked by the caller, and neither has enumerable members), without a new array per
 * record: V8 walks its cached key list.
 */
function map(w: ByteBuffer, o: Record<string, unknown>, depth: number): void {
  let n = 0;
  for (const _ in o) n++;
  members(w, 0x80, 0xde, n);
  for (const k in o) {
    key(w, k);
    value(w, o[k], depth + 1);
  }
}

const isU32 = (n: number) => Number.isInteger(n) && n >= 0 && n < 0x100000000;

/** Event time with sub-second precision (EventTime, msgpack ext 0) from epoch milliseconds. */
export function eventTime(ms: number): EventTime {
  const sec = Math.floor(ms / 1000);
  return new EventTime(sec, Math.round((ms - sec * 1000) * 1_000_000));
}

/** The record after an entry's head, begun at `start`; false (and `w` back at `start`) when it is not ours. */
function record(w: ByteBuffer, start: number, v: unknown): boolean {
  try {
    value(w, v, 1);
    return true;
  } catch (err) {
    w.len = start;
    if (err === NOT_MINE) return false;
    throw err;
  }
}

/** An entry's array header and EventTime (ext type 0, 8 bytes: fixext 8). */
function eventTimeHead(w: ByteBuffer, sec: number, nano: number): void {
  w.room(11);
  header(w, 0x92, 0xd7, 1);
  header(w, 0x00, 0, 0);
  u32(w, sec);
  u32(w, nano);
}

/** The entry `[eventTime(ms), v]` appended to `w`; false (`w` unchanged) when the library's encoder should do it. */
export function entryAtMs(w: ByteBuffer, ms: number, v: unknown): boolean {
  const sec = Math.floor(ms / 1000);
  const nano = Math.round((ms - sec * 1000) * 1_000_000);
  if (!isU32(sec) || !isU32(nano)) return false;
  const start = w.len;
  eventTimeHead(w, sec, nano);
  return record(w, start, v);
}

/** One entry `[time, record]` as msgpack bytes, or undefined when the library's encoder should do it. */
export function encodeEntry(e: unknown): Buffer | undefined {
  if (!Array.isArray(e) || e.length !== 2) return undefined;
  const [time, v] = e as [unknown, unknown];
  const w = new ByteBuffer(256);
  if (time instanceof EventTime) {
    if (!isU32(time.epoch) || !isU32(time.nano)) return undefined; // the library's EventTime.pack throws for these
    eventTimeHead(w, time.epoch, time.nano);
  } else if (typeof time === "number") {
    // A plain number is seconds.
    w.room(1);
    header(w, 0x92, 0, 0);
    numInto(w, time);
  } else return undefined;
  return record(w, 0, v) ? Buffer.from(w.buf.subarray(0, w.len)) : undefined;
}

/**
 * The library's own encoding of an entry (its extension codec: EventTime), for what ours leaves to it. Looked up
 * once, when the sink is made: a loud error then if this build of @fluent-org/logger has no `packEntry`.
 */
export function libraryEntryEncoder(): (time: unknown, record: unknown) => Uint8Array {
  const protocol = createRequire(import.meta.url)("@fluent-org/logger/build/src/protocol.js") as Protocol;
  const packEntry = protocol.packEntry;
  if (typeof packEntry !== "function") {
    throw new CollectorError("internal", "@fluent-org/logger has no protocol.packEntry: this build has an unsupported version of it", {
      hint: "reinstall with the package-lock.json shipped with o365-message-trace (npm ci)",
    });
  }
  return (time, record) => packEntry([time, record]);
}
