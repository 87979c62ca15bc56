// Identities already delivered, so re-scans and restarts never emit a record twice. Each identity is kept
// as a 72-bit fingerprint (12 base64url chars) in a bucket per minute of its event time; pruning a horizon
// drops whole buckets. Collision odds at 10 M ids are ~1e-8. Cost: ≈ 12 bytes per id on disk, ≈ 16–32 in memory (see Bucket).
import { hash } from "node:crypto";

const FP_LEN = 12;
const MINUTE = 60_000;

/**
 * The pipeline asks for the same identity's fingerprint up to three times per record (has, journal, add),
 * always within the same page: remember the most recent ones. Bounded: cleared when it reaches the limit.
 */
const recent = new Map<string, string>();
const RECENT_MAX = 20_000;

export function fingerprint(id: string): string {
  let fp = recent.get(id);
  if (fp === undefined) {
    // One-shot hash: no Hash object per call.
    fp = hash("sha1", id, "base64url").slice(0, FP_LEN);
    if (recent.size >= RECENT_MAX) recent.clear();
    recent.set(id, fp);
  }
  return fp;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const DEC = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) DEC[B64.charCodeAt(i)] = i;
const OCCUPIED = 1 << 24;

/**
 * One minute's fingerprints in an open-addressing table of three 24-bit words per slot (12 bytes, no object
 * per identity): a day of a large tenant (millions of identities) costs tens of MB instead of hundreds, and
 * the garbage collector never has to walk it. Fingerprints are already uniform, so a word is the hash.
 */
class Bucket {
  private words: Uint32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 16) {
    this.words = new Uint32Array(capacity * 3);
    this.mask = capacity - 1;
  }

  /** Slot of (a, b, c), or of the empty slot where it would go (as a negative number minus one). */
  private find(a: number, b: number, c: number): number {
    const w = this.words;
    for (let i = (b ^ (c << 7)) & this.mask; ; i = (i + 1) & this.mask) {
      const head = w[i * 3]!;
      if (head === 0) return -i - 1;
      if (head === (a | OCCUPIED) && w[i * 3 + 1] === b && w[i * 3 + 2] === c) return i;
    }
  }

  has(a: number, b: number, c: number): boolean {
    return this.find(a, b, c) >= 0;
  }

  add(a: number, b: number, c: number): boolean {
    let i = this.find(a, b, c);
    if (i >= 0) return false;
    if ((this.size + 1) * 4 > (this.mask + 1) * 3) {
      this.grow();
      i = this.find(a, b, c);
    }
    const at = (-i - 1) * 3;
    this.words[at] = a | OCCUPIED;
    this.words[at + 1] = b;
    this.words[at + 2] = c;
    this.size++;
    return true;
  }

  private grow(): void {
    const old = this.words;
    this.words = new Uint32Array(old.length * 2);
    this.mask = this.mask * 2 + 1;
    this.size = 0;
    for (let i = 0; i < old.length; i += 3) if (old[i] !== 0) this.add(old[i]! & ~OCCUPIED, old[i + 1]!, old[i + 2]!);
  }

  /** The fingerprints as one string of 12-character pieces (the state file's form). */
  pack(): string {
    const w = this.words;
    const parts: string[] = [];
    for (let i = 0; i < w.length; i += 3) if (w[i] !== 0) parts.push(enc(w[i]! & ~OCCUPIED) + enc(w[i + 1]!) + enc(w[i + 2]!));
    return parts.join("");
  }
}

function enc(v: number): string {
  return B64[(v >>> 18) & 63]! + B64[(v >>> 12) & 63]! + B64[(v >>> 6) & 63]! + B64[v & 63]!;
}

/** 12 base64url characters → three 24-bit words in `out`; false when it is not a fingerprint. */
const scratch = new Uint32Array(3);
function decode(fp: string, at = 0): boolean {
  if (fp.length < at + FP_LEN) return false;
  for (let w = 0; w < 3; w++) {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const ch = fp.charCodeAt(at + w * 4 + k);
      const d = ch < 128 ? DEC[ch]! : -1;
      if (d < 0) return false;
      v = (v << 6) | d;
    }
    scratch[w] = v;
  }
  return true;
}

export class SeenSet {
  private readonly buckets = new Map<number, Bucket>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(id: string, time: number): boolean {
    const b = this.buckets.get(Math.floor(time / MINUTE));
    return !!b && decode(fingerprint(id)) && b.has(scratch[0]!, scratch[1]!, scratch[2]!);
  }

  /** Adds and reports whether it was new. */
  add(id: string, time: number): boolean {
    return this.addFingerprint(fingerprint(id), Math.floor(time / MINUTE));
  }

  /** `fp` may be a longer string: the 12 characters at `at` are used (journal lines carry many). */
  addFingerprint(fp: string, minute: number, at = 0): boolean {
    if (!decode(fp, at)) return false;
    let b = this.buckets.get(minute);
    if (!b) this.buckets.set(minute, (b = new Bucket()));
    if (!b.add(scratch[0]!, scratch[1]!, scratch[2]!)) return false;
    this.count++;
    return true;
  }

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

  /** Compact form for the state file: { minute: "fpfpfp…" }. */
  toJSON(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [minute, b] of [...this.buckets].sort((a, c) => a[0] - c[0])) out[minute] = b.pack();
    return out;
  }

  static fromJSON(data: unknown): SeenSet {
    const s = new SeenSet();
    if (!data || typeof data !== "object") return s;
    for (const [minute, packed] of Object.entries(data as Record<string, unknown>)) {
      if (typeof packed !== "string") continue;
      for (let i = 0; i + FP_LEN <= packed.length; i += FP_LEN) s.addFingerprint(packed, Number(minute), i);
    }
    return s;
  }
}
