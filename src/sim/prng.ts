// Small, fast, seedable randomness. The simulator must produce the same tenant traffic in every process
// for the same seed, so nothing here may touch Math.random or the clock.

/** Murmur3 finaliser: spreads every input bit over the output; used to derive independent seeds. */
export function mix32(a: number): number {
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  return a >>> 0;
}

/** Hash a list of integers (any sign, up to 2^53) into one 32-bit seed. */
export function hashInts(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = mix32(h ^ (x >>> 0));
    h = mix32((h + Math.floor(x / 4294967296)) | 0);
  }
  return h;
}

/** FNV-1a over a string, finalised; for seeds derived from ids and addresses. */
export function hashString(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** mulberry32: one 32-bit state, good enough statistically and very cheap (millions of draws per second). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed | 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(arr: readonly T[]): T {
    return arr[this.int(arr.length)] as T;
  }
  hex8(): string {
    return hex8(this.u32());
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Table-driven: this runs several times per generated message, toString(16)+padStart is measurably slower. */
export function hex8(n: number): string {
  return HEX[n >>> 24]! + HEX[(n >>> 16) & 255]! + HEX[(n >>> 8) & 255]! + HEX[n & 255]!;
}

/** Format 128 bits (four 32-bit words) as a version-4-looking GUID. */
export function guidFromWords(a: number, b: number, c: number, d: number): string {
  const h = hex8(a) + hex8((b & 0xffff0fff) | 0x00004000) + hex8((c & 0x3fffffff) | 0x80000000) + hex8(d);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A deterministic random GUID from an Rng. */
export function guid(rng: Rng): string {
  return guidFromWords(rng.u32(), rng.u32(), rng.u32(), rng.u32());
}
