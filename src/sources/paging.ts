// The paging rules every source follows, whatever its API. A next link is followed only on the origin the
// query was sent to, scheme included, so never from https down to http: the bearer token goes with every
// request, so a link to another host or to plain http would hand it over, and a foreign server's empty page
// would complete the window. A link that repeats an earlier one is a paging loop, and a window has at most
// `maxPages` pages. Each breach fails the window (the cursor does not move), with one line saying which.
import { CollectorError } from "../errors.js";
import { describeUrl } from "../net/request.js";

/**
 * Most rows one query can page through: the message trace services cap a query at 1000 pages of up to 5000
 * rows (Get-MessageTrace -Page 1..1000, -PageSize ≤ 5000). Far above any real window of a sane size, and a
 * hard stop for a server that hands out fresh next links forever.
 */
export const MAX_ROWS_PER_QUERY = 5_000_000;

/** The page bound for a given rows-per-page (at least 1000 pages). */
export function maxPagesFor(rowsPerPage: number): number {
  return Math.max(1000, Math.ceil(MAX_ROWS_PER_QUERY / Math.max(1, rowsPerPage)));
}

export class PageWalker {
  private readonly origin: string;
  private readonly visited = new Set<string>();
  private pages = 1;

  constructor(
    firstUrl: string,
    private readonly apiName: string,
    private readonly maxPages: number,
    /** What to tell an operator whose endpoint genuinely moved (e.g. to set source.endpoint). */
    private readonly endpointHint: string,
  ) {
    this.origin = new URL(firstUrl).origin;
    this.visited.add(new URL(firstUrl).toString());
  }

  /**
   * The absolute URL of the next page, or undefined when `link` ends paging. `pageUrl` resolves a relative
   * link. Throws a CollectorError when the link must not be followed.
   */
  next(link: string | undefined | null, pageUrl: string): string | undefined {
    if (link === undefined || link === null || link === "") return undefined;
    let url: URL;
    try {
      url = new URL(link, pageUrl);
    } catch {
      throw new CollectorError("transient", `${this.apiName} sent a next-page link that is not a URL`, {
        hint: "retried; report it if it persists",
      });
    }
    // Same origin means same scheme, host and port: an https query never follows a link down to plain http.
    if (url.origin !== this.origin || (url.protocol !== "https:" && url.protocol !== "http:")) {
      throw new CollectorError(
        "config",
        `${this.apiName} sent a next-page link to ${describeUrl(url.origin)} but the query went to ${this.origin}; refusing to send the access token there (only links on the query's own origin are followed)`,
        {
          hint: this.endpointHint,
        },
      );
    }
    const key = url.toString();
    if (this.visited.has(key)) {
      throw new CollectorError(
        "transient",
        `${this.apiName}'s next-page link repeats a page already read in this window (paging loop, after ${this.pages} page(s)); the window is not committed`,
        {
          hint: "retried with the next cycle; report it to Microsoft if it persists",
        },
      );
    }
    if (++this.pages > this.maxPages) {
      throw new CollectorError(
        "transient",
        `${this.apiName} is still paging after ${this.maxPages} pages in one window (more than the service can return for one query); the window is not committed`,
        {
          hint: "use a smaller window; report it if it persists",
        },
      );
    }
    this.visited.add(key);
    return key;
  }
}
