// Legacy Reporting Web Service MessageTrace report (`source: rws`, docs §2): one query per window on
// StartDate/EndDate, Atom XML or JSON, following the next link until there is none. Each page is fetched
// and parsed inside the retry loop, so a sign-in page or a cut-off body fails (and retries) the page as a
// whole: a page is yielded complete or not at all, and the collector moves the cursor only after the window.
import { RWS_WINDOW_SELECTION } from "./window-selection.js";
import type { HttpResponse } from "../../net/request.js";
import type { Source, TraceFilter, TraceRow, Window } from "../../types.js";
import { ApiClient, type ApiClientOptions } from "../api-client.js";
import { maxPagesFor, PageWalker } from "../paging.js";
import { mapPage, optionalNumber, optionalString, reportRejected, type MappedPage, type RowRejects } from "../row-rejects.js";
import { parseAtom } from "./atom.js";
import { classifyRws, htmlPageError, isHtml } from "./classify.js";
import { acceptHeader, windowUrl, type RwsFormat } from "./filter.js";
import { parseRwsJson } from "./json.js";
import { odataTime, UnreadableEntry, type RwsEntry, type RwsPage } from "./values.js";

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
interface ReadPage extends MappedPage {
  next?: string;
}

/** A value the service may type as a string or not at all; "" is absent (Atom's empty element). */
function str(e: RwsEntry, key: string, problems: string[]): string | undefined {
  const v = optionalString(e, key, problems);
  return v === "" ? undefined : v;
}

/** A DateTime property: typed by the reader already (ISO) or a string in one of the service's spellings. */
function time(e: RwsEntry, key: string, problems: string[]): string | undefined {
  const v = str(e, key, problems);
  if (v === undefined) return undefined;
  const iso = odataTime(v);
  if (iso === undefined) problems.push(`${key} is not a time`);
  return iso;
}

/**
 * One MessageTrace entry → TraceRow, or why it cannot be one. Every field is type-checked, as Graph's items
 * are (graphItemToRow): a numeric status, a size that is not a number or a Received that is not a time is a
 * rejected row, never a TypeError later and never a guess. An entry the reader could not read is rejected too.
 */
export function entryToRow(e: RwsEntry | UnreadableEntry): TraceRow | string {
  if (e instanceof UnreadableEntry) return e.reason;
  const problems: string[] = [];
  const received = time(e, "received", problems);
  if (received === undefined && problems.length === 0) problems.push("received is missing");
  const row: TraceRow = {
    traceId: str(e, "messagetraceid", problems),
    messageId: str(e, "messageid", problems),
    received: received ?? "",
    sender: str(e, "senderaddress", problems),
    recipient: str(e, "recipientaddress", problems),
    subject: str(e, "subject", problems),
    size: optionalNumber(e, "size", problems),
    status: str(e, "status", problems),
    fromIP: str(e, "fromip", problems),
    toIP: str(e, "toip", problems),
    index: optionalNumber(e, "index", problems),
    organization: str(e, "organization", problems),
    windowStart: time(e, "startdate", problems),
    windowEnd: time(e, "enddate", problems),
  };
  return problems.length > 0 ? problems.join("; ") : row;
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

  /** Parse a response into rows; throws (inside the retry loop) only when the body is not a page at all. */
  private readPage(res: HttpResponse, pageUrl: string, pageNo: number): ReadPage {
    const page = parseRwsBody(res, pageUrl);
    // The entry as received, for preserve_original and the quarantine file.
    const raw = (e: RwsEntry | UnreadableEntry, position: number) =>
      page.raws ? page.raws[position] : e instanceof UnreadableEntry ? undefined : e;
    const mapped = mapPage(page.entries, pageNo, entryToRow, raw);
    return { ...mapped, next: page.next };
  }

  async *readWindow(window: Window, signal?: AbortSignal, filter?: TraceFilter): AsyncIterable<TraceRow[]> {
    let url: string | undefined = this.windowUrl(window, filter);
    // The report pages itself (2000 rows per response, docs §5).
    const walker = new PageWalker(
      url,
      "the Reporting Web Service",
      maxPagesFor(2000),
      `set source.endpoint to that host if it is genuinely the report's home (now ${this.origin})`,
    );
    let pageNo = 0;
    while (url) {
      const pageUrl: string = url;
      const page = await this.api.get(pageUrl, "rws", acceptHeader(this.opts.format), (res) => this.readPage(res, pageUrl, pageNo), signal);
      reportRejected(this.opts.rejects, this.opts.logger, "rws", window, page.rejected);
      pageNo++;
      const next = walker.next(page.next, pageUrl);
      yield page.rows;
      url = next;
    }
  }
}
