// Issue 5: crash safety. `once` (the real CLI, a subprocess) is killed with SIGKILL at random moments —
// some at a random time, some right after its k-th write to stdout, i.e. between a page reaching the pipe
// and its identities being journaled — at least 30 times, restarted after each. The state file must parse
// after every kill; the union of everything that reached stdout must be exactly the truth once deduplicated
// by identity; raw duplicates are measured and must stay within one page per crash.
import { appendFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../src/cursor/store.js";
import { identity } from "../src/schema/mapper.js";
import { Rng } from "../src/sim/prng.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { HOUR, simConfigInput, tempDir, truthIds, writeConfig } from "./helpers/harness.js";
import { findSecrets, onceProcess, readTree } from "./helpers/reliability.js";

const T0 = Date.UTC(2026, 10, 22, 0, 0, 0);
const PAGE = 15;
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ seed: 41, ratePerHour: 150, maxRecipients: 3 });
});
afterAll(async () => {
  await sim?.close();
});

/** Identities of complete NDJSON lines; a line cut by the kill is counted, not parsed. */
function lines(text: string): { ids: string[]; torn: number } {
  const parts = text.split("\n");
  const tail = parts.pop()!;
  const ids = parts.filter(Boolean).map((l) => {
    const r = JSON.parse(l) as Record<string, string>;
    return identity(r["o365.message.trace_id"], r["o365.message.recipient"], r["o365.message.status"]);
  });
  return { ids, torn: tail === "" ? 0 : 1 };
}

describe("kill -9 at random points, restarted each time", () => {
  it("≥ 30 kills: state always parses, union == truth after dedupe, raw duplicates ≤ one page per crash", async () => {
    const dir = tempDir();
    const stateDir = join(dir, "state");
    const config = writeConfig(
      dir,
      simConfigInput(sim, dir, {
        start: new Date(T0).toISOString(),
        window: 15,
        delay: 0,
        page_size: PAGE,
        max_windows_per_run: 1000,
        dedupe: true,
        // The cursor path under kill -9; re-scans under crashes are covered in freshness.test.ts.
        rescan: { horizon: 0 },
        request_budget: { limit: 100000, window_seconds: 1 },
        log: { level: "warn" },
      }),
    );
    const store = new StateStore(stateDir, sim.tenantId, "graph");
    const rng = new Rng(7);
    let now = T0 + 2 * HOUR;
    sim.setNow(now);
    const seen = new Map<string, number>();
    let kills = 0;
    let raw = 0;
    let torn = 0;
    let worstPerCrash = 0;
    let everything = "";
    let lastCrashed = false;
    for (let run = 0; run < 80 && (kills < 30 || lastCrashed); run++) {
      // Kill half the runs at a random instant (start-up, token, paging, fsync), half right after a write.
      const kill = kills >= 30 ? undefined : rng.chance(0.5) ? { afterMs: 150 + rng.int(900) } : { afterChunks: 1 + rng.int(12) };
      const r = await onceProcess(config, now, kill, 30_000);
      everything += r.stdout + r.stderr;
      const { ids, torn: t } = lines(r.stdout);
      torn += t;
      let dupHere = 0;
      for (const id of ids) {
        const n = seen.get(id) ?? 0;
        if (n > 0) dupHere++;
        seen.set(id, n + 1);
      }
      raw += dupHere;
      if (lastCrashed) worstPerCrash = Math.max(worstPerCrash, dupHere);
      if (r.killed) kills++;
      else expect(r.code, r.stderr).toBe(0);
      lastCrashed = r.killed;
      // After every exit, however abrupt: the state file is whole, and the store loads it (with its journal).
      if (existsSync(store.file)) expect(() => JSON.parse(readFileSync(store.file, "utf8"))).not.toThrow();
      expect(() => store.load()).not.toThrow();
      // A run that finished means all work so far is done: let an hour more of mail arrive.
      if (!r.killed && store.load().state.cursor === new Date(now).toISOString()) {
        now += HOUR;
        sim.setNow(now);
      }
    }
    expect(kills).toBeGreaterThanOrEqual(30);
    expect(lastCrashed).toBe(false);
    const cursor = Date.parse(store.load().state.cursor!);
    const truth = new Set(truthIds(sim.truth(new Date(T0), new Date(cursor))));
    const lost = [...truth].filter((id) => !seen.has(id)).length;
    const extra = [...seen.keys()].filter((id) => !truth.has(id)).length;
    expect({ lost, extra }).toEqual({ lost: 0, extra: 0 });
    expect(seen.size).toBe(truth.size); // union, deduplicated by identity, == truth
    expect(worstPerCrash).toBeLessThanOrEqual(PAGE); // at most the page between stdout and the journal
    // No temp files left that a reader could mistake for state, no secret anywhere.
    expect(readdirSync(stateDir).filter((f) => f.endsWith(".json"))).toEqual([`${sim.tenantId}.graph.state.json`]);
    expect(findSecrets(everything + readTree(stateDir), [sim.clientSecret])).toEqual([]);
    // The measurement the guarantees document quotes.
    console.log(
      `crash harness: ${kills} kills, ${truth.size} records over ${(cursor - T0) / HOUR} h, raw duplicates ${raw} (worst ${worstPerCrash} after one crash), torn last lines ${torn}`,
    );
  });
});

describe("journal after a torn append", () => {
  it("a page journaled after a torn line (power loss mid-append) is still replayed", () => {
    const store = new StateStore(join(tempDir(), "state"), "contoso.onmicrosoft.com", "graph");
    const t = Date.UTC(2026, 0, 1);
    store.journal([{ id: "a|1", time: t }]);
    appendFileSync(store.journalFile, `${Math.floor(t / 60_000)} abcdef`); // torn: no newline, short fingerprint
    store.journal([
      { id: "b|2", time: t },
      { id: "c|3", time: t + 60_000 },
    ]); // the restarted run's first page
    const { seen } = store.load();
    expect([seen.has("a|1", t), seen.has("b|2", t), seen.has("c|3", t + 60_000)]).toEqual([true, true, true]);
    expect(seen.size).toBe(3);
  });
});
