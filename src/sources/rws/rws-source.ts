// Legacy Reporting Web Service MessageTrace report (`source: rws`, docs §2): one query per window on
// StartDate/EndDate, Atom XML or JSON, following the next link until there is none. Each page is fetched
// and parsed inside the retry loop, so a sign-in page or a cut-off body fails (and retries) the page as a
// whole: a page is yielded complete or not at all, and the collector moves the cursor only after the window.
import { RWS_WINDOW_SELECTION } from "./window-selection.js";
import type { HttpResponse } from "../../net/request.js";
import type { Source, TraceFilter, TraceRow, Window } from "../../types.js";
import { ApiClient, type ApiClientOptions } from "../api-client.js";
import { maxPagesFor, PageWalker } from "../paging.js";
import type { RowRejects } from "../row-rejects.js";
import { parseAtom } from "./atom.js";
import { classifyRws, htmlPageError, isHtml } from "./classify.js";
import { acceptHeader, windowUrl, type RwsFormat } from "./filter.js";
import { parseRwsJson } from "./json.js";
import { odataTime, type RwsEntry, type RwsPage } from "./values.js";

export interface RwsSourceOptions extends Omit<ApiClientOptions, "classify" | "scope"> {
  /** e.g. https://reports.office365.com/ecp/reportingwebservice/reporting.svc */
  rwsBase: string;
  /** Token audience, e.g. https://outlook.office365.com (scope `${resource}/.default`). */
  resource: string;
  /** What to ask for; either answer is read, whatever was asked. */
  format: RwsFormat;
  /** Where rows that cannot be mapped go (counted, logged, quarantined); they are skipped either way. */
  rejects?: RowRejects;
}

/** A page as the collector sees it, plus what paging needs. */
interface ReadPage {
  rows: TraceRow[];
  next?: string;
  rejected: Array<{ position: number; raw: unknown }>;
}

function str(e: RwsEntry, key: string): string | undefined {
  const v = e[key];
  return v === null || v === undefined || v === "" ? undefined : String(v);
}

function num(e: RwsEntry, key: string): number | undefined {
  const v = e[key];
  if (v === null || v === undefined || v === "") return undefined;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function time(e: RwsEntry, key: string): string | undefined {
  const v = str(e, key);
  return v === undefined ? undefined : odataTime(v);
}

/** One MessageTrace entry → TraceRow; undefined when it has no usable Received time (cannot be windowed). */
export function entryToRow(e: RwsEntry): TraceRow | undefined {
  const received = time(e, "received");
  if (!received) return undefined;
  return {
    traceId: str(e, "messagetraceid"),
    messageId: str(e, "messageid"),
    received,
    sender: str(e, "senderaddress"),
    recipient: str(e, "recipientaddress"),
    subject: str(e, "subject"),
    size: num(e, "size"),
    status: str(e, "status"),
    fromIP: str(e, "fromip"),
    toIP: str(e, "toip"),
    index: num(e, "index"),
    organization: str(e, "organization"),
    windowStart: time(e, "startdate"),
    windowEnd: time(e, "enddate"),
  };
}

/** Read a response body as whichever format it is in: some tenants ignore $format. */
export function parseRwsBody(res: HttpResponse, pageUrl: string): RwsPage {
  if (isHtml(res)) throw htmlPageError(res, pageUrl);
  const head = res.body.slice(0, 64).trimStart();
  return head.startsWith("{") ? parseRwsJson(res.body, pageUrl) : parseAtom(res.body, pageUrl);
}


export class RwsSource implements Source {
  readonly kind = "rws" as const;
  readonly windowSelection = RWS_WINDOW_SELECTION;
  private readonly api: ApiClient;
  private readonly origin: string;

  constructor(private readonly opts: RwsSourceOptions) {
    this.api = new ApiClient({ ...opts, scope: `${opts.resource.replace(/\/+$/, "")}/.default`, classify: classifyRws });
    this.origin = new URL(opts.rwsBase).origin;
  }

  windowUrl(window: Window, filter?: TraceFilter): string {
    return windowUrl(this.opts.rwsBase, window, this.opts.format, filter);
  }

  /** Parse a response into rows; throws (inside the retry loop) when the page is unusable. */
  private readPage(res: HttpResponse, pageUrl: string): ReadPage {
    const page = parseRwsBody(res, pageUrl);
    const rows: TraceRow[] = [];
    const rejected: ReadPage["rejected"] = [];
    page.entries.forEach((e, position) => {
      const row = entryToRow(e);
      if (row) rows.push(page.raws ? Object.assign(row, { raw: page.raws[position] }) : row);
      else rejected.push({ position, raw: page.raws?.[position] ?? e });
    });
    return { rows, next: page.next, rejected };
  }

  async *readWindow(window: Window, signal?: AbortSignal, filter?: TraceFilter): AsyncIterable<TraceRow[]> {
    let url: string | undefined = this.windowUrl(window, filter);
    // The report pages itself (2000 rows per response, docs §5).
    const walker = new PageWalker(url, "the Reporting Web Service", maxPagesFor(2000), `set endpoints.rws to that host if it is genuinely the report's home (now ${this.origin})`);
    let pageNo = 0;
    while (url) {
      const pageUrl: string = url;
      const page = await this.api.get(pageUrl, "rws", acceptHeader(this.opts.format), (res) => this.readPage(res, pageUrl), signal);
      if (page.rejected.length > 0) {
        const rows = page.rejected.map((r) => ({ page: pageNo, position: r.position, reason: "Received is missing or not a time", raw: r.raw }));
        if (this.opts.rejects) this.opts.rejects.reject("rws", window, rows);
        else this.opts.logger.warn("MessageTrace entries without a Received time were skipped", { skipped: rows.length, start: window.start.toISOString() });
      }
      pageNo++;
      const next = walker.next(page.next, pageUrl);
      yield page.rows;
      url = next;
    }
  }
}
