// The collector commits through StateStore.commitAsync (issue 17: with hundreds of tenants in one process,
// synchronous fsyncs on the event loop made every tenant wait for every other's disk flush). The async
// commit keeps the sync one's guarantees: mode 0600, journal emptied after, identities kept, no temp left,
// never written through a planted symlink; writeFileAtomicAsync writes pieces in order.
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeFileAtomicAsync } from "../src/cursor/atomic.js";
import { StateStore } from "../src/cursor/store.js";
import { SeenSet } from "../src/dedupe/seen.js";
import { HOUR, tempDir } from "./helpers/harness.js";

const MIN = 60_000;

function fresh(): { dir: string; store: StateStore } {
  const dir = join(tempDir(), "state");
  mkdirSync(dir, { mode: 0o700 });
  return { dir, store: new StateStore(dir, "t", "graph") };
}

describe("async commit", () => {
  it("persists state and identities with mode 0600, empties the journal, leaves no temp file", async () => {
    const { dir, store } = fresh();
    const t = Date.UTC(2025, 0, 1);
    await store.journal([
      { id: "a|1", time: t },
      { id: "b|2", time: t + MIN },
    ]);
    appendFileSync(store.journalFile, `${Math.floor(t / MIN)} abc`); // torn write
    const { state, seen } = store.load();
    state.cursor = new Date(t + HOUR).toISOString();
    await store.commitAsync(state, seen);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    expect(readFileSync(store.journalFile, "utf8")).toBe("");
    expect(readdirSync(dir).filter((n) => n.includes(".tmp-"))).toEqual([]);
    const again = store.load();
    expect(again.state.cursor).toBe(state.cursor);
    expect(again.seen.has("a|1", t)).toBe(true);
    expect(again.seen.has("b|2", t + MIN)).toBe(true);
    store.close();
  });

  it("refuses a state without a cursor and never writes through a symlink at the state file", async () => {
    const { dir, store } = fresh();
    await expect(
      store.commitAsync({ version: 1, tenant_id: "t", source: "graph", windows_done: 0, records_delivered: 0, cycles: 0 } as never),
    ).rejects.toThrow(/without a cursor/);
    const victim = join(dir, "..", "victim.txt");
    writeFileSync(victim, "precious\n");
    symlinkSync(victim, store.file);
    const cursor = new Date(Date.UTC(2025, 0, 1)).toISOString();
    await store.commitAsync(
      { version: 1, tenant_id: "t", source: "graph", cursor, windows_done: 1, records_delivered: 0, cycles: 1 } as never,
      new SeenSet(),
    );
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(store.load().state.cursor).toBe(cursor);
  });

  it("writeFileAtomicAsync writes pieces in order, durable or not, replacing the file whole", async () => {
    const dir = tempDir();
    const file = join(dir, "out.json");
    const pieces = Array.from({ length: 5000 }, (_, i) => `${i},`.repeat(20));
    await writeFileAtomicAsync(file, pieces);
    expect(readFileSync(file, "utf8")).toBe(pieces.join(""));
    await writeFileAtomicAsync(file, "short\n", { durable: false });
    expect(readFileSync(file, "utf8")).toBe("short\n");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((n) => n.startsWith(`.${basename(file)}.tmp-`))).toEqual([]);
  });
});
