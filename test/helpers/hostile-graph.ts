// A Graph endpoint that misbehaves on purpose (plain HTTP on loopback; tokens still come from the simulator's
// login): each test hands it a handler deciding what a request gets. Records every request it received,
// with the Authorization header, so a test can prove where the bearer token went.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface HostileRequest {
  url: URL;
  authorization?: string;
}

export interface HostileServer {
  url: string;
  requests: HostileRequest[];
  close(): Promise<void>;
}

export type HostileHandler = (req: HostileRequest, res: ServerResponse, self: { url: string; count: number }) => void;

export async function startHostile(handler: HostileHandler): Promise<HostileServer> {
  const requests: HostileRequest[] = [];
  let base = "";
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const r = { url: new URL(req.url ?? "/", base), authorization: req.headers.authorization };
    requests.push(r);
    req.resume();
    res.on("error", () => {});
    try {
      handler(r, res, { url: base, count: requests.length });
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One well-formed Graph list item. */
export function graphItem(n: number, receivedMs: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    messageId: `<m${n}@contoso.com>`,
    receivedDateTime: new Date(receivedMs).toISOString(),
    senderAddress: "sender@contoso.com",
    recipientAddress: `r${n}@fabrikam.com`,
    subject: `message ${n}`,
    size: 1000 + n,
    status: "delivered",
    fromIP: "203.0.113.1",
    toIP: "",
    ...extra,
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}

/** The $filter's window start (ge …) of a Graph list request. */
export function windowStart(url: URL): number {
  const m = /receivedDateTime ge (\S+)/.exec(url.searchParams.get("$filter") ?? "");
  return m ? Date.parse(m[1]!) : NaN;
}
