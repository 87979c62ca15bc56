// A minimal Fluent forward receiver for the benchmark (its own process, so it does not steal the parent's
// event loop): acks every chunk that asks for one and counts records. Message, Forward, PackedForward and
// CompressedPackedForward (gzip) modes; no handshake (the bench sets no shared key).
// Prints {"port":N} on start; on SIGTERM prints {"records":N,"messages":N,"bytes":N} and exits.
import { createServer } from "node:net";
import { gunzipSync } from "node:zlib";
import { decodeMulti, decodeMultiStream, encode } from "@msgpack/msgpack";

let records = 0;
let messages = 0;
let bytes = 0;
const count = process.argv.includes("--no-count") ? false : true;

function entriesIn(msg) {
  const second = msg[1];
  if (Array.isArray(second)) return second.length; // Forward mode
  if (second instanceof Uint8Array) {
    // PackedForward: a msgpack stream of [time, record] pairs; decode only when asked to count exactly.
    if (!count) return 0;
    const opt = msg[2] ?? {};
    const buf = opt.compressed === "gzip" ? gunzipSync(second) : second;
    let n = 0;
    for (const _ of decodeMulti(buf)) n++;
    return n;
  }
  return 1; // Message mode: [tag, time, record, option]
}

const server = createServer(async (socket) => {
  socket.on("error", () => {});
  socket.on("data", (c) => (bytes += c.length));
  try {
    for await (const msg of decodeMultiStream(socket)) {
      if (!Array.isArray(msg)) continue;
      messages++;
      records += entriesIn(msg);
      const opt = msg[msg.length - 1];
      if (opt && typeof opt === "object" && !Array.isArray(opt) && opt.chunk) socket.write(encode({ ack: opt.chunk }));
    }
  } catch {
    socket.destroy();
  }
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});

process.on("SIGTERM", () => {
  process.stdout.write(JSON.stringify({ records, messages, bytes }) + "\n", () => process.exit(0));
});
