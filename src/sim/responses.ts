// Response values and the three error dialects the tenant speaks: Entra (token endpoint), Graph, and the
// OData v2/v3 service errors of the Reporting Web Service. Handlers return values; the server writes them,
// which lets faults (truncation, delay) wrap any response uniformly.
import { randomUUID } from "node:crypto";

export interface SimResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function json(status: number, obj: unknown, headers: Record<string, string> = {}): SimResponse {
  return { status, headers: { "content-type": "application/json; charset=utf-8", ...headers }, body: JSON.stringify(obj) };
}

export function graphJson(status: number, obj: unknown, headers: Record<string, string> = {}): SimResponse {
  return json(status, obj, {
    "content-type": "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
    ...headers,
  });
}

export function graphError(status: number, code: string, message: string, headers: Record<string, string> = {}): SimResponse {
  const requestId = randomUUID();
  return json(
    status,
    {
      error: {
        code,
        message,
        innerError: { date: new Date().toISOString().slice(0, 19), "request-id": requestId, "client-request-id": requestId },
      },
    },
    { "request-id": requestId, ...headers },
  );
}

/** Entra's token-endpoint error: the AADSTS code leads the description and is repeated in error_codes. */
export function aadError(status: number, error: string, code: number, text: string, headers: Record<string, string> = {}): SimResponse {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const ts = new Date()
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
  const body = {
    error,
    error_description: `AADSTS${code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${ts}`,
    error_codes: [code],
    timestamp: ts,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  };
  return json(status, body, { "cache-control": "no-store, no-cache", pragma: "no-cache", ...headers });
}

export type RwsFormat = "atom" | "v2" | "v3";

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/** OData service error as the Reporting Web Service (a WCF Data Service) writes it in each format. */
export function odataError(
  status: number,
  message: string,
  format: RwsFormat,
  headers: Record<string, string> = {},
  code = "",
): SimResponse {
  if (format === "v3") return json(status, { "odata.error": { code, message: { lang: "en-US", value: message } } }, headers);
  if (format === "v2") return json(status, { error: { code, message: { lang: "en-US", value: message } } }, headers);
  const body =
    `<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n` +
    `<error xmlns="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><code>${escapeXml(code)}</code>` +
    `<message xml:lang="en-US">${escapeXml(message)}</message></error>`;
  return { status, headers: { "content-type": "application/xml;charset=utf-8", ...headers }, body };
}

/** What a misrouted or unauthenticated Outlook/RWS call sometimes returns: HTTP 200 with a sign-in page. */
export function htmlSignin(): SimResponse {
  const body =
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sign in to Outlook</title></head>` +
    `<body><form method="post" action="/owa/auth.owa"><h1>Sign in to Outlook</h1>` +
    `<input type="email" name="username"><input type="password" name="password"></form></body></html>`;
  return { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body };
}

/** A fully read request, as handlers see it. */
export interface SimRequest {
  method: string;
  url: URL;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function header(req: SimRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
