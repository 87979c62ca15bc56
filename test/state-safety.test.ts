// Issue 11: a tampered state directory. The directory must be ours and writable only by us; no state file,
// journal or temp file is ever opened through a symlink; a file that is not ours is refused without printing
// its content; a state file of another tenant, source or format version, or without a cursor, is refused
// with one clear line instead of being reset (duplicates) or jumped over (loss).
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../src/cursor/store.js";
import { SeenSet } from "../src/dedupe/seen.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { HOUR, runCli, simConfigInput, tempDir, writeConfig } from "./helpers/harness.js";

const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const cursor = new Date(T0).toISOString();
const state = (extra: Record<string, unknown> = {}) => ({
  version: 1,
  tenant_id: "t",
  source: "graph",
  cursor,
  windows_done: 1,
  records_delivered: 0,
  cycles: 1,
  ...extra,
});

function fresh(): { dir: string; store: StateStore } {
  const dir = join(tempDir(), "state");
  mkdirSync(dir, { mode: 0o700 });
  return { dir, store: new StateStore(dir, "t", "graph") };
}

describe("state directory safety", () => {
  it("refuses a state_dir that is world- or group-writable", () => {
    const { dir, store } = fresh();
    chmodSync(dir, 0o777);
    expect(() => store.lock()).toThrow(/state_dir .* is writable by everyone \(mode 0777\).*/);
    chmodSync(dir, 0o770);
    expect(() => store.load()).toThrow(/writable by its group \(mode 0770\)/);
    chmodSync(dir, 0o700);
    expect(() => store.load()).not.toThrow();
  });

  it("refuses a state_dir owned by another user", () => {
    if (process.getuid?.() !== 0) return expect.fail("needs root to chown (tests run as root here and in CI)");
    const { dir, store } = fresh();
    chownSync(dir, 65534, 65534);
    expect(() => store.lock()).toThrow(/belongs to uid 65534, not to us/);
  });

  it("never writes through a symlink planted at a temp file name, and replaces (not follows) one at the state file", () => {
    const { dir, store } = fresh();
    const victim = join(dir, "..", "victim.txt");
    writeFileSync(victim, "precious\n");
    // The names the previous code used for its temp file (predictable: pid) and the state file itself.
    symlinkSync(victim, join(dir, `.${basename(store.file)}.tmp-${process.pid}`));
    symlinkSync(victim, store.file);
    store.commit(state() as never, new SeenSet());
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(store.load().state.cursor).toBe(cursor);
  });

  it("refuses a symlinked state file or journal without reading through it", () => {
    const { dir, store } = fresh();
    const victim = join(dir, "..", "victim.json");
    writeFileSync(victim, JSON.stringify(state()));
    symlinkSync(victim, store.file);
    expect(() => store.load()).toThrow(/is a symbolic link; refusing/);
    const b = fresh();
    symlinkSync(victim, b.store.journalFile);
    expect(() => b.store.load()).toThrow(/journal is a symbolic link/);
    expect(() => b.store.journal([{ id: "a|b", time: T0 }])).toThrow(/symbolic link/);
    expect(readFileSync(victim, "utf8")).toBe(JSON.stringify(state()));
  });

  it("never prints the content of a state file it cannot use", () => {
    const { store } = fresh();
    writeFileSync(store.file, "TOPSECRET-content-of-someone-else", { mode: 0o600 });
    let message = "";
    try {
      store.load();
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/is not valid JSON/);
    expect(message).not.toContain("TOPSECRET");
  });

  it("refuses a state file of another user or writable by others", () => {
    const { store } = fresh();
    writeFileSync(store.file, JSON.stringify(state()), { mode: 0o600 });
    chmodSync(store.file, 0o666);
    expect(() => store.load()).toThrow(/is writable by others \(mode 0666\)/);
    chmodSync(store.file, 0o600);
    if (process.getuid?.() === 0) {
      chownSync(store.file, 65534, 65534);
      expect(() => store.load()).toThrow(/belongs to uid 65534/);
    }
  });

  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    ["another tenant", { tenant_id: "other-tenant" }, /belongs to tenant "other-tenant" source "graph", not to tenant t source graph/],
    ["another source", { source: "rws" }, /belongs to tenant "t" source "rws"/],
    ["another format version", { version: 2 }, /format version 2, this build reads version 1/],
    ["no cursor", { cursor: undefined }, /has no cursor/],
    ["a cursor that is not a time", { cursor: "yesterday-ish" }, /cursor that is not a time/],
  ];
  for (const [name, patch, message] of refused) {
    it(`refuses a state file with ${name} instead of resetting or jumping`, () => {
      const { store } = fresh();
      writeFileSync(store.file, JSON.stringify(state(patch)), { mode: 0o600 });
      expect(() => store.load()).toThrow(message);
    });
  }

  it("never writes a state file without a cursor", () => {
    const { store } = fresh();
    expect(() => store.commit(state({ cursor: undefined }) as never)).toThrow(/without a cursor/);
    expect(existsSync(store.file)).toBe(false);
  });
});

describe("state refusal through the CLI", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 5, ratePerHour: 30 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it("once with a cursor-less state file: one clear line, exit 1, file untouched, no records", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { start: cursor }));
    const store = new StateStore(join(dir, "state"), sim.tenantId, "graph");
    mkdirSync(join(dir, "state"), { mode: 0o700 });
    const text = JSON.stringify({
      version: 1,
      tenant_id: sim.tenantId,
      source: "graph",
      windows_done: 3,
      records_delivered: 10,
      cycles: 3,
    });
    writeFileSync(store.file, text, { mode: 0o600 });
    const r = await runCli(["once", "--config", file], { env: { O365MT_NOW: new Date(T0 + 2 * HOUR).toISOString() } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/state error: state file .* has no cursor — /);
    expect(readFileSync(store.file, "utf8")).toBe(text);
  });

  it("once with a world-writable state_dir: one clear line, exit 1", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "state"), { mode: 0o700 });
    chmodSync(join(dir, "state"), 0o777);
    const r = await runCli(["once", "--config", writeConfig(dir, simConfigInput(sim, dir, { start: cursor }))], {
      env: { O365MT_NOW: new Date(T0 + 2 * HOUR).toISOString() },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/writable by everyone .* — chmod 700/);
  });
});
