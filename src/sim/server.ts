// The HTTPS front of the simulated tenant: TLS with a throw-away self-signed certificate, request
// reading, throttle and faults in front of the handlers, and the in-process control API.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { generate } from "selfsigned";
import { DEFAULT_APP, newSecret, normaliseApp, resolvedNumber, type App, type Ctx } from "./context.js";
import { control } from "./control.js";
import { detailsFor } from "./details.js";
import { Faults, Throttle } from "./faults.js";
import { GrantStore } from "./identity.js";
import { attachDirectory } from "./directory.js";
import { TokenSigner } from "./jwt.js";
import { json, type SimRequest, type SimResponse } from "./responses.js";
import { faultResponse, route, throttled } from "./router.js";
import { maxChangeMs } from "./status-changes.js";
import { currentStatus, Traffic } from "./traffic.js";
import { MAX_PROCESSING_STEP_MS } from "./processing.js";
import {
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  DEFAULT_ORGANIZATION,
  DEFAULT_TENANT_ID,
  type SimOptions,
  type Simulator,
  type TruthItem,
} from "./types.js";
import { lagModel } from "./lateness.js";

const MAX_BODY = 1 << 20;

export async function makeCert(): Promise<{ key: string; cert: string }> {
  const pems = await generate([{ name: "commonName", value: "127.0.0.1" }], {
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate: new Date(Date.now() - 24 * 3600_000), // tolerate clock skew between processes
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on("data", (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) reject(new Error("body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export async function startSimulator(opts: SimOptions = {}): Promise<Simulator> {
  const host = opts.host ?? "127.0.0.1";
  const [tls, signer] = opts.reuse ? [opts.reuse.tls, opts.reuse.signer] : await Promise.all([makeCert(), TokenSigner.create()]);
  const seed = resolvedNumber(opts.seed, 1);
  const organization = (opts.organization ?? DEFAULT_ORGANIZATION).toLowerCase();
  const baseNow = opts.now ?? Date.now;
  // Clock: frozen by setNow (deterministic tests), or shifted but running (POST /_sim/clock running:true).
  let fixed: number | undefined;
  let offset = 0;
  const now = () => (fixed !== undefined ? fixed : baseNow() + offset);
  const apps = new Map<string, App>();
  for (const a of opts.apps ?? [DEFAULT_APP]) apps.set(a.clientId.toLowerCase(), normaliseApp(a));
  const late = opts.late && opts.late.fraction > 0 ? opts.late : undefined;
  const statusChanges = opts.statusChanges && opts.statusChanges.fraction > 0 ? opts.statusChanges : undefined;
  const lag = lagModel(opts.lateness);
  const ctx: Ctx = {
    url: "",
    hostPort: "",
    tenantId: (opts.tenantId ?? DEFAULT_TENANT_ID).toLowerCase(),
    organization,
    apps,
    signer,
    traffic: new Traffic({
      seed,
      ratePerHour: resolvedNumber(opts.ratePerHour, 60),
      maxRecipients: Math.max(1, resolvedNumber(opts.maxRecipients, 4)),
      organization,
      ...(late ? { late } : {}),
      ...(statusChanges ? { statusChanges } : {}),
      ...(lag ? { lag } : {}),
    }),
    now,
    seed,
    graphMaxPageSize: resolvedNumber(opts.graphMaxPageSize, 5000),
    rwsPageSize: resolvedNumber(opts.rwsPageSize, 2000),
    rwsJsonShape: opts.rwsJsonShape ?? "v2",
    rwsFilter: opts.rwsFilter ?? "received",
    maxProcessingLagMs: (late ? late.maxLagMinutes * 60_000 : 0) + maxChangeMs(statusChanges) + MAX_PROCESSING_STEP_MS,
    tokenLifetimeSeconds: resolvedNumber(opts.tokenLifetimeSeconds, 3599),
    managedIdentityHeader: randomBytes(16).toString("hex"),
    secret: newSecret(),
    stats: { requests: {}, byStatus: {}, throttled: 0, tokensIssued: 0 },
  };
  const grants = new GrantStore();
  attachDirectory(ctx, opts.directory);
  const faults = new Faults(opts.faultRate);
  const throttle = opts.throttle ? new Throttle(opts.throttle.limit, opts.throttle.windowMs) : undefined;
  const timers = new Set<NodeJS.Timeout>();

  const truth: Simulator["truth"] = (from, to, o) => {
    const t = now();
    const out: TruthItem[] = [];
    for (const r of ctx.traffic.ascending(Math.ceil(from.getTime()), Math.ceil(to.getTime()) - 1)) {
      if (o?.visibleOnly && r.vis > t) continue;
      // Most rows never change: they get no `states` (a million extra arrays would cost more than the rows).
      if (!r.states) {
        out.push({ ...r.item });
        continue;
      }
      const item: TruthItem = { ...r.item };
      item.status = currentStatus(r, t);
      item.states = r.states.map((s) => ({ status: s.status, at: new Date(s.at).toISOString() }));
      out.push(item);
    }
    return out;
  };
  const setClock = (ms: number, running: boolean) => {
    if (running) {
      fixed = undefined;
      offset = ms - baseNow();
    } else fixed = ms;
  };

  const count = (rec: Record<string, number>, k: string) => (rec[k] = (rec[k] ?? 0) + 1);

  function send(res: ServerResponse, r: SimResponse, truncate = false): void {
    count(ctx.stats.byStatus, String(r.status));
    const buf = Buffer.from(r.body, "utf8");
    // The tenant's own clock in every response, as real services send it (the collector's clock guard reads it).
    res.writeHead(r.status, { date: new Date(ctx.now()).toUTCString(), ...r.headers, "content-length": String(buf.length) });
    if (!truncate) {
      res.end(buf);
      return;
    }
    // Half a valid body, then the connection dies: the client sees a premature close.
    res.write(buf.subarray(0, Math.floor(buf.length / 2)), () => res.socket?.destroy());
  }

  function sleep(ms: number, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        res.off("close", onClose);
        resolve(true);
      }, ms);
      const onClose = () => {
        clearTimeout(t);
        timers.delete(t);
        resolve(false);
      };
      timers.add(t);
      res.once("close", onClose);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", ctx.url);
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      path = url.pathname;
    }
    const sreq: SimRequest = { method: req.method ?? "GET", url, headers: req.headers, body };
    if (path.startsWith("/_sim/")) {
      count(ctx.stats.requests, "sim");
      send(res, control(ctx, { truth, setClock, faults }, sreq, path));
      return;
    }
    const r = route(ctx, grants, sreq, path);
    if (!r) {
      count(ctx.stats.requests, "unknown");
      send(res, json(404, { error: { code: "NotFound", message: `Resource not found for the segment '${path}'.` } }));
      return;
    }
    count(ctx.stats.requests, r.name);
    if (r.route && r.route !== "token" && throttle) {
      const retry = throttle.admit(opts.throttleClock === "sim" ? now() : Date.now());
      if (retry !== undefined) {
        ctx.stats.throttled++;
        send(res, throttled(ctx, sreq, r.route, retry));
        return;
      }
    }
    const f = r.route ? faults.take(r.route) : undefined;
    if (f && r.route) {
      if (f.kind === "reset") {
        count(ctx.stats.byStatus, "reset");
        req.socket.destroy();
        return;
      }
      if (f.kind === "slow" && !(await sleep(f.delayMs ?? 30_000, res))) return;
      const fr = faultResponse(ctx, sreq, r.route, f);
      if (fr) {
        send(res, fr);
        return;
      }
    }
    send(res, r.handle(), f?.kind === "truncated");
  }

  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent)
        send(res, json(500, { error: { code: "InternalServerError", message: `simulator bug: ${(e as Error).message}` } }));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(resolvedNumber(opts.port, 0), host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostPort = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  ctx.url = `https://${hostPort}`;
  ctx.hostPort = hostPort;
  const defaultApp = [...apps.values()][0];

  return {
    url: ctx.url,
    port,
    ca: tls.cert,
    tenantId: ctx.tenantId,
    organization,
    clientId: defaultApp?.clientId ?? DEFAULT_CLIENT_ID,
    clientSecret: defaultApp?.clientSecret ?? DEFAULT_CLIENT_SECRET,
    authority: `${ctx.url}/${ctx.tenantId}`,
    graphBase: ctx.url,
    rwsBase: `${ctx.url}/ecp/reportingwebservice/reporting.svc`,
    managedIdentityEndpoint: `${ctx.url}/msi/token`,
    managedIdentityHeader: ctx.managedIdentityHeader,
    truth,
    details: (traceId, recipient) => {
      const r = ctx.traffic.find(traceId, recipient);
      return r ? detailsFor(seed, r, now()) : [];
    },
    inject: (f) => faults.inject(f),
    clearFaults: () => faults.clear(),
    setNow: (ms) => setClock(ms, false),
    addApp: (a) => void apps.set(a.clientId.toLowerCase(), normaliseApp(a)),
    stats: () => structuredClone(ctx.stats),
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
