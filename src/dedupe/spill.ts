// Dedupe identities with bounded memory, whatever the re-scan horizon and the tenant's volume. A 24-hour
// horizon at 2.5 M rows/hour is 60 M identities (≈ 800 MB as tables): far too many to hold. Only minutes the
// next reads can meet stay in memory (the young history every cycle re-reads); older minutes are spilled to
// files beside the state file and loaded again when a re-scan reaches their time (a lookup of
// that minute). A byte cap evicts the least recently used minutes whatever the schedule, so memory stays
// under it even when a tier's read is wider than expected. Minutes are kept in files of ten (a segment):
// one fsync per ten minutes spilled, and a load brings at most ten minutes (≈ 6 MB at 2.5 M rows/hour).
//
// The cap is small (4 MB) and does not depend on the window or the volume: a window is read newest first,
// so the minutes a read has passed are the least recently used ones and go first, and memory stays flat
// however many identities the window holds (a 24 h `once` or backfill window of 5 M rows as one of 100 k).
// Evicting a minute a later read meets costs one load of its file (≈ 0.8 µs per identity; a clean minute is
// never written again), and that read re-fetches all of the minute's rows from the API, which costs far
// more. A larger cap would not spare `run` those loads either: every cycle opens the state anew, so resident
// minutes are the state file's `seen`, parsed whole at each cycle's start and written whole at each commit
// (≈ 40 MB of text with the former 48 MB cap); with a small cap only the minutes a read reaches are loaded.
// 4 MB and not 8 (issue 19, docs/performance.md "Eighth pass"): the cap is the part of a read's memory that
// grows with the window until the window holds that many identities, so it is the difference between a short
// read's peak RSS and a long one's. Measured at 1 M records in one window against 100 k: 8 MB, 136 against
// 115 MB; 4 MB, 132 against 116–120 MB; same CPU per record.
// The segment in use (the most recently used one) is never evicted: a minute must be in memory to be added
// to, and evicting it would write and reload it at every page.
//
// Crash safety, as before: identities enter through the journal (one fdatasynced line per delivered page)
// and reach either the state file (resident minutes, at commit) or a spill file (written atomically:
// temp + fsync + rename) before the journal is emptied. A minute may be both in the state file and on disk
// (loaded, then added to): identities are only ever added, so the two are merged (union) when it is used.
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../cursor/atomic.js";
import { SeenSet, type Bucket } from "./seen.js";

const MINUTE = 60_000;
const FP_LEN = 12;
/** Minutes per spill file. */
const SEG = 10;
const FILE = /^(-?\d+)\.seg$/;
const seg = (minute: number) => Math.floor(minute / SEG);

export interface SpillOptions {
  /**
   * Cap on the bytes of resident tables (default 4 MB), above which the least recently used segments are
   * spilled; only the segment in use may keep memory above it (a minute's table is as large as its traffic).
   */
  maxBytes?: number;
  /**
   * Below this many resident bytes nothing is spilled by age (default 4 MB, ≈ 300 000 identities): a small
   * tenant's whole horizon stays in memory and costs no spill writes; larger ones keep only what is hot.
   */
  spillAbove?: number;
}

export const DEFAULT_SPILL_MAX_BYTES = 4 * 1024 * 1024;
export const DEFAULT_SPILL_ABOVE = 4 * 1024 * 1024;

export class SpillingSeenSet extends SeenSet {
  readonly dir: string;
  readonly maxBytes: number;
  readonly spillAbove: number;
  /** Segments that have a spill file. */
  private readonly onDisk = new Set<number>();
  /** Resident segments whose spill file has been merged in (or that have none). */
  private readonly merged = new Set<number>();
  /** Segments changed since they were loaded or last written. */
  private readonly dirty = new Set<number>();
  /** Last use of each resident segment (a tick), for eviction when over the byte cap. */
  private readonly lastUse = new Map<number, number>();
  private tick = 0;
  private lastMinute = NaN;
  private lastBucket: Bucket | undefined;
  private loading = false;
  /** Counters for logs, metrics and the bench. */
  spilled = 0;
  loaded = 0;
  peakBytes = 0;

