// sink.forward options: their schema (keys, defaults, ranges) and their translation into @fluent-org/logger
// client options. Kept apart from the sink so the delivery logic reads without TLS and handshake plumbing in the way.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { ConnectionOptions } from "node:tls";
import type { FluentClientOptions } from "@fluent-org/logger";
import * as z from "zod/mini";
import { durationSeconds } from "../../config/duration.js";
import { CollectorError } from "../../errors.js";
import { registerSecret } from "../../log/redact.js";

export const forwardSinkSchema = z.strictObject({
  host: z._default(z.string(), "127.0.0.1"),
  port: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(65535)), 24224),
  tag: z._default(z.string().check(z.minLength(1)), "o365.message_trace"),
  require_ack_response: z._default(z.boolean(), true),
  ack_timeout: durationSeconds(1, 3600, 30),
  event_mode: z._default(z.enum(["Message", "Forward", "PackedForward", "CompressedPackedForward"]), "PackedForward"),
  batch_size: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(100000)), 1000),
  tls: z.optional(
    z.strictObject({
      enabled: z._default(z.boolean(), false),
      ca_file: z.optional(z.string()),
      cert_file: z.optional(z.string()),
      key_file: z.optional(z.string()),
      insecure: z._default(z.boolean(), false),
      servername: z.optional(z.string()),
    }),
  ),
  /** Prefer env O365_FORWARD_SHARED_KEY. */
  shared_key: z.optional(z.string()),
  client_hostname: z.optional(z.string()),
  username: z.optional(z.string()),
  password: z.optional(z.string()),
});

export type ForwardConfig = z.infer<typeof forwardSinkSchema>;

/** sink.forward with every default filled in, also when the section is absent. */
export function forwardConfig(section: ForwardConfig | undefined): ForwardConfig {
  return section ?? forwardSinkSchema.parse({});
}

function readPem(file: string, key: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new CollectorError("config", `cannot read sink.forward.tls.${key} ${file}: ${(err as Error).message}`, {
      hint: `set sink.forward.tls.${key} to a PEM file that exists`,
    });
  }
}

export function tlsOptions(c: ForwardConfig): ConnectionOptions | undefined {
  const t = c.tls;
  if (!t?.enabled) return undefined;
  const opts: ConnectionOptions = { servername: t.servername ?? (isIp(c.host) ? undefined : c.host) };
  if (t.ca_file) opts.ca = readPem(t.ca_file, "ca_file");
  if (t.cert_file) opts.cert = readPem(t.cert_file, "cert_file");
  if (t.key_file) opts.key = readPem(t.key_file, "key_file");
  if (t.insecure) opts.rejectUnauthorized = false;
  return opts;
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

export function clientOptions(c: ForwardConfig): FluentClientOptions {
  if ((c.username || c.password) && !c.shared_key) {
    throw new CollectorError("config", "sink.forward.username/password need sink.forward.shared_key", {
      hint: "the forward handshake (HELO/PING/PONG) carries user auth only together with a shared key",
    });
  }
  registerSecret(c.shared_key);
  registerSecret(c.password);
  const ackMs = c.ack_timeout * 1000;
  return {
    eventMode: c.event_mode,
    // We never connect implicitly: the sink connects on first send so a refused connection is one clear error.
    disableAutoconnect: true,
    socket: {
      host: c.host,
      port: c.port,
      // The library closes an idle socket after `timeout`; keep it longer than the ack wait so a receiver that
      // is slow to ack is reported as an ack timeout, not a confusing "connection closed".
      timeout: ackMs + 5_000,
      tls: tlsOptions(c),
      reconnect: { delay: 500, maxDelay: 5_000 },
    },
    ...(c.require_ack_response ? { ack: { ackTimeout: ackMs } } : {}),
    ...(c.shared_key
      ? {
          security: {
            clientHostname: c.client_hostname ?? hostname(),
            sharedKey: c.shared_key,
            username: c.username,
            password: c.password,
          },
        }
      : {}),
    // The sink's queue holds pre-encoded chunks of at most batch_size records (chunk-queue.ts): each is written
    // as one forward message as soon as it is queued.
    sendQueueSyncFlushLimit: { length: 1 },
    milliseconds: true,
  };
}
