// Issue 4: the forward sink against a real forward-protocol receiver (msgpack over TCP/TLS, acks, handshake).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { generate } from "selfsigned";
import { CollectorError } from "../src/errors.js";
import { silentLogger } from "../src/log/logger.js";
import { ForwardSink } from "../src/sinks/forward/forward-sink.js";
import { forwardConfig, forwardSinkSchema, type ForwardConfig } from "../src/sinks/forward/options.js";
import type { Envelope } from "../src/types.js";
import { ForwardReceiver, ReceivedTime } from "./helpers/forward-receiver.js";
import { tempDir } from "./helpers/harness.js";

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

async function receiver(opts: Parameters<ForwardReceiver["start"]>[0] = {}): Promise<ForwardReceiver> {
  const r = await new ForwardReceiver().start(opts);
  open.push(r);
  return r;
}

function sink(r: ForwardReceiver, extra: Record<string, unknown> = {}): ForwardSink {
  const c: ForwardConfig = forwardSinkSchema.parse({ host: "127.0.0.1", port: r.port, ack_timeout: 1, ...extra });
  const s = new ForwardSink(c, silentLogger);
  open.push(s);
  return s;
}

// Received times with sub-millisecond parts do not occur (the APIs' times are mapped to ms); 123 ms → 123000000 ns.
const BASE = Date.UTC(2026, 0, 2, 3, 4, 5, 123);
function envelopes(n: number, from = 0): Envelope[] {
  return Array.from({ length: n }, (_, i) => {
    const k = from + i;
    const time = BASE + k * 1001;
    return {
      id: `id-${k}`,
      time,
      record: {
        "o365.message.trace_id": `id-${k}`,
        "o365.message.received": new Date(time).toISOString(),
        "o365.message.subject": "ü ".repeat(k % 7),
      },
    };
  });
}

describe("forward sink", () => {
  for (const mode of ["Message", "Forward", "PackedForward", "CompressedPackedForward"] as const) {
    it(`${mode}: every record arrives once, with tag and EventTime (ns) from the received time`, async () => {
      const r = await receiver();
      const s = sink(r, { event_mode: mode, batch_size: 40, tag: "o365.test" });
      await s.send(envelopes(50));
      await s.send(envelopes(50, 50));
      await s.flush();
      expect(r.events.length).toBe(100);
      expect(r.modes).toEqual(new Set([mode]));
      expect(new Set(r.records.map((x) => x["o365.message.trace_id"])).size).toBe(100);
      for (const e of r.events) {
        expect(e.tag).toBe("o365.test");
        expect(e.time).toBeInstanceOf(ReceivedTime);
        const t = e.time as ReceivedTime;
        const received = Date.parse(e.record["o365.message.received"] as string);
        expect(t.sec).toBe(Math.floor(received / 1000));
        expect(t.nsec).toBe((received % 1000) * 1_000_000);
      }
      // Batched: far fewer transport messages than records, except in Message mode (one per record).
      if (mode === "Message") expect(r.messages).toBe(100);
      else expect(r.messages).toBeLessThanOrEqual(6);
      expect(s.acked).toBe(100);
    });
  }

  it("flush rejects when acks are withheld, and delivers again after the receiver recovers", async () => {
    const r = await receiver();
    const s = sink(r, { event_mode: "Forward", batch_size: 10 });
    await s.send(envelopes(10));
    await s.flush();
    r.withholdAcks(1);
    await s.send(envelopes(20, 10));
    const err = await s.flush().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CollectorError);
    expect((err as CollectorError).kind).toBe("transient");
    expect((err as Error).message).toMatch(/did not acknowledge \d+ record\(s\) within 1s/);
    r.resumeAcks();
    await s.send(envelopes(20, 10));
    await s.flush();
    const ids = r.records.map((x) => x["o365.message.trace_id"]);
    // Ids 10–29 were sent twice (second batch unacked, then resent); nothing is missing.
    expect(new Set(ids).size).toBe(30);
  });

  it("flush rejects at once when the connection drops with records unacknowledged", async () => {
    const r = await receiver();
    const s = sink(r, { event_mode: "PackedForward", batch_size: 10, ack_timeout: 30 });
    r.dropConnection(1);
    await s.send(envelopes(30));
    const err = await s.flush().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/closed the connection with \d+ record\(s\) not acknowledged/);
    await s.send(envelopes(30));
    await s.flush();
    expect(new Set(r.records.map((x) => x["o365.message.trace_id"])).size).toBe(30);
  });

  it("a receiver that never acks fails the flush (require_ack_response); with acks off the write is enough", async () => {
    const r = await receiver({ ack: false });
    const strict = sink(r);
    await strict.send(envelopes(5));
    await expect(strict.flush()).rejects.toThrow(/did not acknowledge/);
    const lax = sink(r, { require_ack_response: false });
    await lax.send(envelopes(5));
    await lax.flush();
    // Without acks "flushed" only means handed to the socket: the receiver gets it a moment later.
    await r.waitForRecords(10);
    expect(r.events.length).toBe(10);
  });

  it("no receiver: one clear transient error", async () => {
    const r = await receiver();
    const port = r.port;
    await r.close();
    const s = new ForwardSink(forwardConfig(forwardSinkSchema.parse({ port, ack_timeout: 1 })), silentLogger);
    open.push(s);
    const err = await s.send(envelopes(1)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CollectorError);
    expect((err as Error).message).toMatch(new RegExp(`forward receiver 127.0.0.1:${port}.*ECONNREFUSED`));
  });

  it("shared-key handshake with user auth; a wrong key is a configuration error", async () => {
    const r = await receiver({ sharedKey: "s3cret-key", users: { alice: "pw-alice" } });
    const good = sink(r, { shared_key: "s3cret-key", username: "alice", password: "pw-alice", client_hostname: "collector" });
    await good.send(envelopes(3));
    await good.flush();
    expect(r.events.length).toBe(3);
    const bad = sink(r, { shared_key: "wrong-key!", username: "alice", password: "pw-alice", client_hostname: "collector" });
    const err = await bad.send(envelopes(1)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as CollectorError).kind).toBe("config");
    expect((err as Error).message).toMatch(/handshake .* failed/);
    expect((err as Error).message).not.toContain("wrong-key!");
  });

  it("TLS with a private CA", async () => {
    const pems = await generate([{ name: "commonName", value: "127.0.0.1" }], {
      keySize: 2048,
      algorithm: "sha256",
      extensions: [{ name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] }],
    });
    const dir = tempDir();
    const ca = join(dir, "ca.pem");
    writeFileSync(ca, pems.cert);
    const r = await receiver({ tls: { key: pems.private, cert: pems.cert } });
    const s = sink(r, { tls: { enabled: true, ca_file: ca } });
    await s.send(envelopes(7));
    await s.flush();
    expect(r.events.length).toBe(7);
    // Without the CA the certificate is refused.
    const untrusted = sink(r, { tls: { enabled: true } });
    await expect(untrusted.send(envelopes(1))).rejects.toThrow(/forward receiver/);
  });
});