  constructor(dir: string, opts: SpillOptions = {}) {
    super();
    this.dir = dir;
    this.maxBytes = opts.maxBytes ?? DEFAULT_SPILL_MAX_BYTES;
    this.spillAbove = Math.min(opts.spillAbove ?? DEFAULT_SPILL_ABOVE, this.maxBytes);
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const m = FILE.exec(name);
      if (m) this.onDisk.add(Number(m[1]));
      // A writer killed between write and rename leaves a temp file; we run under the state lock, so any
      // temp file here is garbage (its target is intact).
      else if (name.startsWith(".") && name.includes(".tmp-")) unlinkQuiet(join(dir, name));
    }
  }

  /** Segments (ten minutes each) that have a spill file. */
  get spilledSegments(): number {
    return this.onDisk.size;
  }

  protected override bucketFor(minute: number, create: boolean): Bucket | undefined {
    if (minute === this.lastMinute && this.lastBucket) return this.lastBucket;
    const sg = seg(minute);
    if (!this.loading && this.onDisk.has(sg) && !this.merged.has(sg)) this.load(sg);
    let b = this.buckets.get(minute);
    if (!b && create) {
      b = super.bucketFor(minute, true);
      if (!this.onDisk.has(sg)) this.merged.add(sg);
    }
    if (b) {
      if (!this.loading) this.lastUse.set(sg, ++this.tick);
      this.lastMinute = minute;
      this.lastBucket = b;
    }
    return b;
  }

  override addFingerprint(fp: string, minute: number, at = 0): boolean {
    const added = super.addFingerprint(fp, minute, at);
    if (added && !this.loading) this.dirty.add(seg(minute));
    return added;
  }

  /** Merge a segment's spill file into memory. */
  private load(sg: number): void {
    const text = readFileSync(this.file(sg), "latin1");
    this.loading = true;
    try {
      for (const line of text.split("\n")) {
        const sp = line.indexOf(" ");
        if (sp < 0) continue;
        const minute = Number(line.slice(0, sp));
        if (!Number.isInteger(minute) || seg(minute) !== sg) continue;
        for (let i = sp + 1; i + FP_LEN <= line.length; i += FP_LEN) super.addFingerprint(line, minute, i);
      }
    } finally {
      this.loading = false;
      this.lastMinute = NaN;
      this.lastBucket = undefined;
    }
    this.merged.add(sg);
    this.lastUse.set(sg, ++this.tick);
    this.loaded++;
  }

  private file(sg: number): string {
    return join(this.dir, `${sg}.seg`);
  }

  private minutesOf(sg: number): number[] {
    const out: number[] = [];
    for (let m = sg * SEG; m < (sg + 1) * SEG; m++) if (this.buckets.has(m)) out.push(m);
    return out;
  }

  /** Write a resident segment to disk (if changed) and drop it from memory. */
  private spill(sg: number): void {
    const minutes = this.minutesOf(sg);
    if (this.onDisk.has(sg) && !this.merged.has(sg)) this.load(sg);
    if (minutes.length > 0 && (this.dirty.has(sg) || !this.onDisk.has(sg))) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      writeFileAtomic(
        this.file(sg),
        (function* (b: Map<number, Bucket>) {
          for (const m of minutes) yield `${m} ${b.get(m)!.pack()}\n`;
        })(this.buckets),
      );
      this.onDisk.add(sg);
    }
    for (const m of minutes) {
      this.count -= this.buckets.get(m)!.size;
      this.buckets.delete(m);
    }
    this.merged.delete(sg);
    this.dirty.delete(sg);
    this.lastUse.delete(sg);
    this.lastMinute = NaN;
    this.lastBucket = undefined;
    this.spilled++;
  }

  /**
   * Keep in memory only what the next reads can meet: segments wholly before `hotFrom` (epoch ms) go to
   * disk, and while the tables exceed the byte cap the least recently used segments follow.
   */
  override trim(hotFrom?: number): void {
    if (hotFrom !== undefined && this.memoryBytes() > this.spillAbove) {
      const limit = seg(Math.floor(hotFrom / MINUTE));
      const old = new Set<number>();
      for (const minute of this.buckets.keys()) if (seg(minute) < limit) old.add(seg(minute));
      for (const sg of old) this.spill(sg);
    }
    if (this.memoryBytes() <= this.maxBytes) return;
    const byAge = [...this.lastUse.entries()].sort((a, c) => a[1] - c[1]);
    // The most recently used segment stays: the read is in it (see the top of this file).
    byAge.pop();
    for (const [sg] of byAge) {
      if (this.memoryBytes() <= this.maxBytes * 0.75) break;
      this.spill(sg);
    }
  }

  /** Track the peak between trims too (the bench reports it). */
  override memoryBytes(): number {
    const n = super.memoryBytes();
    if (n > this.peakBytes) this.peakBytes = n;
    return n;
  }

  override prune(before: number): void {
    super.prune(before);
    // Whole segments only: a segment straddling the limit stays until all of it is old.
    const limit = seg(Math.floor(before / MINUTE));
    for (const sg of [...this.onDisk]) {
      if (sg >= limit) continue;
      unlinkQuiet(this.file(sg));
      this.onDisk.delete(sg);
    }
    for (const sg of [...this.lastUse.keys()]) {
      if (this.minutesOf(sg).length > 0) continue;
      this.lastUse.delete(sg);
      this.merged.delete(sg);
      this.dirty.delete(sg);
    }
    this.lastMinute = NaN;
    this.lastBucket = undefined;
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}
