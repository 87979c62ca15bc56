// A real forward proxy for tests: CONNECT only (all our traffic is HTTPS), counting the tunnels it opened and,
// when `auth` is given, demanding Basic Proxy-Authorization. Used by proxy.test.ts and the setup tests.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, type Socket } from "node:net";

export interface TestProxy {
  url: string;
  tunnels: string[];
  refused: number;
  close(): Promise<void>;
}

/** A minimal forward proxy: CONNECT only (all our traffic is HTTPS), Basic auth when `auth` is given. */
export async function startConnectProxy(auth?: { user: string; pass: string }): Promise<TestProxy> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  let refused = 0;
  const server: Server = createServer((_req, res) => {
    res.writeHead(405).end("CONNECT only");
  });
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    if (auth) {
      const want = `Basic ${Buffer.from(`${auth.user}:${auth.pass}`).toString("base64")}`;
      if (req.headers["proxy-authorization"] !== want) {
        refused++;
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
        return;
      }
    }
    const [host, port] = (req.url ?? "").split(":");
    tunnels.push(req.url ?? "");
    const upstream = connect(Number(port), host!, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    get refused() {
      return refused;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
