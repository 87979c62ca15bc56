// Issue 11: the state lock can never be held by a dead process, whatever pid it had, and never by two.
// Real subprocesses: a lock left by pid 1 of a pid namespace (a restarted container), by a pid that an
// unrelated process owns now, by a holder killed with SIGKILL, and eight takers racing for one left lock.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../src/cursor/store.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { BIN, HOUR, parseNdjson, ROOT, runCli, simConfigInput, tempDir, writeConfig } from "./helpers/harness.js";

let sim: Simulator;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const env = { O365MT_NOW: new Date(T0 + 2 * HOUR).toISOString() };

/** Whether this machine lets us make a pid namespace (root, or unprivileged user namespaces), and why not. */
function unshareProbe(): { ok: boolean; reason: string } {
  const r = spawnSync("unshare", ["--pid", "--fork", "--mount-proc", "sh", "-c", "echo $$"], { encoding: "utf8" });
  if (r.error) return { ok: false, reason: `unshare not runnable: ${r.error.message}` };
  if (r.status !== 0 || r.stdout.trim() !== "1") return { ok: false, reason: `unshare --pid failed: ${(r.stderr || r.stdout).trim()}` };
  return { ok: true, reason: "" };
}
const probe = unshareProbe();
if (!probe.ok) console.warn(`lock.test: SKIPPING the pid-namespace test: ${probe.reason}`);

/** A process that takes the lock through the built module and holds it until killed; prints got/busy. */
const HOLDER = `
import { acquireLock } from ${JSON.stringify(join(ROOT, "dist/cursor/lock.js"))};
try { acquireLock(process.argv[1]); console.log("got " + process.pid); setInterval(() => {}, 1000); }
catch (e) { console.log(e.name === "LockBusyError" ? "busy" : "error " + e.message); process.exit(0); }`;

function holder(file: string): { child: ChildProcess; first: Promise<string> } {
  const child = spawn(process.execPath, ["--input-type=module", "-e", HOLDER, file], { stdio: ["ignore", "pipe", "inherit"] });
  const first = new Promise<string>((resolve) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    child.on("close", () => resolve(out.trim()));
  });
  return { child, first };
}

function setupDir(): { dir: string; file: string; lockFile: string } {
  const dir = tempDir();
  const file = writeConfig(dir, simConfigInput(sim, dir, { start: new Date(T0).toISOString(), max_windows_per_run: 1 }));
  const store = new StateStore(join(dir, "state"), sim.tenantId, "graph");
  mkdirSync(join(dir, "state"), { mode: 0o700 });
  return { dir, file, lockFile: store.lockFile };
}

beforeAll(async () => {
  sim = await startSimulator({ seed: 3, ratePerHour: 60 });
});
afterAll(async () => {
  await sim?.close();
});

describe("state lock", () => {
  it.skipIf(!probe.ok)(
    `takes over a lock left by pid 1 when it runs as pid 1 of a fresh pid namespace (a restarted container)${probe.ok ? "" : ` — skipped: ${probe.reason}`}`,
    async () => {
      const { file, lockFile } = setupDir();
      writeFileSync(lockFile, "1\n"); // the previous container's collector was pid 1 too
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn("unshare", ["--pid", "--fork", "--mount-proc", process.execPath, BIN, "once", "--config", file], {
          env: { ...process.env, ...env },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (c: Buffer) => (stdout += c));
        child.stderr.on("data", (c: Buffer) => (stderr += c));
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      });
      expect(r.stderr).not.toMatch(/already running/);
      expect(r.code).toBe(0);
      expect(parseNdjson(r.stdout).length).toBeGreaterThan(0);
    },
  );

  it("takes over a lock whose recorded pid now belongs to an unrelated live process", async () => {
    const { file, lockFile } = setupDir();
    const unrelated = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      writeFileSync(lockFile, `${unrelated.pid}\n`);
      const r = await runCli(["once", "--config", file], { env });
      expect(r.stderr).not.toMatch(/already running/);
      expect(r.code).toBe(0);
      expect(parseNdjson(r.stdout).length).toBeGreaterThan(0);
    } finally {
      unrelated.kill("SIGKILL");
    }
  });

  it("a live holder keeps `once` out; after kill -9 of the holder the next `once` runs", async () => {
    const { file, lockFile } = setupDir();
    const h = holder(lockFile);
    expect(await h.first).toMatch(/^got \d+$/);
    const busy = await runCli(["once", "--config", file], { env });
    expect(busy.code).toBe(0);
    expect(busy.stdout).toBe("");
    expect(busy.stderr).toContain(`already running (pid ${h.child.pid} holds`);
    h.child.kill("SIGKILL");
    await new Promise((r) => h.child.once("close", r));
    const r = await runCli(["once", "--config", file], { env });
    expect(r.stderr).not.toMatch(/already running/);
    expect(parseNdjson(r.stdout).length).toBeGreaterThan(0);
  });

  it("eight processes racing for a lock left by a dead process: exactly one wins", async () => {
    const { lockFile } = setupDir();
    writeFileSync(lockFile, "999999\n");
    const takers = Array.from({ length: 8 }, () => holder(lockFile));
    try {
      const answers = await Promise.all(takers.map((t) => t.first));
      expect(answers.filter((a) => a.startsWith("got"))).toHaveLength(1);
      expect(answers.filter((a) => a === "busy")).toHaveLength(7);
    } finally {
      for (const t of takers) t.child.kill("SIGKILL");
    }
  });

  it("refuses a symlink planted at the lock's path instead of following it", () => {
    const { dir, lockFile } = setupDir();
    const target = join(dir, "elsewhere");
    writeFileSync(target, "precious\n");
    spawnSync("ln", ["-s", target, lockFile]);
    const store = new StateStore(join(dir, "state"), sim.tenantId, "graph");
    expect(() => store.lock()).toThrow();
  });
});
