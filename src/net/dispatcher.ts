// One undici dispatcher per process for every outbound call (token, Graph, RWS, HTTP sink when it wants it):
// custom CA, TLS verification switch, and proxy (explicit `http.proxy.url`, else HTTPS_PROXY/NO_PROXY).
import { readFileSync } from "node:fs";
// The module, not its named exports: `rootCertificates` is a getter that parses Node's ~140 root certificates
// into strings, wanted only with a custom CA (the bundle turns this import into a require(); see
// scripts/bundle/builtins-cjs.mjs).
import * as tls from "node:tls";
import { Agent, EnvHttpProxyAgent, ProxyAgent, type Dispatcher } from "undici";
import { CollectorError } from "../errors.js";
import type { Logger } from "../log/logger.js";

export interface DispatcherOptions {
  caFile?: string;
  /** Extra CA PEM text (tests, the embedded simulator). */
  caPem?: string;
  insecure?: boolean;
  proxy?: { url?: string; username?: string; password?: string; no_proxy?: string };
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

function readCa(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new CollectorError("config", `cannot read CA file ${file}: ${(err as Error).message}`, {
      hint: "set http.ca_file to a PEM bundle that exists",
    });
  }
}

export function createDispatcher(opts: DispatcherOptions = {}): Dispatcher {
  const env = opts.env ?? process.env;
  const extra = [opts.caFile ? readCa(opts.caFile) : undefined, opts.caPem].filter((x): x is string => !!x);
  // A custom CA adds to the system roots instead of replacing them, so proxies and real hosts keep working.
  // One TLS context for every connection: given as `ca`, the ~140 roots were parsed again at each connect
  // (about 20 ms of CPU each; an idle `once` makes two, docs/performance.md "Cold start") and held about 1 MB
  // of native memory each (500 tenants in one process: 320+ MB of RSS with a 40 MB heap; issue 17).
  const tlsOpts = {
    ...(extra.length ? { secureContext: tls.createSecureContext({ ca: [...tls.rootCertificates, ...extra] }) } : {}),
    ...(opts.insecure ? { rejectUnauthorized: false } : {}),
  };
  if (opts.insecure) {
    opts.logger?.warn(
      "TLS certificate verification is DISABLED (http.insecure: true). Anyone on the path can read your tokens and data. Use http.ca_file instead.",
    );
  }
  const keepAlive = { keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000 };
  if (opts.proxy?.url) {
    const u = new URL(opts.proxy.url);
    const user = opts.proxy.username ?? decodeURIComponent(u.username);
    const pass = opts.proxy.password ?? decodeURIComponent(u.password);
    u.username = "";
    u.password = "";
    const token = user ? `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}` : undefined;
    return new ProxyAgent({ uri: u.toString(), token, requestTls: tlsOpts, ...keepAlive });
  }
  const hasEnvProxy = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"].some((k) => env[k]);
  if (hasEnvProxy) {
    return new EnvHttpProxyAgent({
      httpsProxy: env.HTTPS_PROXY ?? env.https_proxy,
      httpProxy: env.HTTP_PROXY ?? env.http_proxy,
      noProxy: opts.proxy?.no_proxy ?? env.NO_PROXY ?? env.no_proxy,
      requestTls: tlsOpts,
      connect: tlsOpts,
      ...keepAlive,
    });
  }
  return new Agent({ connect: tlsOpts, ...keepAlive });
}
