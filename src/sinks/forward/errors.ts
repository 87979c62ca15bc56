// What went wrong with a forward receiver, as one clear line each. Handshake failures are configuration errors
// (never retried: waiting does not fix a key); everything about the connection itself is transient.
import { CollectorError } from "../../errors.js";

const KEY_HINT =
  "sink.forward.shared_key (env O365_FORWARD_SHARED_KEY) must equal the receiver's shared_key (Fluentd <security>, Fluent Bit shared_key)";
const HOSTNAME_HINT = "sink.forward.client_hostname (default: this machine's hostname) must differ from the receiver's self_hostname";

type SocketError = Error & { code?: string };

export function describeSocketError(e: SocketError | undefined): string {
  return e ? `: ${e.message || e.name}${e.code ? ` (${e.code})` : ""}` : "";
}

function handshakeError(where: string, what: string, hint: string): CollectorError {
  return new CollectorError("config", `forward shared-key handshake with ${where} failed: ${what}`, { hint });
}

/** An error @fluent-org/logger raises during the handshake, as a configuration error; undefined for others. */
export function handshakeProblem(where: string, err: unknown): CollectorError | undefined {
  const e = err as Error | undefined;
  const name = e?.name ?? "";
  const msg = e?.message || name;
  if (name === "SharedKeyMismatchError") return handshakeError(where, "the receiver's PONG digest does not match our shared key", KEY_HINT);
  if (name === "ConfigError") return handshakeError(where, `${msg} (the receiver uses our hostname)`, HOSTNAME_HINT);
  if (name !== "AuthError") return undefined;
  if (/expected authentication/i.test(msg)) {
    return handshakeError(
      where,
      "the receiver asks for a shared-key handshake (HELO) but sink.forward.shared_key is not set",
      "set O365_FORWARD_SHARED_KEY (or sink.forward.shared_key) to the receiver's shared_key",
    );
  }
  const reason = msg.replace(/^Authentication failed:\s*/i, "") || "no reason given";
  if (/hostname/i.test(reason)) return handshakeError(where, `the receiver refused us: ${reason}`, HOSTNAME_HINT);
  if (/user|password/i.test(reason)) {
    return handshakeError(
      where,
      `the receiver refused us: ${reason}`,
      "sink.forward.username/password must match a user of the receiver (Fluentd <user>, Fluent Bit users)",
    );
  }
  return handshakeError(where, `the receiver refused us: ${reason}`, KEY_HINT);
}

/** The receiver closed the connection after connecting and before a PONG accepted us. */
export function handshakeClosed(where: string): CollectorError {
  return handshakeError(
    where,
    "the receiver closed the connection before accepting us (no PONG)",
    `most likely a key mismatch — Fluent Bit closes without a reason and logs "shared_key mismatch": ${KEY_HINT}; also check that tls.enabled matches the receiver`,
  );
}

/** Connected, but no HELO came: the receiver does not do the handshake our config asks for. */
export function noHelo(where: string, seconds: number): CollectorError {
  return handshakeError(
    where,
    `connected, but the receiver sent no HELO within ${seconds}s`,
    "sink.forward.shared_key is set but the receiver does not ask for a handshake (no <security> in Fluentd, no shared_key in Fluent Bit; Vector has none): set it on both sides or on neither",
  );
}

export function connectFailed(where: string, e: SocketError | undefined): CollectorError {
  return new CollectorError("transient", `cannot connect to forward receiver ${where}${describeSocketError(e)}`, {
    hint: "check sink.forward.host/port and that Fluentd/Fluent Bit in_forward (or Vector fluent) is listening",
    code: e?.code,
  });
}

/** A connection that was working went away (EPIPE, ECONNRESET, close): the receiver stopped or restarted. */
export function receiverClosed(where: string, unacked: number, e: SocketError | undefined): CollectorError {
  return new CollectorError(
    "transient",
    `forward receiver ${where} closed the connection with ${unacked} record(s) not acknowledged${describeSocketError(e)}`,
    {
      hint: "the receiver stopped or restarted: they are sent again after reconnecting (retry.count), else the window is read again next cycle",
      code: e?.code,
    },
  );
}

export function ackTimeout(where: string, unacked: number, seconds: number): CollectorError {
  return new CollectorError("transient", `forward receiver ${where} did not acknowledge ${unacked} record(s) within ${seconds}s`, {
    hint: "the receiver must answer acks (Fluentd/Fluent Bit in_forward do); they are sent again after reconnecting, else the window is read again next cycle",
  });
}

export function noConnection(where: string, seconds: number, e: SocketError | undefined): CollectorError {
  return new CollectorError("transient", `forward receiver ${where}: no connection within ${seconds}s${describeSocketError(e)}`, {
    hint: "check sink.forward.host/port, TLS and shared_key, and that the receiver is up",
  });
}
