// Bounded dedupe memory: minutes outside what the next reads can meet go to disk and come back when a read
// reaches their time; a byte cap holds whatever the horizon; a restart (state file + journal + spill files)
// knows every identity it knew before.
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StateStore } from "../src/cursor/store.js";
import { SeenSet } from "../src/dedupe/seen.js";
import { SpillingSeenSet } from "../src/dedupe/spill.js";
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
});
