// Backfill progress: a cli-progress bar on a terminal that keeps redrawing on its timer and prints log lines
// above itself; off a terminal, JSON lines through the logger at most once per interval.
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { Progress } from "../src/cli/progress.js";
import { createLogger, processLogger, setProcessLogger } from "../src/log/logger.js";

class FakeTerminal extends Writable {
  isTTY = true;
  columns = 200;
  text = "";
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.text += chunk.toString("utf8");
    done();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, "");

afterEach(() => setProcessLogger(undefined));

describe("progress on a terminal", () => {
  it("shows records, rate, windows and ETA, and keeps redrawing while no window finishes", async () => {
    let t = 0;
    const term = new FakeTerminal();
    const p = new Progress({ total: 100, windows: { total: 4, done: 0 }, out: term, now: () => t, label: "backfill", redrawMs: 20 });
    t = 10_000;
    p.update(25, 40);
    await sleep(250);
    expect(plain(term.text)).toMatch(/backfill \[.*\] +25% \| 40 records \| 4\/s \| windows 1\/4 \| 10s elapsed \| ETA 30s/);
    // A request-budget wait: no update() for a while, yet the bar's elapsed time moves.
    t = 70_000;
    await sleep(250);
    expect(plain(term.text)).toMatch(/1m10s elapsed \| ETA 3m30s/);
    p.finish();
  });

  it("prints log lines above the bar, never inside it, and flushes them on finish", async () => {
    const term = new FakeTerminal();
    const logs = createLogger({ format: "json", base: { tenant: "t1", source: "graph" } });
    setProcessLogger(logs);
    const p = new Progress({ total: 10, out: term, label: "backfill", redrawMs: 20 });
    p.update(5, 3);
    await sleep(150);
    processLogger().warn("request failed, retrying");
    p.update(10, 3);
    p.finish();
    const lines = plain(term.text).split("\n");
    const logLine = lines.find((l) => l.includes("request failed"))!;
    // The log line is a whole line of its own (the bar was cleared first), still one JSON object.
    expect(JSON.parse(logLine.trim().replace(/^.*?\{/, "{"))).toMatchObject({
      level: "warn",
      msg: "request failed, retrying",
      tenant: "t1",
    });
    expect(logLine.trim().startsWith("{")).toBe(true);
    expect(lines.at(-2)).toMatch(/backfill \[=+\] 100% \| 6 records/);
    // After finish, logs go straight to stderr again (not into a stopped bar).
    expect(term.text.endsWith("\n")).toBe(true);
  });
});

describe("progress off a terminal", () => {
  it("writes a JSON line at most once per interval (and always the last), with rate, windows and ETA", () => {
    let t = 0;
    const lines: string[] = [];
    const logger = createLogger({ write: (l) => void lines.push(l), base: { tenant: "t1", source: "graph" } });
    const p = new Progress({
      total: 4,
      done: 1,
      windows: { total: 4, done: 1 },
      intervalMs: 10_000,
      out: { isTTY: false } as never,
      now: () => t,
      label: "backfill",
      logger,
    });
    t = 1_000;
    p.update(2, 5, "up to A"); // first line
    t = 5_000;
    p.update(3, 5, "up to B"); // within the interval: silent
    t = 6_000;
    p.update(4, 5, "up to C"); // the end: always
    p.finish();
    const entries = lines.map((l) => JSON.parse(l));
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      level: "info",
      msg: "backfill 50.0%",
      position: "up to A",
      tenant: "t1",
      source: "graph",
      progress: { percent: 50, records: 5, rate_per_s: 5, windows_done: 2, windows_total: 4, elapsed_s: 1, eta_s: 2, done: false },
    });
    expect(entries[1]).toMatchObject({
      msg: "backfill 100.0%",
      progress: { percent: 100, records: 15, windows_done: 4, eta_s: 0, done: true },
    });
  });

  it("a heartbeat line while a window takes longer than the interval", async () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (l) => void lines.push(l) });
    const p = new Progress({ total: 4, intervalMs: 40, out: { isTTY: false } as never, label: "backfill", logger });
    await sleep(200);
    p.finish();
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: "backfill 0.0%", progress: { percent: 0, eta_s: null } });
  });
});
