// Identities already delivered, so re-scans and restarts never emit a record twice. Each identity is kept
// as a 72-bit fingerprint (12 base64url chars) in a bucket per minute of its event time; pruning a horizon
// drops whole buckets. Collision odds at 10 M ids are ~1e-8. Cost: ≈ 12 bytes per id on disk, ≈ 60 in memory.
import { createHash } from "node:crypto";

const FP_LEN = 12;
const MINUTE = 60_000;

export function fingerprint(id: string): string {
  return createHash("sha1").update(id).digest("base64url").slice(0, FP_LEN);
}

export class SeenSet {
  private readonly buckets = new Map<number, Set<string>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(id: string, time: number): boolean {
    return this.buckets.get(Math.floor(time / MINUTE))?.has(fingerprint(id)) ?? false;
  }

  /** Adds and reports whether it was new. */
  add(id: string, time: number): boolean {
    return this.addFingerprint(fingerprint(id), Math.floor(time / MINUTE));
  }

  addFingerprint(fp: string, minute: number): boolean {
    let b = this.buckets.get(minute);
    if (!b) this.buckets.set(minute, (b = new Set()));
    if (b.has(fp)) return false;
    b.add(fp);
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
    for (const [minute, b] of [...this.buckets].sort((a, c) => a[0] - c[0])) out[minute] = [...b].join("");
    return out;
  }

  static fromJSON(data: unknown): SeenSet {
    const s = new SeenSet();
    if (!data || typeof data !== "object") return s;
    for (const [minute, packed] of Object.entries(data as Record<string, unknown>)) {
      if (typeof packed !== "string") continue;
      for (let i = 0; i + FP_LEN <= packed.length; i += FP_LEN) s.addFingerprint(packed.slice(i, i + FP_LEN), Number(minute));
    }
    return s;
  }
}
