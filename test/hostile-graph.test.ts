// Issue 11: a broken or malicious Graph endpoint. `once` as a real subprocess against a loopback server that
// sends next links to another origin, loops its next links, pages forever, streams an endless body, answers
// 400 or asks for an hour of Retry-After. Each must end the run with one clear line, the cursor untouched,
// the token never sent to the foreign origin — and never hang.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../src/cursor/store.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { HOUR, lastLogMessage, MIN, parseNdjson, runCli, simConfigInput, tempDir, writeConfig } from "./helpers/harness.js";
import { graphItem, sendJson, startHostile, type HostileHandler, type HostileServer } from "./helpers/hostile-graph.js";

let sim: Simulator;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const env = { O365MT_NOW: new Date(T0 + 2 * HOUR).toISOString() };
const servers: HostileServer[] = [];

beforeAll(async () => {
  sim = await startSimulator({ seed: 7, ratePerHour: 10 });
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await sim?.close();
});

async function hostile(handler: HostileHandler): Promise<HostileServer> {
  const s = await startHostile(handler);
  servers.push(s);
  return s;
}

/** One `once` against `graph`; returns the result and whether a state file was written. */
async function once(graph: HostileServer, extra: Record<string, unknown> = {}, timeoutMs = 60_000) {
  const dir = tempDir();
  const input = simConfigInput(sim, dir, { start: new Date(T0).toISOString(), window: 60, max_windows_per_run: 1, ...extra });
  input.endpoints = { login: sim.url, graph: graph.url };
  const started = Date.now();
  const r = await runCli(["once", "--config", writeConfig(dir, input)], { env, timeoutMs });
  const store = new StateStore(join(dir, "state"), sim.tenantId, "graph");
  return { ...r, ms: Date.now() - started, committed: existsSync(store.file) };
}

const page = (items: unknown[], next?: string) => ({ value: items, ...(next ? { "@odata.nextLink": next } : {}) });

describe("next links", () => {
  it("a link to another origin fails the window: the token never goes there, nothing is committed", async () => {
    const foreign = await hostile((_req, res) => sendJson(res, 200, page([])));
    const graph = await hostile((req, res) =>
      sendJson(res, 200, page([graphItem(1, T0 + 5 * MIN)], `${foreign.url}/v1.0/admin/exchange/tracing/messageTraces?$skiptoken=steal`)),
    );
    const r = await once(graph);
    expect(foreign.requests).toHaveLength(0);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      /Graph sent a next-page link to http:\/\/127\.0\.0\.1:\d+\/ but the query went to http:\/\/127\.0\.0\.1:\d+; refusing to send the access token there/,
    );
    expect(r.committed).toBe(false);
  });

  it("a link that repeats an earlier page is a paging loop: one line, exit 1, nothing committed", async () => {
    const graph = await hostile((req, res) => sendJson(res, 200, page([graphItem(2, T0 + 6 * MIN)], req.url.toString())));
    const r = await once(graph, {}, 30_000);
    expect(r.signal).toBeNull(); // not killed by the timeout: it stopped by itself
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/next-page link repeats a page already read in this window \(paging loop, after 1 page\(s\)\)/);
    expect(r.committed).toBe(false);
    expect(graph.requests.length).toBeLessThan(10);
  });

  it("fresh next links forever stop at the page bound (1000 pages for $top 5000)", async () => {
    const graph = await hostile((req, res, self) =>
      sendJson(res, 200, page([], `${self.url}/v1.0/admin/exchange/tracing/messageTraces?$skiptoken=${self.count}`)),
    );
    const r = await once(graph, {}, 60_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Graph is still paging after 1000 pages in one window/);
    expect(graph.requests.length).toBe(1000);
    expect(r.committed).toBe(false);
  });
});

