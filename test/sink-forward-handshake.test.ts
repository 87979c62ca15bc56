// Issue 13.1: the forward shared-key handshake against Fluent Bit's in_forward (HELO nonce = msgpack str of raw,
// non-UTF-8 bytes) and Fluentd's; every way a handshake can fail is one configuration error naming the handshake and
// the likely cause, and it stops the daemon (exit 2) instead of retrying forever.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { CollectorError, describeError } from "../src/errors.js";
import { silentLogger } from "../src/log/logger.js";
import { decodeServerMessages } from "../src/sinks/forward/exact-bytes.js";
import { ForwardSink } from "../src/sinks/forward/forward-sink.js";
import { forwardSinkSchema } from "../src/sinks/forward/options.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import type { Envelope } from "../src/types.js";
import { ForwardReceiver, type ReceiverStartOptions } from "./helpers/forward-receiver.js";
import { runCli, simConfigInput, tempDir, writeConfig } from "./helpers/harness.js";

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

async function receiver(opts: ReceiverStartOptions): Promise<ForwardReceiver> {
  const r = await new ForwardReceiver().start(opts);
  open.push(r);
  return r;
}

function sink(r: ForwardReceiver, extra: Record<string, unknown> = {}): ForwardSink {
  const s = new ForwardSink(
    forwardSinkSchema.parse({ host: "127.0.0.1", port: r.port, ack_timeout: 1, client_hostname: "collector", ...extra }),
    silentLogger,
  );
  open.push(s);
  return s;
}

const envelopes = (n: number): Envelope[] =>
  Array.from({ length: n }, (_, i) => ({ id: `id-${i}`, time: Date.UTC(2026, 0, 1) + i, record: { "o365.message.trace_id": `id-${i}` } }));

async function failure(p: Promise<unknown>): Promise<CollectorError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CollectorError);
  return err as CollectorError;
}

describe("forward handshake", () => {
  it("decoding keeps a str that is not UTF-8 as its exact bytes; valid text stays text", async () => {
    const raw = Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x80, 0xef, 0xbb, 0xbf]);
    // ["HELO", {nonce: str(raw), auth: "abc"}] written by hand: our encoder writes only UTF-8 as str.
    const msg = Buffer.concat([
      Buffer.from([0x92, 0xa4]),
      Buffer.from("HELO"),
      Buffer.from([0x82, 0xa5]),
      Buffer.from("nonce"),
      Buffer.from([0xa0 | raw.length]),
      raw,
      Buffer.from([0xa4]),
      Buffer.from("auth"),
      Buffer.from([0xa3]),
      Buffer.from("abc"),
    ]);
    const out: unknown[] = [];
    for await (const m of decodeServerMessages(Readable.from([msg.subarray(0, 5), msg.subarray(5)]))) out.push(m);
    expect(out).toHaveLength(1);
    const [kind, opts] = out[0] as [string, { nonce: Buffer; auth: string }];
    expect(kind).toBe("HELO");
    expect(Buffer.isBuffer(opts.nonce) && opts.nonce.equals(raw)).toBe(true);
    expect(opts.auth).toBe("abc");
  });

  for (const users of [undefined, { alice: "pw-alice" }]) {
    it(`Fluent Bit: nonce and salt as str of raw bytes, digests over those bytes${users ? ", with user auth" : ""}`, async () => {
      const r = await receiver({ handshake: "fluent-bit", sharedKey: "s3cret-key", users });
      const s = sink(r, { shared_key: "s3cret-key", ...(users ? { username: "alice", password: "pw-alice" } : {}) });
      await s.send(envelopes(5));
      await s.flush();
      expect(r.handshakeErrors).toEqual([]);
      expect(r.events.length).toBe(5);
      // The nonce really was not UTF-8 (what made the old client digest the wrong bytes).
      expect(() => new TextDecoder("utf-8", { fatal: true }).decode(r.nonces[0])).toThrow();
    });
  }

  it("Fluent Bit, wrong key: it closes without a PONG → one configuration error naming the handshake and the cause", async () => {
    const r = await receiver({ handshake: "fluent-bit", sharedKey: "s3cret-key" });
    const err = await failure(sink(r, { shared_key: "wrong-key!" }).send(envelopes(1)));
    expect(r.handshakeErrors).toEqual(["shared_key mismatch"]);
    expect(err.kind).toBe("config");
    const line = describeError(err);
    expect(line).toMatch(/forward shared-key handshake with 127\.0\.0\.1:\d+ failed/);
    expect(line).toMatch(/shared_key/);
    expect(line).not.toContain("wrong-key!");
    expect(line.split("\n")).toHaveLength(1);
  });

  it("Fluent Bit, wrong password: PONG false with its reason → configuration error", async () => {
    const r = await receiver({ handshake: "fluent-bit", sharedKey: "k", users: { alice: "pw" } });
    const err = await failure(sink(r, { shared_key: "k", username: "alice", password: "nope" }).send(envelopes(1)));
    expect(err.kind).toBe("config");
    expect(err.message).toMatch(/handshake .* failed.*username\/password mismatch/);
  });

  it("Fluentd, wrong key: PONG false → configuration error", async () => {
    const r = await receiver({ sharedKey: "s3cret-key" });
    const err = await failure(sink(r, { shared_key: "wrong-key!" }).send(envelopes(1)));
    expect(err.kind).toBe("config");
    expect(err.message).toMatch(/handshake .* failed.*shared_key mismatch/);
  });

  it("Fluentd, same hostname on both ends → configuration error naming the hostname", async () => {
    const r = await receiver({ sharedKey: "k", hostname: "collector" });
    const err = await failure(sink(r, { shared_key: "k", client_hostname: "collector" }).send(envelopes(1)));
    expect(err.kind).toBe("config");
    expect(describeError(err)).toMatch(/hostname/);
  });

  it("the receiver asks for a handshake we are not configured for → configuration error", async () => {
    const r = await receiver({ sharedKey: "k" });
    // Without a key our client writes at once; the receiver's HELO arrives and fails the flush.
    const s = sink(r);
    const err = await failure(s.send(envelopes(1)).then(() => s.flush()));
    expect(err.kind).toBe("config");
    expect(describeError(err)).toMatch(/handshake.*shared_key is not set/);
  });

  it("we expect a handshake the receiver never starts (no HELO) → configuration error", async () => {
    const r = await receiver({});
    const err = await failure(sink(r, { shared_key: "k" }).send(envelopes(1)));
    expect(err.kind).toBe("config");
    expect(describeError(err)).toMatch(/no HELO/);
  });
});

