// Issue 4: the HTTP sink against a real local HTTP receiver, alone and end to end from the simulator.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpSinkSchema } from "../src/sinks/http/options.js";
import { StateStore } from "../src/cursor/store.js";
import { CollectorError } from "../src/errors.js";
import { createLogger, silentLogger } from "../src/log/logger.js";
import { createRuntime } from "../src/runtime.js";
import { HttpSink } from "../src/sinks/http/http-sink.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import type { Envelope } from "../src/types.js";
import { compare, HOUR, recordIds, simConfig, tempDir, truthIds } from "./helpers/harness.js";

interface Hit {
  status: number;
  headers: IncomingMessage["headers"];
  records: Array<Record<string, unknown>>;
  /** State file cursor when the request arrived (end-to-end tests). */
  cursorAtArrival?: string | null;
}

/** A receiver answering from a script of statuses (then 200), keeping what it accepted. */
class Receiver {
  readonly hits: Hit[] = [];
  readonly accepted: Array<Record<string, unknown>> = [];
  script: number[] = [];
  body400 = '{"error":"bad json"}';
  onArrival?: () => string | null;
  private server?: Server;
  url = "";

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        let raw = Buffer.concat(chunks);
        if (req.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
        const text = raw.toString("utf8");
        const records =
          req.headers["content-type"] === "application/x-ndjson"
            ? text
                .split("\n")
                .filter(Boolean)
                .map((l) => JSON.parse(l))
            : JSON.parse(text);
        const status = this.script.shift() ?? 200;
        this.hits.push({ status, headers: req.headers, records, cursorAtArrival: this.onArrival?.() });
        if (status >= 200 && status < 300) this.accepted.push(...records);
        res.writeHead(status, { "content-type": "application/json" }).end(status === 400 ? this.body400 : "{}");
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/o365.message_trace`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

const FAST = { count: 3, initialMs: 1, maxMs: 5, jitter: 0 };
function envelopes(n: number): Envelope[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `e${i}`,
    time: i,
    record: { "o365.message.trace_id": `t${i}`, "o365.message.subject": "x".repeat(i % 5) },
  }));
}

describe("http sink", () => {
  it("NDJSON + gzip, bearer token from env, batches of batch_size; 503 twice then 200 delivers all", async () => {
    const r = await new Receiver().start();
    try {
      r.script = [503, 503];
      const retries: string[] = [];
      const sink = new HttpSink({
        config: httpSinkSchema.parse({
          url: r.url,
          gzip: true,
          bearer_token_env: "SINK_TOKEN",
          batch_size: 10,
          headers: { "x-source": "o365" },
        }),
        retry: FAST,
        logger: silentLogger,
        env: { SINK_TOKEN: "tok-123456" },
        metrics: { retry: (route: string) => retries.push(route), apiResponse: () => {} } as never,
      });
      await sink.send(envelopes(25));
      await sink.flush();
      await sink.close();
      expect(r.hits.map((h) => h.status)).toEqual([503, 503, 200, 200, 200]);
      expect(r.hits.map((h) => h.records.length)).toEqual([10, 10, 10, 10, 5]);
      expect(r.accepted.map((x) => x["o365.message.trace_id"])).toEqual(envelopes(25).map((e) => e.record["o365.message.trace_id"]));
      expect(retries).toEqual(["sink_http", "sink_http"]);
      const h = r.hits[0]!.headers;
      expect(h.authorization).toBe("Bearer tok-123456");
      expect(h["content-encoding"]).toBe("gzip");
      expect(h["x-source"]).toBe("o365");
    } finally {
      await r.close();
    }
  });

  it("JSON array format; 400 is a configuration error naming the status and the receiver's answer", async () => {
    const r = await new Receiver().start();
    try {
      const sink = new HttpSink({
        config: httpSinkSchema.parse({ url: r.url, format: "json" }),
        retry: FAST,
        logger: silentLogger,
        env: {},
      });
      await sink.send(envelopes(3));
      await sink.flush();
      expect(r.hits[0]!.headers["content-type"]).toBe("application/json");
      expect(r.accepted.length).toBe(3);
      r.script = [400];
      await sink.send(envelopes(2));
      const err = await sink.flush().then(
        () => undefined,
        (e: unknown) => e as CollectorError,
      );
      expect(err).toBeInstanceOf(CollectorError);
      expect(err!.kind).toBe("config");
      expect(err!.message).toMatch(/rejected 2 record\(s\) with 400: \{"error":"bad json"\}/);
      expect(r.hits.length).toBe(2); // not retried
    } finally {
      await r.close();
    }
  });

  it("a missing bearer token variable is a configuration error at start", () => {
    expect(
      () =>
        new HttpSink({
          config: httpSinkSchema.parse({ url: "http://127.0.0.1:1/x", bearer_token_env: "NOPE_TOKEN" }),
          retry: FAST,
          logger: silentLogger,
          env: {},
        }),
    ).toThrow(/sink.http.bearer_token_env names NOPE_TOKEN, which is not set/);
  });
});

describe("http sink end to end", () => {
  let sim: Simulator;
  const T0 = Date.UTC(2026, 10, 20, 6, 0, 0);
  const SPAN = 2 * HOUR;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 5, ratePerHour: 120 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  function setup(r: Receiver) {
    const dir = tempDir();
    const config = simConfig(sim, dir, {
      start: new Date(T0).toISOString(),
      max_windows_per_run: 100,
      page_size: 50,
      request_budget: { limit: 100000, window_seconds: 1 }, // no pacing: not what is tested here
      sink: { type: "http", http: { url: r.url, batch_size: 500 } },
    });
    // Fast sink retries; the API side keeps the harness's.
    config.retry.backoff = { initial: 0.001, max: 0.005, jitter: 0 };
    const store = new StateStore(dir + "/state", sim.tenantId, "graph");
    r.onArrival = () => (existsSync(store.file) ? (JSON.parse(readFileSync(store.file, "utf8")).cursor ?? null) : null);
    const rt = createRuntime(config, { logger: createLogger({ level: "error", write: () => {} }), caPem: sim.ca, clock: () => T0 + SPAN });
    return { rt, store };
  }

  it("503, 503, then 200: every record arrives once and the cursor moves only after the 200", async () => {
    const r = await new Receiver().start();
    const { rt, store } = setup(r);
    try {
      r.script = [503, 503];
      await rt.collector.runCycle();
    } finally {
      await rt.close();
      await r.close();
    }
    const truth = truthIds(sim.truth(new Date(T0), new Date(T0 + SPAN)));
    expect(compare(truth, recordIds(r.accepted))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    // The first page was refused twice and accepted on the third try; no commit happened before that 200.
    expect(r.hits.slice(0, 3).map((h) => [h.status, h.cursorAtArrival])).toEqual([
      [503, null],
      [503, null],
      [200, null],
    ]);
    // Every post arrives while the cursor is still before the records it carries: commits follow 2xx, never precede.
    for (const h of r.hits) {
      const earliest = Math.min(...h.records.map((x) => Date.parse(x["o365.message.received"] as string)));
      if (h.cursorAtArrival) expect(Date.parse(h.cursorAtArrival)).toBeLessThanOrEqual(earliest);
    }
    expect(r.hits.some((h) => h.cursorAtArrival)).toBe(true);
    expect(store.load().state.cursor).toBe(new Date(T0 + SPAN).toISOString());
  });

  it("400: stops with a clear error and commits nothing", async () => {
    const r = await new Receiver().start();
    const { rt, store } = setup(r);
    r.script = [400];
    try {
      const err = await rt.collector.runCycle().then(
        () => undefined,
        (e: unknown) => e as CollectorError,
      );
      expect(err?.kind).toBe("config");
      expect(err?.message).toMatch(/HTTP receiver http:\/\/127\.0\.0\.1:\d+\/o365\.message_trace rejected \d+ record\(s\) with 400/);
      expect(err?.hint).toMatch(/sink\.http\.format/);
    } finally {
      await rt.close();
      await r.close();
    }
    expect(r.hits.length).toBe(1);
    expect(store.load().state.cursor).toBeUndefined();
  });
});
