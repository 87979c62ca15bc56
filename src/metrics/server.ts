// The daemon's observability endpoint: Prometheus text at /metrics, health at /healthz.
// `metrics.listen` is "PORT", "HOST:PORT" or "[V6]:PORT"; a bare port binds loopback only, because the
// metrics reveal tenant activity and nothing here authenticates the scraper.
import { createServer, type Server } from "node:http";
import { CollectorError } from "../errors.js";
import type { Registry } from "prom-client";

export interface HealthReport {
  ok: boolean;
  detail: Record<string, unknown>;
}

/** What the server serves: PromMetrics (one tenant) or FleetMetrics (many; `?tenant=` asks for one). */
export interface MetricsSource {
  registry: Registry;
  healthy(tenant?: string): HealthReport | undefined;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(listen.trim()) ?? /^()()(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new CollectorError("config", `metrics.listen = ${JSON.stringify(listen)} is not PORT or HOST:PORT`, {
      hint: 'e.g. metrics.listen: "127.0.0.1:9464"',
    });
  }
  return { host: m[1] || m[2] || "127.0.0.1", port };
}

export class MetricsServer {
  private server?: Server;

  constructor(
    private readonly metrics: MetricsSource,
    private readonly listen: string,
  ) {}

  async start(): Promise<{ host: string; port: number }> {
    const { host, port } = parseListen(this.listen);
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const path = url.pathname;
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD" }).end();
        return;
      }
      if (path === "/metrics") {
        this.metrics.registry.metrics().then(
          (text) => res.writeHead(200, { "content-type": this.metrics.registry.contentType }).end(text),
          (err: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${err.message}\n`),
        );
        return;
      }
      if (path === "/healthz") {
        const tenant = url.searchParams.get("tenant") ?? undefined;
        const h = this.metrics.healthy(tenant);
        if (!h) {
          res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ status: "unknown tenant", tenant }) + "\n");
          return;
        }
        res.writeHead(h.ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(h.detail) + "\n");
        return;
      }
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics or /healthz\n");
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) =>
        reject(
          new CollectorError("config", `metrics.listen ${this.listen}: cannot listen: ${err.message}`, {
            hint: "pick a free port or another address",
            code: err.code,
          }),
        ),
      );
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const addr = server.address() as { address: string; port: number };
    return { host: addr.address, port: addr.port };
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    // Scrapers keep connections alive; close them so shutdown stays bounded.
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
