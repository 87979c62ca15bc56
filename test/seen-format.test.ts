// The identity table keeps its on-disk form: state files and journals written before the 10-byte slots
// (72-bit fingerprints as 12 base64url characters, the first 9 bytes of SHA-1) load and match, and what it
// writes now is exactly that form, through growth and the streamed state file.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FingerprintSet, SeenSet } from "../src/dedupe/seen.js";
import { StateStore } from "../src/cursor/store.js";
import { tempDir } from "./helpers/harness.js";

const MIN = 60_000;
const t0 = Date.UTC(2026, 0, 1);
// The fingerprint as the previous version defined it, computed independently of src/dedupe.
const oldFp = (id: string) => createHash("sha1").update(id).digest("base64url").slice(0, 12);
const ids = (n: number, minute: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `trace-${minute}-${i}|user${i}@contoso.com`, time: t0 + minute * MIN + i }));

describe("identity table on-disk form", () => {
  it("loads a state written by the previous version and writes the same 12-character fingerprints", () => {
    // 5000 identities in one minute: the table grows many times (16 → 5000+ slots, capacities not powers of two).
    const rows = [...ids(5000, 0), ...ids(3, 7)];
    const old: Record<string, string> = {};
    for (const r of rows) old[Math.floor(r.time / MIN)] = (old[Math.floor(r.time / MIN)] ?? "") + oldFp(r.id);
    const s = SeenSet.fromJSON(old);
    expect(s.size).toBe(rows.length);
    expect(rows.every((r) => s.has(r.id, r.time))).toBe(true);
    expect(s.has("trace-0-0|someone-else@contoso.com", t0)).toBe(false);
    expect(s.has(rows[0]!.id, t0 + 5 * MIN)).toBe(false); // right identity, other minute
    const out = s.toJSON();
    expect(Object.keys(out)).toEqual(Object.keys(old));
    for (const [minute, packed] of Object.entries(out)) {
      const pieces = (p: string) => (p.match(/.{12}/g) ?? []).sort();
      expect(pieces(packed)).toEqual(pieces(old[minute]!));
    }
  });

  it("the streamed state file is the JSON of the state with its identities, and a journal replays into it", () => {
    const dir = join(tempDir(), "state");
    const store = new StateStore(dir, "contoso.onmicrosoft.com", "graph");
    const { state, seen } = store.load();
    const rows = [...ids(200, 1), ...ids(50, 2)];
    for (const r of rows) seen.add(r.id, r.time);
    state.cursor = new Date(t0 + 60 * MIN).toISOString();
    store.commit(state, seen);
    const file = JSON.parse(readFileSync(store.file, "utf8"));
    expect(file.cursor).toBe(state.cursor);
    expect(file.seen).toEqual(seen.toJSON());
    const later = ids(5, 3);
    return store.journal(later).then(() => {
      const again = store.load();
      store.close();
      expect(again.seen.size).toBe(rows.length + later.length);
      expect([...rows, ...later].every((r) => again.seen.has(r.id, r.time))).toBe(true);
    });
  });
});

describe("a page's fingerprint set (in-page duplicates, issue 19)", () => {
  it("finds every fingerprint added, through growth past its expected size, and nothing else", () => {
    const page = new FingerprintSet(100);
    const added = ids(300, 1).map((e) => oldFp(e.id));
    const others = ids(300, 2).map((e) => oldFp(e.id));
    for (const fp of added) {
      expect(page.has(fp)).toBe(false);
      page.add(fp);
      expect(page.has(fp)).toBe(true);
    }
    expect(added.every((fp) => page.has(fp))).toBe(true);
    expect(others.some((fp) => page.has(fp))).toBe(false);
    // Not a fingerprint: never kept, never found.
    page.add("not a fingerprint");
    expect(page.has("not a fingerprint")).toBe(false);
  });
});
