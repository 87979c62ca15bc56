// Graph per-recipient detail events: GET /{version}/admin/exchange/tracing/messageTraces/{id}/
// getDetailsByRecipient(recipientAddress='{address}') (docs §1). Opt-in (`details: true`) and bounded by
// details_max_per_window, because the call shares the tenant's 100 requests / 5 minutes.
import { CollectorError } from "../../errors.js";
import type { HttpResponse } from "../../net/request.js";
import type { TraceDetailRow, TraceRow } from "../../types.js";
import type { ApiClient } from "../api-client.js";
import { classifyGraph } from "./classify.js";

interface GraphDetailItem {
  dateTime?: string;
  event?: string;
  action?: string;
  description?: string;
  data?: string;
}

interface DetailPage {
  value?: GraphDetailItem[];
  "@odata.nextLink"?: string;
}

/** OData string literal inside a path segment: quotes doubled, then percent-encoded. */
export function detailsUrl(graphBase: string, version: string, traceId: string, recipient: string): string {
  const base = graphBase.replace(/\/+$/, "");
  const addr = encodeURIComponent(recipient.replace(/'/g, "''"));
  return `${base}/${version}/admin/exchange/tracing/messageTraces/${encodeURIComponent(traceId)}/getDetailsByRecipient(recipientAddress='${addr}')`;
}

/**
 * 404 means "no detail for this row" (e.g. the trace aged out between list and detail call): not worth failing
 * the window for. Everything else is classified like the list call (401/403/429/5xx).
 */
export function classifyDetails(res: HttpResponse, url: string, token: string): CollectorError | undefined {
  if (res.status === 404) return undefined;
  return classifyGraph(res, url, token);
}

function parseDetailPage(res: HttpResponse): DetailPage {
  if (res.status === 404) return { value: [] };
  let page: DetailPage;
  try {
    page = JSON.parse(res.body);
  } catch {
    throw new CollectorError("transient", `Graph returned a detail body that is not JSON (${res.body.length} bytes)`, {
      hint: "retried; a proxy may be altering responses",
    });
  }
  if (!page || !Array.isArray(page.value)) throw new CollectorError("transient", "Graph returned detail JSON without a value array");
  return page;
}

export async function readGraphDetails(
  api: ApiClient,
  graphBase: string,
  version: string,
  row: TraceRow,
  signal?: AbortSignal,
): Promise<TraceDetailRow[]> {
  if (!row.traceId || !row.recipient) return [];
  const out: TraceDetailRow[] = [];
  let url: string | undefined = detailsUrl(graphBase, version, row.traceId, row.recipient);
  while (url) {
    const page: DetailPage = await api.get(url, "details", "application/json", parseDetailPage, signal);
    for (const d of page.value!) {
      if (!d.dateTime) continue;
      out.push({ parent: row, date: d.dateTime, event: d.event, action: d.action, description: d.description, data: d.data, raw: d });
    }
    url = page["@odata.nextLink"];
  }
  return out;
}
