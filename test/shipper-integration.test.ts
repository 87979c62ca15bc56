// Optional: our sinks against a real Fluent Bit / Fluentd, using the shipped example configs (ports and paths
// rewritten to a temp dir). Runs only when a binary is named, e.g.
//   FLUENT_BIT_BIN=/opt/fluent-bit/bin/fluent-bit FLUENTD_BIN=fluentd npx vitest run test/shipper-integration.test.ts
// Fluent Bit needs the forward and http inputs, the parser filter and the stdout output (a -DFLB_MINIMAL=On build
// with those enabled is enough). Nothing here is built or downloaded by the suite.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { forwardSinkSchema } from "../src/sinks/forward/options.js";
import { httpSinkSchema } from "../src/sinks/http/options.js";
import { silentLogger } from "../src/log/logger.js";
import { ForwardSink } from "../src/sinks/forward/forward-sink.js";
import { HttpSink } from "../src/sinks/http/http-sink.js";
import type { Envelope, Sink } from "../src/types.js";
import { ROOT, tempDir } from "./helpers/harness.js";

const FLUENT_BIT = process.env.FLUENT_BIT_BIN;
const FLUENTD = process.env.FLUENTD_BIN;
const KEY = "integration-shared-key";

const running: ChildProcess[] = [];
afterEach(() => {
  while (running.length) running.pop()!.kill("SIGTERM");
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Start a shipper; resolve once it listens on `port`. Its stdout is collected in `out.text`. */
async function start(cmd: string, args: string[], port: number): Promise<{ out: { text: string } }> {
  const out = { text: "" };
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  running.push(child);
  child.stdout!.on("data", (c: Buffer) => (out.text += c.toString("utf8")));
  child.stderr!.on("data", (c: Buffer) => (out.text += c.toString("utf8")));
  for (let i = 0; i < 300; i++) {
    const ok = await new Promise<boolean>((r) =>
      connect(port, "127.0.0.1")
        .once("connect", function (this: import("node:net").Socket) {
          this.destroy();
          r(true);
        })
        .once("error", () => r(false)),
    );
    if (ok) return { out };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${cmd} did not listen on ${port}:\n${out.text}`);
}

const T = Date.UTC(2026, 10, 20, 6, 0, 1, 123);
const envelopes = (n: number): Envelope[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `it-${i}`,
    time: T + i * 1000,
    record: { "o365.message.trace_id": `it-${i}`, "o365.message.received": new Date(T + i * 1000).toISOString() },
  }));

async function deliver(sink: Sink, n: number): Promise<void> {
  try {
    await sink.send(envelopes(n));
    await sink.flush();
  } finally {
    await sink.close();
  }
}

async function until(cond: () => boolean, what: string, text: () => string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!cond()) throw new Error(`${what} not seen in output:\n${text()}`);
}

/** Fluent Bit json_lines: {"date": <seconds, fraction>, …record}. */
function fluentBitLines(text: string): Array<Record<string, unknown>> {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.skipIf(!FLUENT_BIT)(`Fluent Bit (${FLUENT_BIT ?? "skipped: set FLUENT_BIT_BIN to a fluent-bit binary"})`, () => {
  it("forward with shared_key (examples/forward/fluent-bit.conf): handshake, acks, event time", async () => {
    const port = await freePort();
    const dir = tempDir();
    const conf = readFileSync(join(ROOT, "examples/forward/fluent-bit.conf"), "utf8")
      .replace(/Port\s+24224/, `Port ${port}`)
      .replace(/storage\.path\s+\S+/, `storage.path ${dir}/storage`)
      .replace(/#\s*shared_key\s+\S+/, `shared_key ${KEY}`)
      .replace(/#\s*self_hostname\s+(\S+)/, "self_hostname $1");
    writeFileSync(join(dir, "fluent-bit.conf"), conf);
    const { out } = await start(FLUENT_BIT!, ["-c", join(dir, "fluent-bit.conf")], port);
    await deliver(new ForwardSink(forwardSinkSchema.parse({ port, shared_key: KEY, ack_timeout: 10 }), silentLogger), 20);
    await until(
      () => fluentBitLines(out.text).length >= 20,
      "20 records",
      () => out.text,
    );
    for (const line of fluentBitLines(out.text))
      expect(Math.round((line.date as number) * 1000)).toBe(Date.parse(line["o365.message.received"] as string));
  });

  it("http (examples/http/fluent-bit.conf): event time from o365.message.received, every field kept", async () => {
    const port = await freePort();
    const dir = tempDir();
    const conf = readFileSync(join(ROOT, "examples/http/fluent-bit.conf"), "utf8")
      .replace(/Port\s+9880/, `Port ${port}`)
      .replace(/storage\.path\s+\S+/, `storage.path ${dir}/storage`)
      .replace(/Parsers_File\s+parsers\.conf/, `Parsers_File ${join(ROOT, "examples/http/parsers.conf")}`);
    writeFileSync(join(dir, "fluent-bit.conf"), conf);
    const { out } = await start(FLUENT_BIT!, ["-c", join(dir, "fluent-bit.conf")], port);
    const config = httpSinkSchema.parse({ url: `http://127.0.0.1:${port}/o365.message_trace`, format: "json" });
    await deliver(new HttpSink({ config, retry: { count: 2, initialMs: 200, maxMs: 1000, jitter: 0 }, logger: silentLogger, env: {} }), 20);
    await until(
      () => fluentBitLines(out.text).length >= 20,
      "20 records",
      () => out.text,
    );
    for (const line of fluentBitLines(out.text)) {
      expect(line["o365.message.trace_id"]).toMatch(/^it-\d+$/);
      expect(Math.round((line.date as number) * 1000)).toBe(Date.parse(line["o365.message.received"] as string));
    }
  });
});

describe.skipIf(!FLUENTD)(`Fluentd (${FLUENTD ?? "skipped: set FLUENTD_BIN to a fluentd executable"})`, () => {
  it("forward with <security> (examples/forward/fluentd.conf): handshake, acks", async () => {
    const port = await freePort();
    const dir = tempDir();
    const conf = readFileSync(join(ROOT, "examples/forward/fluentd.conf"), "utf8")
      .replace(/port 24224/, `port ${port}`)
      .replace(
        /# <security>\n\s*#\s*self_hostname (\S+)\n\s*#\s*shared_key .*\n\s*# <\/security>/,
        `<security>\n    self_hostname $1\n    shared_key ${KEY}\n  </security>`,
      );
    expect(conf).toContain(`shared_key ${KEY}`);
    writeFileSync(join(dir, "fluentd.conf"), conf);
    const { out } = await start(FLUENTD!, ["-c", join(dir, "fluentd.conf")], port);
    await deliver(new ForwardSink(forwardSinkSchema.parse({ port, shared_key: KEY, ack_timeout: 10 }), silentLogger), 20);
    await until(
      () => (out.text.match(/o365\.message_trace: \{/g) ?? []).length >= 20,
      "20 records",
      () => out.text,
    );
    // Fluentd prints the event time first: it must be o365.message.received, not the arrival time.
    expect(out.text).toContain("2026-11-20 06:00:01.123000000 +0000 o365.message_trace:");
  });
});
