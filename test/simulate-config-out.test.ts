// `simulate --config-out FILE`: a newcomer gets a working config for the running simulator in one step.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { BIN, parseNdjson, runCli, tempDir } from "./helpers/harness.js";

describe("simulate --config-out", () => {
  it("writes a config (and the CA beside it) that `once` can use as is, twice without duplicates", async () => {
    const dir = tempDir();
    const file = join(dir, "try.yaml");
    const child = spawn(process.execPath, [BIN, "simulate", "--port", "0", "--rate", "120", "--config-out", file], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const info = JSON.parse(
        await new Promise<string>((resolve, reject) => {
          createInterface({ input: child.stdout! }).once("line", resolve);
          child.once("exit", (code) => reject(new Error(`simulate exited ${code}`)));
        }),
      ) as { configFile: string; caFile: string; url: string };
      expect(info.configFile).toBe(file);
      expect(info.caFile).toBe(join(dir, "sim-ca.pem"));
      expect(readFileSync(info.caFile, "utf8")).toContain("BEGIN CERTIFICATE");
      expect(readFileSync(file, "utf8")).toContain(info.url);
      const first = await runCli(["once", "--config", file]);
      expect(first.code, first.stderr).toBe(0);
      const records = parseNdjson(first.stdout);
      expect(records.length).toBeGreaterThan(0);
      expect(existsSync(join(dir, "state"))).toBe(true); // state_dir is relative to the config file
      const second = await runCli(["once", "--config", file]);
      expect(second.code, second.stderr).toBe(0);
      const ids = new Set(records.map((r) => `${r["o365.message.trace_id"]}|${r["o365.message.recipient"]}|${r["o365.message.status"]}`));
      for (const r of parseNdjson(second.stdout))
        expect(ids.has(`${r["o365.message.trace_id"]}|${r["o365.message.recipient"]}|${r["o365.message.status"]}`)).toBe(false);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