describe("forward handshake failure stops the daemon", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 5, ratePerHour: 30, maxRecipients: 2 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it("the command itself (the bundled build) digests Fluent Bit's raw-byte nonce and delivers", async () => {
    // The bundle must patch the same @fluent-org/logger it sends with (src/sinks/forward/exact-bytes.ts).
    const r = await receiver({ handshake: "fluent-bit", sharedKey: "s3cret-key" });
    const dir = tempDir();
    const T0 = Date.UTC(2026, 10, 20, 6, 0, 0);
    const sinkCfg = { type: "forward", forward: { port: r.port, ack_timeout: 5, shared_key: "s3cret-key", require_ack_response: true } };
    const file = writeConfig(
      dir,
      simConfigInput(sim, dir, {
        start: new Date(T0).toISOString(),
        window: 60,
        rescan: { horizon: 0 },
        log: { level: "info" },
        sink: sinkCfg,
      }),
    );
    const res = await runCli(["once", "--config", file], {
      env: { O365MT_NOW: new Date(T0 + 3_600_000 + 600_000).toISOString() },
      timeoutMs: 60_000,
    });
    expect(res.code, res.stderr).toBe(0);
    expect(r.handshakeErrors).toEqual([]);
    expect(r.events.length).toBeGreaterThan(0);
    expect(res.stderr).toMatch(new RegExp(`"msg":"cycle done".*"records":${r.events.length}\\b`));
  });

  for (const handshake of ["fluent-bit", "fluentd"] as const) {
    it(`${handshake}: run exits 2 with one line naming the handshake`, async () => {
      const r = await receiver({ handshake, sharedKey: "s3cret-key" });
      const dir = tempDir();
      const T0 = Date.UTC(2026, 10, 20, 6, 0, 0);
      const sinkCfg = { type: "forward", forward: { port: r.port, ack_timeout: 2, client_hostname: "collector" } };
      const file = writeConfig(dir, simConfigInput(sim, dir, { start: new Date(T0).toISOString(), frequency: 1, sink: sinkCfg }));
      const env = { ...process.env, O365MT_NOW: new Date(T0 + 3_600_000).toISOString(), O365_FORWARD_SHARED_KEY: "wrong-key!" };
      const res = await runCli(["run", "--config", file], { env, timeoutMs: 60_000 });
      expect(res.code, res.stderr).toBe(2);
      const last = res.stderr.trim().split("\n").pop()!;
      expect(last).toMatch(/config error: forward shared-key handshake with 127\.0\.0\.1:\d+ failed/);
      expect(res.stderr).not.toContain("wrong-key!");
    });
  }
});
