// The forward sink's per-record encoding, without a new msgpack Encoder per record (issue 19).
//
// @fluent-org/logger 1.0.10 packs every event with `protocol.packEntry`, which builds a new @msgpack/msgpack
// Encoder (a fresh buffer, its comment says a shared one had its buffers overwritten) and encodes the key
// strings of every record again, character by character. In the bench's profile that was about half of the
// forward case's CPU (docs/performance.md). This module encodes an entry `[time, record]` into the very same
// bytes (test/sink-forward-encoder.test.ts compares them with the library's for every kind of value), with the
// map keys encoded once and kept and ASCII text copied as is. The bytes are built in a latin1 string (one char
// per byte), which V8 appends to cheaply; the sink's chunk writer (chunk.ts) copies it into the chunk's buffer.
//
// An entry holding anything else than JSON values (a Date, a Buffer, a class instance) or text that is not well
// formed UTF-16 is left to the library's own encoder (`libraryEntry`), so no input encodes differently.
import { createRequire } from "node:module";
import { EventTime } from "@fluent-org/logger";
import { CollectorError } from "../../errors.js";

type Protocol = { packEntry?: (entry: unknown) => Uint8Array };
/** String.prototype.isWellFormed is in Node 20 but not in the ES2023 typings this project compiles with. */
type WellFormed = string & { isWellFormed(): boolean };

const fcc = String.fromCharCode;
// eslint-disable-next-line no-control-regex -- control characters are ASCII too: copied as they are
const ASCII = /^[\x00-\x7f]*$/;
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const bigEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;

/** Thrown inside the encoder for a value it leaves to the library; never escapes `encodeEntry`. */
const NOT_MINE = Symbol("not mine");

function u16(n: number): string {
  return fcc(n >>> 8, n & 0xff);
}
function u32(n: number): string {
  return fcc(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function strHeader(bytes: number): string {
  if (bytes < 32) return fcc(0xa0 + bytes);
  if (bytes < 0x100) return fcc(0xd9, bytes);
  if (bytes < 0x10000) return fcc(0xda) + u16(bytes);
  return fcc(0xdb) + u32(bytes);
}

function str(s: string): string {
  if (ASCII.test(s)) return strHeader(s.length) + s;
  if (!(s as WellFormed).isWellFormed()) throw NOT_MINE; // lone surrogates: the library's encoder has its own way with them
  const utf8 = Buffer.from(s, "utf8").toString("latin1");
  return strHeader(utf8.length) + utf8;
}

/** Map keys: the same few dozen names in every record, so each is encoded once (bounded, for odd inputs). */
const keys = new Map<string, string>();
function key(k: string): string {
  let out = keys.get(k);
  if (out === undefined) {
    out = str(k);
    if (keys.size < 4096) keys.set(k, out);
  }
  return out;
}

function float64(n: number): string {
  f64[0] = n;
  const b = f64Bytes;
  return bigEndian
    ? fcc(0xcb, b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!)
    : fcc(0xcb, b[7]!, b[6]!, b[5]!, b[4]!, b[3]!, b[2]!, b[1]!, b[0]!);
}

/** @msgpack/msgpack 2.x's encodeNumber: the smallest integer form for safe integers, else float 64. */
export function num(n: number): string {
  if (!Number.isSafeInteger(n)) return float64(n);
  if (n >= 0) {
    if (n < 0x80) return fcc(n);
    if (n < 0x100) return fcc(0xcc, n);
    if (n < 0x10000) return fcc(0xcd) + u16(n);
    if (n < 0x100000000) return fcc(0xce) + u32(n);
    return fcc(0xcf) + u32(Math.floor(n / 0x100000000)) + u32(n >>> 0);
  }
  if (n >= -0x20) return fcc(0xe0 | (n + 0x20));
  if (n >= -0x80) return fcc(0xd0, n & 0xff);
  if (n >= -0x8000) return fcc(0xd1) + u16(n & 0xffff);
  if (n >= -0x80000000) return fcc(0xd2) + u32(n >>> 0);
  // int 64, two's complement: high word from the floor division, low word as unsigned.
  return fcc(0xd3) + u32(Math.floor(n / 0x100000000) >>> 0) + u32(n >>> 0);
}

function value(v: unknown, depth: number): string {
  if (depth > 100) throw NOT_MINE; // the library's maxDepth error is its own to raise
  switch (typeof v) {
    case "string":
      return str(v);
    case "number":
      return num(v);
    case "boolean":
      return v ? "\xc3" : "\xc2";
    case "undefined":
      return "\xc0";
    case "object": {
      if (v === null) return "\xc0";
      if (Array.isArray(v)) {
        const n = v.length;
        let out = n < 16 ? fcc(0x90 + n) : n < 0x10000 ? fcc(0xdc) + u16(n) : fcc(0xdd) + u32(n);
        for (const item of v) out += value(item, depth + 1);
        return out;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) throw NOT_MINE; // Date, Buffer, EventTime, class instances
      return map(v as Record<string, unknown>, depth);
    }
    default:
      throw NOT_MINE; // bigint, symbol, function
  }
}

function map(o: Record<string, unknown>, depth: number): string {
  const names = Object.keys(o);
  const n = names.length;
  let out = n < 16 ? fcc(0x80 + n) : n < 0x10000 ? fcc(0xde) + u16(n) : fcc(0xdf) + u32(n);
  for (const k of names) out += key(k) + value(o[k], depth + 1);
  return out;
}

const isU32 = (n: number) => Number.isInteger(n) && n >= 0 && n < 0x100000000;

/** Event time with sub-second precision (EventTime, msgpack ext 0) from epoch milliseconds. */
export function eventTime(ms: number): EventTime {
  const sec = Math.floor(ms / 1000);
  return new EventTime(sec, Math.round((ms - sec * 1000) * 1_000_000));
}

/** `entryLatin1(eventTime(ms), record)` without the EventTime object. */
export function entryAtMs(ms: number, record: unknown): string | undefined {
  const sec = Math.floor(ms / 1000);
  const nano = Math.round((ms - sec * 1000) * 1_000_000);
  if (!isU32(sec) || !isU32(nano)) return undefined;
  try {
    return "\x92\xd7\x00" + u32(sec) + u32(nano) + value(record, 1);
  } catch (err) {
    if (err === NOT_MINE) return undefined;
    throw err;
  }
}

/** One entry `[time, record]` as msgpack bytes in a latin1 string, or undefined when the library's encoder should do it. */
export function entryLatin1(time: unknown, record: unknown): string | undefined {
  let head: string;
  // EventTime: ext type 0, 8 bytes (fixext 8); a plain number is seconds.
  if (time instanceof EventTime) {
    if (!isU32(time.epoch) || !isU32(time.nano)) return undefined; // the library's EventTime.pack throws for these
    head = "\x92\xd7\x00" + u32(time.epoch) + u32(time.nano);
  } else if (typeof time === "number") head = "\x92" + num(time);
  else return undefined;
  try {
    return head + value(record, 1);
  } catch (err) {
    if (err === NOT_MINE) return undefined;
    throw err;
  }
}

/** One entry `[time, record]` as msgpack bytes, or undefined when the library's encoder should do it. */
export function encodeEntry(entry: unknown): Buffer | undefined {
  if (!Array.isArray(entry) || entry.length !== 2) return undefined;
  const s = entryLatin1(entry[0], entry[1]);
  return s === undefined ? undefined : Buffer.from(s, "latin1");
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
