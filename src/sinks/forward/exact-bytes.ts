// Make @fluent-org/logger digest the handshake's nonce and salt over the bytes the receiver sent.
//
// Fluent Bit's in_forward sends its HELO `nonce` and `auth` salt as msgpack *str* holding 16 random bytes, which
// are almost never valid UTF-8. @fluent-org/logger 1.0.10 decodes server messages with @msgpack/msgpack 2.x and no
// options, so such a str becomes a JS string with the invalid bytes replaced; the PING digest is then computed over
// other bytes and Fluent Bit answers "shared_key mismatch" forever. The library offers no decoder option, but its
// socket looks up one module export, `decodeServerStream`, each time it opens a connection. We replace that export
// with a decoder that keeps every str value that is not strict UTF-8 as its raw bytes (Buffer); strings that are
// valid UTF-8 stay strings, which the library's digest code hashes as their UTF-8 encoding — the same bytes. So the
// digest covers exactly the received bytes whatever msgpack type (str or bin) carried them.
//
// Why not patch-package: a postinstall patch is silently skipped by `npm ci --ignore-scripts` (common in hardened
// image builds), cannot find the library when npm hoists it into a consumer's tree, and would add patch-package and
// its dependencies to the production install. This hook needs no install step and fails loudly (below) if the
// library's shape changes; the dependency is pinned to the exact version it was written for. The upstream fix is
// proposed in docs/upstream-fluent-logger-raw-nonce.md; when it is released, delete this file.
import { createRequire } from "node:module";
import { Readable } from "node:stream";
import { decodeMultiStream } from "@msgpack/msgpack";
import { CollectorError } from "../../errors.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A str/bin value as text when it is strict UTF-8 (so re-encoding gives the same bytes), else its raw bytes. */
function exact(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    try {
      return strictUtf8.decode(value);
    } catch {
      return Buffer.from(value); // a copy: the decoder's buffer is not ours to keep
    }
  }
  if (Array.isArray(value)) return value.map(exact);
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = exact(v);
    return out;
  }
  return value;
}

/** Server → client messages (HELO, PONG, acks), str values decoded as raw bytes first (map keys stay text). */
export async function* decodeServerMessages(stream: Readable): AsyncGenerator<unknown> {
  for await (const message of decodeMultiStream<undefined>(stream, { rawStrings: true })) yield exact(message);
}

let installed = false;

/** Idempotent; throws one clear error if this build of @fluent-org/logger has no such hook. */
export function decodeHandshakeBytesExactly(): void {
  if (installed) return;
  const protocol = createRequire(import.meta.url)("@fluent-org/logger/build/src/protocol.js") as { decodeServerStream?: unknown };
  if (typeof protocol.decodeServerStream !== "function") {
    throw new CollectorError(
      "internal",
      "@fluent-org/logger has no protocol.decodeServerStream: this build has an unsupported version of it",
      {
        hint: "reinstall with the package-lock.json shipped with o365-message-trace (npm ci)",
      },
    );
  }
  protocol.decodeServerStream = decodeServerMessages;
  installed = true;
}
