// Issue 11: a credential mistake fails at deploy time (once and run acquire a token at start, even when no
// window is due), and SIGHUP does not kill the daemon. Real subprocesses.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../src/cursor/store.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { BIN, HOUR, runCli, simConfigInput, tempDir, writeConfig } from "./helpers/harness.js";

let sim: Simulator;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const env = { O365MT_NOW: new Date(T0 + 2 * HOUR).toISOString() };

beforeAll(async () => {
  sim = await startSimulator({ seed: 4, ratePerHour: 10 });
});
afterAll(async () => {
  await sim?.close();
});

/** A config whose cursor starts now: no window is due for an hour, so no data request is made. */
function idleConfig(extra: Record<string, unknown> = {}): { dir: string; file: string } {
  const dir = tempDir();
  const input = simConfigInput(sim, dir, { start: "now", window: 60, frequency: 1, ...extra });
  return { dir, file: writeConfig(dir, input) };
}

const wrongSecret = { auth: { client_id: "11111111-2222-3333-4444-555555555555", client_secret: "definitely-wrong-secret" } };

describe("token at start", () => {
  it("once with a wrong secret fails even when no window is due", async () => {
    const { file } = idleConfig(wrongSecret);
    const r = await runCli(["once", "--config", file], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/client secret is wrong \(AADSTS7000215\)/);
    expect(r.stderr).not.toContain("definitely-wrong-secret");
  });

  it("run with a wrong secret stops at start instead of idling until a window is due", async () => {
    const { file } = idleConfig(wrongSecret);
    const r = await runCli(["run", "--config", file], { env, timeoutMs: 20_000 });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/client secret is wrong \(AADSTS7000215\)/);
  });

  it("once with good credentials and nothing due exits 0 and prints nothing", async () => {
    const { file } = idleConfig();
    const r = await runCli(["once", "--config", file], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
  });
});

describe("SIGHUP", () => {
  it("run logs SIGHUP and keeps running; SIGTERM then stops it cleanly and frees the lock", async () => {
    const { dir, file } = idleConfig({ log: { level: "info" } });
    const child = spawn(process.execPath, [BIN, "run", "--config", file], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
      child.on("close", (code, signal) => res({ code, signal })),
    );
    const deadline = Date.now() + 20_000;
    while (!stderr.includes("daemon started") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(stderr).toContain("daemon started");
    child.kill("SIGHUP");
    await new Promise((r) => setTimeout(r, 1500));
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
    expect(stderr).toMatch(/SIGHUP received; ignored/);
    child.kill("SIGTERM");
    const end = await exited;
    expect(end).toEqual({ code: 0, signal: null });
    expect(existsSync(new StateStore(join(dir, "state"), sim.tenantId, "graph").lockFile)).toBe(false);
  });
});

describe("stdout closed by the consumer", () => {
  it("says what is true: unwritten records come again, records left unread in the pipe do not", async () => {
    const dir = tempDir();
    const input = simConfigInput(sim, dir, { start: new Date(T0 - 72 * HOUR).toISOString(), max_windows_per_run: 100, window: 60 });
    const file = writeConfig(dir, input);
    // The consumer reads 200 bytes, then closes the pipe; three days of records are far more than a pipe holds.
    const child = spawn("sh", ["-c", `"${process.execPath}" "${BIN}" once --config "${file}" | head -c 200 >/dev/null`], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    await new Promise((r) => child.on("close", r));
    expect(stderr).toMatch(/sink error: cannot write to stdout: .*EPIPE/);
    expect(stderr).toMatch(
      /records not yet written are sent again by the next run, but up to one pipe buffer of records .* cannot be recovered/,
    );
    expect(stderr).not.toMatch(/records not acknowledged will be sent again/);
  });
});
