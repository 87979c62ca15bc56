// Bounded dedupe memory: minutes outside what the next reads can meet go to disk and come back when a read
// reaches their time; a byte cap holds whatever the horizon; a restart (state file + journal + spill files)
// knows every identity it knew before.
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StateStore } from "../src/cursor/store.js";
import { SeenSet } from "../src/dedupe/seen.js";
import { DEFAULT_SPILL_MAX_BYTES, SpillingSeenSet } from "../src/dedupe/spill.js";
import { tempDir } from "./helpers/harness.js";

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const id = (m: number, k: number) => `trace-${m}-${k}|rcpt${k}@contoso.com|Delivered`;

describe("SpillingSeenSet", () => {
  it("spills minutes before the hot edge and finds them again on lookup", () => {
    const dir = join(tempDir(), "seen");
    const s = new SpillingSeenSet(dir, { spillAbove: 0 });
    for (let m = 0; m < 120; m++) for (let k = 0; k < 50; k++) s.add(id(m, k), T0 + m * MIN + k);
    s.trim(T0 + 60 * MIN);
    expect(s.size).toBe(60 * 50);
    expect(readdirSync(dir).filter((f) => f.endsWith(".seg"))).toHaveLength(6);
    // A lookup in a spilled minute loads it: every identity is still known, unknown ones are not.
    for (let m = 0; m < 120; m += 7) expect(s.has(id(m, 3), T0 + m * MIN)).toBe(true);
    expect(s.has(id(5, 999), T0 + 5 * MIN)).toBe(false);
    expect(s.loaded).toBeGreaterThan(0);
    // Adding to a loaded minute and spilling it again keeps old and new.
    expect(s.add(id(5, 1000), T0 + 5 * MIN)).toBe(true);
    expect(s.add(id(5, 1), T0 + 5 * MIN)).toBe(false);
    s.trim(T0 + 60 * MIN);
    const fresh = new SpillingSeenSet(dir, { spillAbove: 0 });
    expect(fresh.has(id(5, 1000), T0 + 5 * MIN) && fresh.has(id(5, 1), T0 + 5 * MIN)).toBe(true);
  });

  it("holds its byte cap whatever the horizon, evicting the least recently used minutes", () => {
    const dir = join(tempDir(), "seen");
    const cap = 256 * 1024;
    const s = new SpillingSeenSet(dir, { maxBytes: cap });
    let peak = 0;
    for (let m = 0; m < 600; m++) {
      for (let k = 0; k < 200; k++) s.add(id(m, k), T0 + m * MIN);
      s.trim();
      peak = Math.max(peak, s.memoryBytes());
    }
    expect(peak).toBeLessThanOrEqual(cap);
    for (const m of [0, 123, 599]) expect(s.has(id(m, 199), T0 + m * MIN)).toBe(true);
  });

  it("prune removes old minutes from memory and disk", () => {
    const dir = join(tempDir(), "seen");
    const s = new SpillingSeenSet(dir, { spillAbove: 0 });
    for (let m = 0; m < 30; m++) s.add(id(m, 0), T0 + m * MIN);
    s.trim(T0 + 20 * MIN);
    s.prune(T0 + 10 * MIN);
    expect(s.has(id(3, 0), T0 + 3 * MIN)).toBe(false);
    expect(s.has(id(15, 0), T0 + 15 * MIN)).toBe(true);
    expect(existsSync(join(dir, `${Math.floor(Math.floor(T0 / MIN) / 10)}.seg`))).toBe(false);
  });

  it("ignores and removes a temp file a killed writer left behind", () => {
    const dir = join(tempDir(), "seen");
    const s = new SpillingSeenSet(dir, { spillAbove: 0 });
    s.add(id(0, 0), T0);
    s.trim(T0 + 20 * MIN);
    writeFileSync(join(dir, `.${Math.floor(T0 / MIN / 10)}.seg.tmp-99999`), "garbage");
    const again = new SpillingSeenSet(dir, { spillAbove: 0 });
    expect(again.has(id(0, 0), T0)).toBe(true);
    expect(readdirSync(dir).some((f) => f.includes(".tmp-"))).toBe(false);
  });

  it("crash-safe with the state store: state file + journal + spill files give back every identity", async () => {
    const root = tempDir();
    const store = new StateStore(join(root, "state"), "t", "graph");
    const spillDir = join(root, "state", "t.graph.seen");
    const lock = store.lock();
    const { state } = store.load();
    state.cursor = new Date(T0 + 40 * MIN).toISOString();
    const s = new SpillingSeenSet(spillDir, { spillAbove: 0 });
    for (let m = 0; m < 40; m++) for (let k = 0; k < 20; k++) s.add(id(m, k), T0 + m * MIN);
    s.trim(T0 + 30 * MIN);
    store.commit(state, s);
    // After the commit: a page journaled into an old (spilled) minute and a young one, then a "crash".
    const late = [
      { id: id(2, 500), time: T0 + 2 * MIN },
      { id: id(35, 500), time: T0 + 35 * MIN },
    ];
    await store.journal(late);
    for (const e of late) s.add(e.id, e.time);
    store.close();
    lock.release();
    const back = store.load(() => new SpillingSeenSet(spillDir, { spillAbove: 0 })).seen;
    for (const e of late) expect(back.has(e.id, e.time)).toBe(true);
    for (let m = 0; m < 40; m += 3) expect(back.has(id(m, 19), T0 + m * MIN)).toBe(true);
    // A plain in-memory set from the same state sees only the resident part: the spill files are the rest.
    expect(store.load().seen).toBeInstanceOf(SeenSet);
  });

  it("a whole day read newest first peaks the same at 5× the identities: the default cap does not grow with the window", () => {
    expect(DEFAULT_SPILL_MAX_BYTES).toBeLessThanOrEqual(4 * 1024 * 1024);
    const cap = 96 * 1024;
    const peakFor = (perMinute: number) => {
      const dir = join(tempDir(), "seen");
      const s = new SpillingSeenSet(dir, { maxBytes: cap });
      // One 24 h window read like a `once` or backfill window: newest minute first, a trim after each page,
      // and the whole window counts as hot (what the next cycle's re-scan may read), so only the cap spills.
      const page = 500;
      let peak = 0;
      let n = 0;
      for (let m = 1439; m >= 0; m--) {
        for (let k = 0; k < perMinute; k++) {
          s.add(id(m, k), T0 + m * MIN);
          if (++n % page === 0) {
            peak = Math.max(peak, s.memoryBytes());
            s.trim(T0);
          }
        }
      }
      peak = Math.max(peak, s.memoryBytes());
      for (const m of [0, 700, 1439]) expect(s.has(id(m, perMinute - 1), T0 + m * MIN)).toBe(true);
      expect(s.has(id(700, perMinute), T0 + 700 * MIN)).toBe(false);
      // The tables of one page, at the lowest load a table has (53 %): what a trim may find above the cap.
      return { peak, spilled: s.spilled, pageBytes: (Math.max(page, perMinute * 10) * 10) / 0.53 };
    };
    const one = peakFor(20);
    const five = peakFor(100);
    // Bounded by the cap plus the pages in hand (tables grow by half at a time, so allow two).
    expect(one.peak).toBeLessThanOrEqual(cap + 2 * one.pageBytes);
    expect(five.peak).toBeLessThanOrEqual(cap + 2 * five.pageBytes);
    expect(five.peak).toBeLessThan(one.peak * 1.5);
    // Each passed segment is written once: a read that moves on never writes a segment twice.
    expect(five.spilled).toBeLessThanOrEqual(144);
  });

  it("never evicts the segment in use: one segment above the cap is not written and reloaded at every page", () => {
    const dir = join(tempDir(), "seen");
    const s = new SpillingSeenSet(dir, { maxBytes: 16 * 1024 });
    // 20 000 identities in one minute (a large tenant's busy minute), 40 pages of 500, a trim after each.
    for (let k = 0; k < 20_000; k++) {
      s.add(id(3, k), T0 + 3 * MIN);
      if ((k + 1) % 500 === 0) s.trim(T0);
    }
    expect(s.memoryBytes()).toBeGreaterThan(16 * 1024);
    expect({ spilled: s.spilled, loaded: s.loaded }).toEqual({ spilled: 0, loaded: 0 });
    expect(s.size).toBe(20_000);
    // Once the read moves to another segment, the one it left goes to disk (once) and is still known.
    s.add(id(40, 0), T0 + 40 * MIN);
    s.trim(T0);
    expect(s.spilled).toBe(1);
    expect(s.has(id(3, 19_999), T0 + 3 * MIN)).toBe(true);
  });

  it("replaying a window-sized journal after a crash holds the cap while it loads", async () => {
    const root = tempDir();
    const store = new StateStore(join(root, "state"), "t", "graph");
    const spillDir = join(root, "state", "t.graph.seen");
    const lock = store.lock();
    // 300 pages of 200 identities, newest minute first, journaled and never committed (a crash late in a
    // large window): the journal holds the window's identities.
    for (let p = 0; p < 300; p++) {
      const page = [];
      for (let k = 0; k < 200; k++) page.push({ id: id(1000 - p, k), time: T0 + (1000 - p) * MIN });
      await store.journal(page);
    }
    store.close();
    lock.release();
    const cap = 32 * 1024;
    let peak = 0;
    class Watched extends SpillingSeenSet {
      override addFingerprint(fp: string, minute: number, at = 0): boolean {
        const added = super.addFingerprint(fp, minute, at);
        if (this.size % 1000 === 0) peak = Math.max(peak, this.memoryBytes());
        return added;
      }
    }
    const back = store.load(() => new Watched(spillDir, { maxBytes: cap })).seen;
    peak = Math.max(peak, back.memoryBytes());
    // 64 journal lines between trims, each a minute's table of 200 (≈ 3–4 KB): the cap plus those.
    expect(peak).toBeLessThanOrEqual(cap + 64 * 4 * 1024);
    expect(peak).toBeLessThan((300 * 200 * 10) / 0.8);
    for (let p = 0; p < 300; p += 13) expect(back.has(id(1000 - p, 199), T0 + (1000 - p) * MIN)).toBe(true);
    expect(back.has(id(1000, 200), T0 + 1000 * MIN)).toBe(false);
  });

  it("a state file holding more identities than the cap (an earlier release kept up to 48 MB) loads within the cap", () => {
    const root = tempDir();
    const store = new StateStore(join(root, "state"), "t", "graph");
    const spillDir = join(root, "state", "t.graph.seen");
    const lock = store.lock();
    const { state } = store.load();
    state.cursor = new Date(T0 + 600 * MIN).toISOString();
    const all = new SeenSet();
    for (let m = 0; m < 600; m++) for (let k = 0; k < 100; k++) all.add(id(m, k), T0 + m * MIN);
    store.commit(state, all);
    const cap = 32 * 1024;
    const back = store.load(() => new SpillingSeenSet(spillDir, { maxBytes: cap })).seen as SpillingSeenSet;
    // One minute's table at most above the cap: the trim runs after each minute of the file.
    expect(back.peakBytes).toBeLessThanOrEqual(cap + (100 * 10) / 0.53);
    expect(back.spilledSegments).toBeGreaterThan(50);
    for (let m = 0; m < 600; m += 17) expect(back.has(id(m, 99), T0 + m * MIN)).toBe(true);
    expect(back.has(id(300, 100), T0 + 300 * MIN)).toBe(false);
    store.close();
    lock.release();
  });
});
