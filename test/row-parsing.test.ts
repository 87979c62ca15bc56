// Issue 11: wrong-typed rows at the source boundary. A null item, a number where an object belongs, a numeric
// status, a size that is not a number, a receivedDateTime that is not a time, two rows with one identity:
// the window is still delivered (it must not fail on every run forever), every skipped row is counted and
// logged with its position (not its content), and kept in a bounded 0600 quarantine file in state_dir.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Quarantine } from "../src/cursor/quarantine.js";
import { createLogger } from "../src/log/logger.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { HOUR, MIN, parseNdjson, runCli, simConfigInput, tempDir, writeConfig } from "./helpers/harness.js";
import { graphItem, sendJson, startHostile, type HostileServer } from "./helpers/hostile-graph.js";

let sim: Simulator;
let graph: HostileServer;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);

const items = [
  graphItem(1, T0 + 1 * MIN),
  null,
  5,
  graphItem(2, T0 + 2 * MIN, { status: 3, subject: "secret-subject-2" }),
  graphItem(3, T0 + 3 * MIN, { size: "big" }),
  graphItem(4, T0 + 4 * MIN, { size: "1234" }), // a quoted number is still a number
  graphItem(5, T0 + 5 * MIN, { receivedDateTime: "yesterday" }),
  graphItem(6, T0 + 6 * MIN, { receivedDateTime: undefined }),
  graphItem(7, T0 + 7 * MIN),
  graphItem(7, T0 + 7 * MIN), // same identity twice on one page
];

beforeAll(async () => {
  sim = await startSimulator({ seed: 9, ratePerHour: 10 });
  graph = await startHostile((req, res) => {
    const first = /ge 2026-11-20T00:00:00/.test(req.url.searchParams.get("$filter") ?? "");
    sendJson(res, 200, { value: first ? items : [] });
  });
});
afterAll(async () => {
  await graph?.close();
  await sim?.close();
});

describe("defensive row parsing", () => {
  it("delivers the good rows, skips and quarantines the bad ones, logs positions, and the next run moves on", async () => {
    const dir = tempDir();
    const input = simConfigInput(sim, dir, { start: new Date(T0).toISOString(), window: 60, max_windows_per_run: 1 });
    input.endpoints = { login: sim.url, graph: graph.url };
    const file = writeConfig(dir, input);
    const env = { O365MT_NOW: new Date(T0 + 3 * HOUR).toISOString() };
    const r = await runCli(["once", "--config", file], { env });
    expect(r.stderr).not.toMatch(/TypeError|"level":"error"/);
    expect(r.code).toBe(0);
    const records = parseNdjson(r.stdout);
    expect(records.map((x) => x["o365.message.recipient"])).toEqual(["r1@fabrikam.com", "r4@fabrikam.com", "r7@fabrikam.com"]);
    expect(records[1]!["o365.message.size"]).toBe(1234);

    const warn = r.stderr.split("\n").find((l) => l.includes("cannot be mapped"));
    expect(warn).toBeDefined();
    const w = JSON.parse(warn!);
    expect(w.rejected).toBe(6);
    expect(w.quarantined).toBe(6);
    expect(w.first).toEqual([
      "page 0 row 1: the item is null, not an object",
      "page 0 row 2: the item is a number, not an object",
      "page 0 row 3: status is a number, not a string",
      "page 0 row 4: size is a string that is not a number",
      "page 0 row 6: receivedDateTime is not a time",
    ]);
    expect(r.stderr).not.toContain("secret-subject-2"); // positions, not content
    expect(r.stderr).toMatch(/rows with the same identity on one page: only the first was sent.*"count":1/);

    const q = join(dir, "state", `${sim.tenantId}.graph.quarantine.jsonl`);
    expect(statSync(q).mode & 0o777).toBe(0o600);
    const lines = readFileSync(q, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.position)).toEqual([1, 2, 3, 4, 6, 7]);
    expect(lines[2].row.subject).toBe("secret-subject-2");
    expect(lines[5].reason).toBe("receivedDateTime is missing");

    const next = await runCli(["once", "--config", file], { env });
    expect(next.code).toBe(0);
    expect(next.stderr).not.toMatch(/"level":"error"/);
  });

  it("the quarantine file stops growing at its bound; rows past it are still counted", () => {
    const dir = join(tempDir(), "state");
    const lines: string[] = [];
    const q = new Quarantine(dir, "t", "graph", createLogger({ level: "warn", write: (l) => void lines.push(l) }), 2000);
    const w = { start: new Date(T0), end: new Date(T0 + HOUR) };
    for (let p = 0; p < 10; p++) q.reject("graph", w, [{ page: p, position: 0, reason: "status is a number, not a string", raw: graphItem(p, T0, { status: 1 }) }]);
    expect(statSync(q.file).size).toBeLessThanOrEqual(2000);
    expect(q.total).toBe(10);
    expect(lines.filter((l) => l.includes("quarantine file is full"))).toHaveLength(1);
    expect(JSON.parse(lines.at(-1)!).rejected_total).toBe(10);
  });
});
