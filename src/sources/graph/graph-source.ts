// Microsoft Graph message trace list: GET /{version}/admin/exchange/tracing/messageTraces with a
// receivedDateTime filter, following @odata.nextLink until it is absent (docs §1).
import type { Source, TraceDetailRow, TraceFilter, TraceRow, Window } from "../../types.js";
import { CollectorError } from "../../errors.js";
import { apiTime } from "../../window/time.js";
import { ApiClient, type ApiClientOptions } from "../api-client.js";
import { classifyGraph } from "./classify.js";
import { graphFilterClauses } from "../trace-filter.js";
import { classifyDetails, readGraphDetails } from "./details.js";
import { maxPagesFor, PageWalker } from "../paging.js";
import { isPlainObject, kindOf, mapPage, optionalNumber, optionalString, reportRejected, type RowRejects } from "../row-rejects.js";

export { classifyGraph, GRAPH_PERMISSION, MESSAGE_TRACE_SP_APP_ID } from "./classify.js";
/**
 * Statuses Microsoft added after the enum was frozen (e.g. `recalled`) arrive by name only with this header;
 * without it they arrive as `unknownFutureValue` (docs §5).
 */
export const GRAPH_HEADERS = { prefer: "include-unknown-enum-members" } as const;

export interface GraphSourceOptions extends Omit<ApiClientOptions, "classify" | "scope"> {
  /** e.g. https://graph.microsoft.com */
  graphBase: string;
  /** Token audience, e.g. https://graph.microsoft.com */
  resource: string;
  version: "v1.0" | "beta";
  pageSize: number;
  organization?: string;
  /** Where rows that cannot be mapped go (counted, logged, quarantined); they are skipped either way. */
  rejects?: RowRejects;
}

interface GraphPage {
  value?: unknown[];
  "@odata.nextLink"?: string;
}

/**
 * One list item → TraceRow, or why it cannot be one. Every field is type-checked here, at the boundary, so
 * a wrong-typed value (a numeric status, a null item) is a rejected row and not a TypeError in the mapper.
 */
export function graphItemToRow(item: unknown, index: number, organization: string | undefined): TraceRow | string {
  if (!isPlainObject(item)) return `the item is ${kindOf(item)}, not an object`;
  const problems: string[] = [];
  const text = optionalString(item, "receivedDateTime", problems);
  // One time parser for both APIs: a zone-less or offset time must not be read as local time.
  const received = text !== undefined ? apiTime(text) : undefined;
  if (text === undefined && problems.length === 0) problems.push("receivedDateTime is missing");
  else if (text !== undefined && received === undefined) problems.push("receivedDateTime is not a time");
  const row: TraceRow = {
    traceId: optionalString(item, "id", problems),
    messageId: optionalString(item, "messageId", problems),
    received: received?.iso ?? "",
    receivedMs: received?.ms,
    sender: optionalString(item, "senderAddress", problems),
    recipient: optionalString(item, "recipientAddress", problems),
    subject: optionalString(item, "subject", problems),
    size: optionalNumber(item, "size", problems),
    status: optionalString(item, "status", problems),
    fromIP: optionalString(item, "fromIP", problems),
    toIP: optionalString(item, "toIP", problems),
    index,
    organization,
  };
  return problems.length > 0 ? problems.join("; ") : row;
}

export function parseGraphPage(body: string, url: string): GraphPage {
  let page: GraphPage;
  try {
    page = JSON.parse(body);
  } catch {
    throw new CollectorError(
      "transient",
      `Graph returned a body that is not JSON (${body.length} bytes, starts ${JSON.stringify(body.slice(0, 40))})`,
      { hint: "retried; a proxy may be altering responses" },
    );
  }
  if (!page || !Array.isArray(page.value)) {
    throw new CollectorError("transient", `Graph returned JSON without a value array from ${new URL(url).pathname}`);
  }
  const next = page["@odata.nextLink"];
  if (next !== undefined && next !== null && typeof next !== "string") {
    throw new CollectorError(
      "transient",
      `Graph returned a page whose @odata.nextLink is not a string (${typeof next}) from ${new URL(url).pathname}`,
    );
  }
  return page;
}

export class GraphSource implements Source {
  readonly kind = "graph" as const;
  private readonly api: ApiClient;
  private readonly detailsApi: ApiClient;

  constructor(private readonly opts: GraphSourceOptions) {
    const scope = `${opts.resource.replace(/\/+$/, "")}/.default`;
    this.api = new ApiClient({ ...opts, scope, classify: classifyGraph, headers: GRAPH_HEADERS });
    this.detailsApi = new ApiClient({ ...opts, scope, classify: classifyDetails, headers: GRAPH_HEADERS });
  }

  readDetails(row: TraceRow, signal?: AbortSignal): Promise<TraceDetailRow[]> {
    return readGraphDetails(this.detailsApi, this.opts.graphBase, this.opts.version, row, signal);
  }

  windowUrl(window: Window, extra?: TraceFilter): string {
    // `le end` and not `lt`: the API documents ge/le only. The pipeline drops rows at exactly `end`,
    // which belong to the next window, so consecutive windows never overlap.
    const range = `receivedDateTime ge ${window.start.toISOString()} and receivedDateTime le ${window.end.toISOString()}`;
    const filter = [range, ...(extra ? graphFilterClauses(extra) : [])].join(" and ");
    const base = this.opts.graphBase.replace(/\/+$/, "");
    return `${base}/${this.opts.version}/admin/exchange/tracing/messageTraces?$filter=${encodeURIComponent(filter)}&$top=${this.opts.pageSize}`;
  }

  async *readWindow(window: Window, signal?: AbortSignal, filter?: TraceFilter): AsyncIterable<TraceRow[]> {
    let url: string | undefined = this.windowUrl(window, filter);
    const walker = new PageWalker(
      url,
      "Graph",
      maxPagesFor(this.opts.pageSize),
      "set source.endpoint to the host that serves your tenant's message trace if it genuinely moved",
    );
    let index = 0;
    let pageNo = 0;
    while (url) {
      const pageUrl: string = url;
      const page = await this.api.get(pageUrl, "graph", "application/json", (res) => parseGraphPage(res.body, pageUrl), signal);
      const { rows, rejected } = mapPage(page.value!, pageNo, (item) => {
        const row = graphItemToRow(item, index, this.opts.organization);
        if (typeof row !== "string") index++;
        return row;
      });
      reportRejected(this.opts.rejects, this.opts.logger, "graph", window, rejected);
      pageNo++;
      const next = walker.next(page["@odata.nextLink"], pageUrl);
      yield rows;
      url = next;
    }
  }
}
