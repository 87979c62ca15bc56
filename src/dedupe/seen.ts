// Identities already delivered, so re-scans and restarts never emit a record twice. Each identity is kept
// as a 72-bit fingerprint (12 base64url chars: the first 9 bytes of its SHA-1) in a bucket per minute of its
// event time; pruning a horizon drops whole buckets. A new identity can only be mistaken for one of the same
// minute: with n per minute the odds are n / 2^72 per new record, under 1e-18 at 5 M/day (n ≈ 3500), so about
// 1e-9 per year of that traffic. 64 bits would still be safe (2e-16 per record) and save a byte per slot, but
// state files and journals already hold 72-bit fingerprints: keeping all 72 loads them the same both ways.
import { hash } from "node:crypto";

const FP_LEN = 12;
const MINUTE = 60_000;

/** The identity's fingerprint, as the state file and journal store it. */
export function fingerprint(id: string): string {
  // One-shot hash: no Hash object per call.
  return hash("sha1", id, "base64url").slice(0, FP_LEN);
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64_CODES = Uint8Array.from(B64, (c) => c.charCodeAt(0));
const DEC = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) DEC[B64.charCodeAt(i)] = i;
/** Marks a used slot in `tags` (the fingerprint's ninth byte is the low 8 bits). */
const USED = 0x100;
/** Grow by half when more than 4 of 5 slots are used: 53–80 % full, 12–19 bytes per identity. */
const MAX_LOAD = 0.8;

/**
 * One minute's fingerprints in an open-addressing table (linear probing): two 32-bit words and a 16-bit tag
 * per slot (10 bytes, no object per identity), so a day of a large tenant costs tens of MB and the garbage
 * collector never walks it. Capacities are not powers of two (growth by 1.5, slot = word % capacity), which
 * keeps the table dense at every size. Fingerprints are already uniform, so a word is the hash.
 */
export class Bucket {
  private words: Uint32Array;
  private tags: Uint16Array;
  private cap: number;
  size = 0;

  constructor(capacity = 16) {
    this.cap = capacity;
    this.words = new Uint32Array(capacity * 2);
    this.tags = new Uint16Array(capacity);
  }

  /** Slot of (hi, lo, t), or of the empty slot where it would go (as a negative number minus one). */
  private find(hi: number, lo: number, t: number): number {
    const { words, tags, cap } = this;
    const tag = t | USED;
    for (let i = lo % cap; ; i = i + 1 === cap ? 0 : i + 1) {
      const g = tags[i]!;
      if (g === 0) return -i - 1;
      if (g === tag && words[i * 2] === hi && words[i * 2 + 1] === lo) return i;
    }
  }

  has(hi: number, lo: number, t: number): boolean {
    return this.find(hi, lo, t) >= 0;
  }

  /** Bytes held by the table (what the dedupe memory bound counts). */
  get bytes(): number {
    return this.cap * 10;
  }

  add(hi: number, lo: number, t: number): boolean {
    let i = this.find(hi, lo, t);
    if (i >= 0) return false;
    if (this.size + 1 > this.cap * MAX_LOAD) {
      this.grow();
      i = this.find(hi, lo, t);
    }
    const at = -i - 1;
    this.words[at * 2] = hi;
    this.words[at * 2 + 1] = lo;
    this.tags[at] = t | USED;
    this.size++;
    return true;
  }

  private grow(): void {
    const { words, tags, cap } = this;
    this.cap = Math.ceil(cap * 1.5);
    this.words = new Uint32Array(this.cap * 2);
    this.tags = new Uint16Array(this.cap);
    this.size = 0;
    for (let i = 0; i < cap; i++) if (tags[i] !== 0) this.add(words[i * 2]!, words[i * 2 + 1]!, tags[i]! & 0xff);
  }

  /** The fingerprints as one string of 12-character pieces (the state file's form), built in one buffer. */
  pack(): string {
    const { words, tags, cap } = this;
    const out = Buffer.allocUnsafe(this.size * FP_LEN);
    let o = 0;
    for (let i = 0; i < cap; i++) {
      if (tags[i] === 0) continue;
      const hi = words[i * 2]!;
      const lo = words[i * 2 + 1]!;
      const t = tags[i]! & 0xff;
      // 72 bits = three 24-bit groups of four base64 characters each.
      o = enc(out, o, hi >>> 8);
      o = enc(out, o, ((hi & 0xff) << 16) | (lo >>> 16));
      o = enc(out, o, ((lo & 0xffff) << 8) | t);
    }
    return out.toString("latin1", 0, o);
  }
}

function enc(out: Buffer, o: number, v: number): number {
  out[o] = B64_CODES[(v >>> 18) & 63]!;
  out[o + 1] = B64_CODES[(v >>> 12) & 63]!;
  out[o + 2] = B64_CODES[(v >>> 6) & 63]!;
  out[o + 3] = B64_CODES[v & 63]!;
  return o + 4;
}

/** Four base64url characters at `at` → 24 bits, or -1 when one is not base64url. */
function group(fp: string, at: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const ch = fp.charCodeAt(at + k);
    const d = ch < 128 ? DEC[ch]! : -1;
    if (d < 0) return -1;
    v = (v << 6) | d;
  }
  return v;
}

