// Issue 19: the cold start of `once` (the exec input runs it every few minutes, for ever) loads only what the
// configured components need. Real subprocesses, with a loader hook that lists every module they load.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { HOUR, parseNdjson, runCli, simConfigInput, tempDir, writeConfig } from "./helpers/harness.js";

const TRACKER = fileURLToPath(new URL("./fixtures/module-log.mjs", import.meta.url));
const BUILTIN_TRACKER = fileURLToPath(new URL("./fixtures/builtin-log.cjs", import.meta.url));
const BUNDLE = fileURLToPath(new URL("../dist/bundle/", import.meta.url));
let sim: Simulator;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);

beforeAll(async () => {
  sim = await startSimulator({ seed: 19, ratePerHour: 40 });
});
afterAll(async () => {
  await sim?.close();
});

/**
 * Run the CLI under the tracker: its result and the packages it loaded. The command runs the bundle
 * (scripts/bundle.mjs), whose files list the packages each holds (dist/bundle/packages.json); packages left
 * outside the bundle load from node_modules.
 */
async function runTracked(args: string[], dir: string, now: number) {
  const log = join(dir, `modules-${Math.random().toString(36).slice(2)}.log`);
  const r = await runCli(args, { env: { O365MT_NOW: new Date(now).toISOString(), MODULE_LOG: log, NODE_OPTIONS: `--import=${TRACKER}` } });
  let urls: string[] = [];
  try {
    urls = readFileSync(log, "utf8").split("\n").filter(Boolean);
  } catch {
    /* nothing loaded through the hook */
  }
  const inBundle = JSON.parse(readFileSync(join(BUNDLE, "packages.json"), "utf8")) as Record<string, string[]>;
  const packages = new Set<string>();
  for (const u of urls) {
    const path = u.startsWith("file:") ? fileURLToPath(u) : u;
    const external = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];
    if (external) packages.add(external);
    if (path.startsWith(BUNDLE)) for (const p of inBundle[path.slice(BUNDLE.length)] ?? []) if (p !== ".") packages.add(p);
  }
  return { ...r, packages, bundleFiles: urls.filter((u) => u.includes("/dist/bundle/")).length };
}

describe("cold start: once loads only what it needs", () => {
  it("nothing due, graph + stdout: a token at start (issue 11), but no forward client, no XML parser, no metrics", async () => {
    const dir = tempDir();
    // Re-scans off (on by default, they re-read recent history every cycle and so need a token).
    const file = writeConfig(
      dir,
      simConfigInput(sim, dir, { start: new Date(T0).toISOString(), window: 60, rescan: { horizon: 0 }, log: { level: "info" } }),
    );
    // The cursor sits at T0 + 1 h; at T0 + 1 h 30 min the next hour is not complete: nothing is due.
    const first = await runTracked(["once", "--config", file], dir, T0 + HOUR);
    expect(first.code).toBe(0);
    expect(parseNdjson(first.stdout).length).toBeGreaterThan(0);
    expect(first.packages.has("@azure/msal-node")).toBe(true); // the tracker sees msal when a token is needed
    const idle = await runTracked(["once", "--config", file], dir, T0 + HOUR + 30 * 60_000);
    expect(idle.stderr).toMatch(/"msg":"cycle done","windows":0/);
    expect(idle.code).toBe(0);
    expect(idle.stdout).toBe("");
    expect(idle.bundleFiles).toBeGreaterThan(0); // the command runs the bundle
    expect(idle.packages.has("zod")).toBe(true); // the config is validated
    // `once` acquires a token at start even with nothing due, so a wrong credential fails at deploy time.
    expect(idle.packages.has("@azure/msal-node")).toBe(true);
    for (const p of ["@fluent-org/logger", "fast-xml-parser", "prom-client"]) {
      expect(idle.packages.has(p), p).toBe(false);
    }
  });

  it("nothing due: no Node built-in the idle path does not use (HTTP/2, worker threads, zlib, ES module facades)", async () => {
    // Each built-in costs memory once loaded (docs/performance.md, issue 19): undici's HTTP/2 client and pino's
    // worker-thread transports are required at their first use, zlib at the first gzip batch
    // (scripts/bundle/lazy-requires.mjs, the HTTP sink), and the bundle takes built-ins with require(), not
    // through Node's ES module facades, which read every export: crypto's `webcrypto` getter loads the Web
    // Crypto API (scripts/bundle/builtins-cjs.mjs). (fs/promises cannot be asserted: Node's ES module loader
    // reads files with it.)
    const dir = tempDir();
    const file = writeConfig(
      dir,
      simConfigInput(sim, dir, { start: new Date(T0).toISOString(), window: 60, rescan: { horizon: 0 }, log: { level: "info" } }),
    );
    expect((await runCli(["once", "--config", file], { env: { O365MT_NOW: new Date(T0 + HOUR).toISOString() } })).code).toBe(0);
    const log = join(dir, "builtins.log");
    const idle = await runCli(["once", "--config", file], {
      env: { O365MT_NOW: new Date(T0 + HOUR + 30 * 60_000).toISOString(), BUILTIN_LOG: log, NODE_OPTIONS: `--require=${BUILTIN_TRACKER}` },
    });
    expect(idle.stderr).toMatch(/"msg":"cycle done","windows":0/);
    expect(idle.code).toBe(0);
    const builtins = new Set(readFileSync(log, "utf8").split("\n").filter(Boolean));
    // The tracker sees what the idle path needs: TLS for the start token, undici's HTTP/1.1 client.
    for (const used of ["tls", "http", "net"]) expect(builtins.has(used), used).toBe(true);
    for (const unused of ["http2", "worker_threads", "zlib", "internal/crypto/webcrypto"]) {
      expect(builtins.has(unused), unused).toBe(false);
    }
  });

  it("rws (XML) loads its parser on demand and delivers", async () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      simConfigInput(sim, dir, { start: new Date(T0).toISOString(), window: 60, source: "rws", format: "xml" }),
    );
    const r = await runTracked(["once", "--config", file], dir, T0 + HOUR);
    expect(r.stderr).not.toMatch(/"level":"error"/);
    expect(r.code).toBe(0);
    expect(parseNdjson(r.stdout).length).toBeGreaterThan(0);
    expect(r.packages.has("fast-xml-parser")).toBe(true);
    expect(r.packages.has("@fluent-org/logger")).toBe(false);
  });

  it("a forward sink's bad TLS file still fails at start, even with nothing due", async () => {
    const dir = tempDir();
    const input = simConfigInput(sim, dir, {
      start: new Date(T0).toISOString(),
      window: 60,
      sink: { type: "forward", forward: { host: "127.0.0.1", port: 1, tls: { enabled: true, ca_file: join(dir, "missing-ca.pem") } } },
    });
    const r = await runCli(["once", "--config", writeConfig(dir, input)], {
      env: { O365MT_NOW: new Date(T0 + 30 * 60_000).toISOString() },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/missing-ca\.pem/);
  });
});
