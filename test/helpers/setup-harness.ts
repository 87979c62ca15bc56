// `setup` as a real subprocess against the simulator, with the test playing the administrator: it reads the
// device code from stderr and enters it at the simulator's verification page (or declines).
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Agent, request } from "undici";
import type { Simulator } from "../../src/sim/index.js";
import { BIN, type CliResult } from "./harness.js";

export interface SetupRun extends CliResult {
  /** Device codes the run asked for. */
  codes: string[];
}

/** Flags pointing setup at the simulator (endpoints + its CA). */
export function simFlags(sim: Simulator, dir: string): string[] {
  const ca = join(dir, "sim-ca.pem");
  writeFileSync(ca, sim.ca);
  return [
    "--tenant",
    sim.tenantId,
    "--login-endpoint",
    sim.url,
    "--graph-endpoint",
    sim.graphBase,
    "--rws-endpoint",
    sim.rwsBase,
    "--ca-file",
    ca,
  ];
}

async function enterCode(sim: { ca: string }, url: string, code: string, action: "approve" | "deny"): Promise<void> {
  const agent = new Agent({ connect: { ca: sim.ca } });
  try {
    const form = new URLSearchParams({ otc: code, ...(action === "deny" ? { action: "deny" } : {}) });
    const r = await request(url, {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
    await r.body.text();
    if (r.statusCode !== 200) throw new Error(`verification page answered ${r.statusCode}`);
  } finally {
    await agent.close();
  }
}

/** `sim` only needs its CA (an in-process Simulator, or the one a `simulate` process wrote). */
export function runSetup(
  sim: { ca: string },
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; action?: "approve" | "deny"; timeoutMs?: number } = {},
): Promise<SetupRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "setup", ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const codes: string[] = [];
    const pending: Array<Promise<void>> = [];
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
      for (const m of stderr.matchAll(/open the page (\S+) and enter the code (\w+)/g)) {
        if (codes.includes(m[2]!)) continue;
        codes.push(m[2]!);
        pending.push(enterCode(sim, m[1]!, m[2]!, opts.action ?? "approve"));
      }
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      Promise.all(pending).then(() => resolve({ code, signal, stdout, stderr, codes }), reject);
    });
  });
}