describe("response size", () => {
  it("an endless body is cut at http.max_response_mb and fails the page", async () => {
    const chunk = Buffer.alloc(256 * 1024, "a");
    const graph = await hostile((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"value":[');
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {
          /* fill the socket */
        }
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
    });
    const r = await once(graph, { http: { ...(simConfigInput(sim, tempDir()).http as object), max_response_mb: 1, timeout: 20 } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /response from http:\/\/127\.0\.0\.1:\d+\/v1\.0\/admin\/exchange\/tracing\/messageTraces is larger than 1 MiB; aborted/,
    );
    expect(r.ms).toBeLessThan(15_000); // not the 20 s timeout
    expect(r.committed).toBe(false);
  });
});

describe("HTTP 400", () => {
  it("a 400 we cannot pin on our configuration is retried, and the window is delivered", async () => {
    const graph = await hostile((_req, res, self) => {
      if (self.count === 1) sendJson(res, 400, { error: { code: "BadRequest", message: "Upstream gateway hiccup" } });
      else sendJson(res, 200, page([graphItem(3, T0 + 7 * MIN)]));
    });
    const r = await once(graph);
    expect(r.stderr).toMatch(/answered HTTP 400 \(BadRequest: Upstream gateway hiccup\); not a configuration problem/);
    expect(r.code).toBe(0);
    expect(parseNdjson(r.stdout)).toHaveLength(1);
    expect(r.committed).toBe(true);
  });

  it("a 400 that names our page size is a configuration error (exit 2), not retried", async () => {
    const graph = await hostile((_req, res) =>
      sendJson(res, 400, { error: { code: "BadRequest", message: "Invalid page size specified: '5000'. Must be between 1 and 1000." } }),
    );
    const r = await once(graph);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refused the page size .* — set source\.page_size/);
    expect(graph.requests).toHaveLength(1);
  });
});

describe("Retry-After in once", () => {
  it("an hour of Retry-After ends the once run quickly: exit 1 with the reason, cursor untouched", async () => {
    const graph = await hostile((_req, res) =>
      sendJson(res, 429, { error: { code: "TooManyRequests", message: "slow down" } }, { "retry-after": "3600" }),
    );
    const r = await once(graph, {}, 30_000);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /asks us to wait 3600 s \(Retry-After\), more than this run may wait \(120 s in all\); giving up this cycle, the cursor is unchanged/,
    );
    expect(r.committed).toBe(false);
  });
});

describe("secrets in error lines", () => {
  it("a 401 whose body echoes our token leaves no part of the token in the output", async () => {
    const graph = await hostile((req, res) => {
      const token = (req.authorization ?? "").replace(/^Bearer /, "");
      sendJson(res, 401, { error: { code: "InvalidAuthenticationToken", message: `Token ${token} is not valid for this resource` } });
    });
    const r = await once(graph, { retry: { count: 0, backoff: { initial: 0, max: 0, jitter: 0 } } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/auth error: Graph rejected the access token \(InvalidAuthenticationToken: Token \[REDACTED JWT\]/);
    const token = graph.requests[0]!.authorization!.replace(/^Bearer /, "");
    for (const part of token.split(".")) {
      for (let i = 0; i + 12 <= part.length; i += 12) expect(r.stderr + r.stdout).not.toContain(part.slice(i, i + 12));
    }
  });

  it("a config error never shows the password inside http.proxy.url", async () => {
    const dir = tempDir();
    const input = simConfigInput(sim, dir);
    input.http = { ...(input.http as Record<string, unknown>), proxy: { url: "http://svc-o365:Pr0xy-Passw0rd@proxy.example:99999" } };
    const r = await runCli(["once", "--config", writeConfig(dir, input)], { env });
    expect(r.code).toBe(2);
    expect(lastLogMessage(r.stderr)).toMatch(/http\.proxy\.url = "http:\/\/svc-o365:\[REDACTED\]@proxy\.example:99999"/);
    expect(r.stderr).not.toContain("Pr0xy-Passw0rd");
  });
});