/** 12 base64url characters at `at` → hi/lo/t (32 + 32 + 8 bits) in `scratch`; false when it is not a fingerprint. */
const scratch = new Uint32Array(3);
function decode(fp: string, at = 0): boolean {
  if (fp.length < at + FP_LEN) return false;
  const a = group(fp, at);
  const b = group(fp, at + 4);
  const c = group(fp, at + 8);
  if (a < 0 || b < 0 || c < 0) return false;
  scratch[0] = (a << 8) | (b >>> 16);
  scratch[1] = ((b & 0xffff) << 16) | (c >>> 8);
  scratch[2] = c & 0xff;
  return true;
}

/**
 * Fingerprints without minutes, in one table sized up front: a page's identities, to find in-page duplicates
 * with no object per identity (a Set of strings is copied and promoted by every young collection while the page
 * lasts, issue 19). A string that is not a fingerprint is never found and not kept.
 */
export class FingerprintSet {
  private readonly table: Bucket;

  constructor(expected = 0) {
    this.table = new Bucket(Math.max(16, Math.ceil(expected / MAX_LOAD) + 1));
  }

  has(fp: string): boolean {
    return decode(fp) && this.table.has(scratch[0]!, scratch[1]!, scratch[2]!);
  }

  add(fp: string): void {
    if (decode(fp)) this.table.add(scratch[0]!, scratch[1]!, scratch[2]!);
  }
}

export class SeenSet {
  protected readonly buckets = new Map<number, Bucket>();
  protected count = 0;

  /** The minute's table; a subclass may load it from elsewhere first (src/dedupe/spill.ts). */
  protected bucketFor(minute: number, create: boolean): Bucket | undefined {
    let b = this.buckets.get(minute);
    if (!b && create) this.buckets.set(minute, (b = new Bucket()));
    return b;
  }

  /** Bytes of the fingerprint tables held in memory. */
  memoryBytes(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.bytes;
    return n;
  }

  get size(): number {
    return this.count;
  }

  has(id: string, time: number): boolean {
    const b = this.bucketFor(Math.floor(time / MINUTE), false);
    return !!b && decode(fingerprint(id)) && b.has(scratch[0]!, scratch[1]!, scratch[2]!);
  }

  /** `has` for a fingerprint the caller already computed (the pipeline hashes each identity once). */
  hasFingerprint(fp: string, time: number): boolean {
    const b = this.bucketFor(Math.floor(time / MINUTE), false);
    return !!b && decode(fp) && b.has(scratch[0]!, scratch[1]!, scratch[2]!);
  }

  /** Adds and reports whether it was new. `fp`, when given, is `fingerprint(id)`. */
  add(id: string, time: number, fp?: string): boolean {
    return this.addFingerprint(fp ?? fingerprint(id), Math.floor(time / MINUTE));
  }

  /** `fp` may be a longer string: the 12 characters at `at` are used (journal lines carry many). */
  addFingerprint(fp: string, minute: number, at = 0): boolean {
    // The table first: a subclass may decode other fingerprints while it loads one.
    const b = this.bucketFor(minute, true)!;
    if (!decode(fp, at)) return false;
    if (!b.add(scratch[0]!, scratch[1]!, scratch[2]!)) return false;
    this.count++;
    return true;
  }

  /**
   * Hold the memory bound: a set that spills (src/dedupe/spill.ts) moves minutes to disk here, before
   * `hotFrom` (epoch ms) and beyond its byte cap; this one keeps everything in memory.
   */
  trim(_hotFrom?: number): void {}

  /** Forget identities with event time before `before` (outside every re-scan horizon). */
  prune(before: number): void {
    const limit = Math.floor(before / MINUTE);
    for (const [minute, b] of this.buckets) {
      if (minute < limit) {
        this.count -= b.size;
        this.buckets.delete(minute);
      }
    }
  }

  /**
   * The state file's `seen` object one `"minute":"fpfp…"` member at a time, oldest minute first: the state
   * is written piece by piece instead of as one string the size of all identities (tens of MB at 5 M).
   */
  *jsonMembers(): Generator<string> {
    for (const minute of [...this.buckets.keys()].sort((a, c) => a - c))
      yield `${JSON.stringify(String(minute))}:"${this.buckets.get(minute)!.pack()}"`;
  }

  /** Compact form for the state file: { minute: "fpfpfp…" }. */
  toJSON(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const minute of [...this.buckets.keys()].sort((a, c) => a - c)) out[minute] = this.buckets.get(minute)!.pack();
    return out;
  }

  /** `into`: an empty set to fill (a spilling one, say); default a new in-memory set. */
  static fromJSON(data: unknown, into: SeenSet = new SeenSet()): SeenSet {
    const s = into;
    if (!data || typeof data !== "object") return s;
    for (const [minute, packed] of Object.entries(data as Record<string, unknown>)) {
      if (typeof packed !== "string") continue;
      for (let i = 0; i + FP_LEN <= packed.length; i += FP_LEN) s.addFingerprint(packed, Number(minute), i);
      // A state file written with a larger cap (an earlier release) may hold more than this set keeps.
      s.trim();
    }
    return s;
  }
}
