// Small operator frictions, each now one clear line (what, where, how to fix) and a config exit code.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lastLogMessage, logEntries, ROOT, runCli, tempDir, writeConfig } from "./helpers/harness.js";

const base = { tenant_id: "contoso.onmicrosoft.com", auth: { client_id: "app", client_secret: "not-used-here" } };

describe("one-line errors", () => {
  it("a state_dir that is a file: names state_dir and how to fix it, exit 2", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "file"), "");
    for (const stateDir of ["file", "file/sub"]) {
      const r = await runCli(["once", "--config", writeConfig(dir, { ...base, state_dir: stateDir })]);
      expect(r.code).toBe(2);
      expect(logEntries(r.stderr)).toHaveLength(1);
      expect(lastLogMessage(r.stderr)).toMatch(
        new RegExp(
          `^config error: state_dir ${join(dir, stateDir)} (exists and )?is not a directory.* — set state_dir \\(or O365_STATE_DIR\\) to a directory`,
        ),
      );
    }
  });

  it("demo --window 0 (and other bad numbers) instead of 'Invalid time value'", async () => {
    for (const args of [
      ["--window", "0"],
      ["--windows", "x"],
      ["--rate", "1.5"],
    ]) {
      const r = await runCli(["demo", ...args]);
      expect(r.code).toBe(2);
      expect(lastLogMessage(r.stderr)).toMatch(
        new RegExp(
          `^config error: demo ${args[0]} "${args[1]!.replace(".", "\\.")}" is not a whole number from \\d+ to \\d+ — e\\.g\\. ${args[0]} \\d+$`,
        ),
      );
      expect(r.stdout).toBe("");
    }
  });
});

describe("one name for the HTTP sink token", () => {
  it("every file says O365_HTTP_SINK_TOKEN", () => {
    const files = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" })
      .split("\n")
      .filter((f) => f && !f.startsWith("test/") && !f.endsWith(".json"));
    const stale = files.filter((f) => {
      try {
        return readFileSync(join(ROOT, f), "utf8").includes("O365MT_SINK_TOKEN");
      } catch {
        return false;
      }
    });
    expect(stale).toEqual([]);
    expect(readFileSync(join(ROOT, "conf/o365-message-trace.yaml"), "utf8")).toContain("O365_HTTP_SINK_TOKEN");
  });
});
