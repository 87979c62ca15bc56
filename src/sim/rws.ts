// Legacy Reporting Web Service MessageTrace report: OData v2 filter on StartDate/EndDate, Atom XML by
// default, JSON light for `Accept: application/json`, verbose JSON (or JSON light) with $format=json,
// 2000-row pages whose next link carries a numeric $skiptoken (docs §5).
import { checkBearer } from "./auth.js";
import type { Ctx } from "./context.js";
import { encodeQueryValue, filterParam, parseTime } from "./odata.js";
import { DAY_MS, eqMatcher } from "./paging.js";
import { rwsStatus } from "./pools.js";
import { hashString } from "./prng.js";
import { lastProcessingAt } from "./processing.js";
import { escapeXml, header, json, odataError, type RwsFormat, type SimRequest, type SimResponse } from "./responses.js";
import { currentStatus, type SimRecord } from "./traffic.js";

type Getter = (r: SimRecord, now: number) => string | null | undefined;
const EQ_PROPS: Record<string, Getter> = {
  senderaddress: (r) => r.item.senderAddress,
  recipientaddress: (r) => r.item.recipientAddress,
  status: (r, now) => rwsStatus(currentStatus(r, now)),
  messageid: (r) => r.item.messageId,
  messagetraceid: (r) => r.item.id,
  fromip: (r) => r.item.fromIP,
  toip: (r) => r.item.toIP,
  subject: (r) => r.item.subject,
};

const NS_D = "http://schemas.microsoft.com/ado/2007/08/dataservices";
const NS_M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata";

/**
 * `$format=json` gets the configured shape (verbose by default, as `$format=json` clients report); a plain
 * `Accept: application/json` gets JSON light (docs §5), or verbose when it asks `odata=verbose`.
 */
export function rwsFormat(ctx: Ctx, req: SimRequest): RwsFormat {
  const f = (req.url.searchParams.get("$format") ?? "").toLowerCase();
  if (f === "json") return ctx.rwsJsonShape;
  const accept = header(req, "accept") ?? "";
  if (f === "" && /application\/json/i.test(accept) && !/atom|xml/i.test(accept)) return /odata=verbose/i.test(accept) ? "v2" : "v3";
  return "atom";
}

/** The real answer when the app lacks the Global Reader role (docs §5). GUESS: JSON whatever was asked for. */
const NO_PERMISSION = { ErrorCode: "", Message: "No permission to access the report for the organization ." };

/**
 * One page of rows newest first, skipping `skip` matching rows: the service's $skiptoken is a plain row
 * offset, so rows that appear or change between requests shift later pages (as they would for real).
 */
type Match = (r: SimRecord, now: number) => boolean;
function offsetPage(ctx: Ctx, lo: number, hi: number, skip: number, size: number, match: Match): { rows: SimRecord[]; more: boolean } {
  const now = ctx.now();
  const processing = ctx.rwsFilter === "processing";
  // With the processing-time filter a row received up to maxProcessingLagMs before `lo` can still match.
  const from = processing ? lo - ctx.maxProcessingLagMs : lo;
  const rows: SimRecord[] = [];
  let seen = 0;
  for (const [r] of ctx.traffic.descending(from, hi)) {
    if (r.vis > now) continue;
    if (processing) {
      const p = lastProcessingAt(r, now);
      if (p < lo || p > hi) continue;
    }
    if (!match(r, now)) continue;
    if (seen++ < skip) continue;
    if (rows.length === size) return { rows, more: true };
    rows.push(r);
  }
  return { rows, more: false };
}

/**
 * The next-page link: the original query options plus `$skiptoken=<index of the last row sent>`. JSON light
 * links are relative with `../../` (docs §5); GUESS (no public evidence): verbose JSON links are absolute and
 * Atom links relative to the feed's xml:base.
 */
function nextLinkFor(ctx: Ctx, req: SimRequest, fmt: RwsFormat, lastIndex: number): string {
  const parts: string[] = [];
  for (const [k, v] of req.url.searchParams)
    if (k.toLowerCase() !== "$skiptoken") parts.push(`${encodeQueryValue(k)}=${encodeQueryValue(v)}`);
  parts.push(`$skiptoken=${lastIndex}`);
  const query = parts.join("&");
  const segs = req.url.pathname.split("/");
  if (fmt === "v3") return `../../${segs.slice(2).join("/")}?${query}`;
  if (fmt === "atom") return `${segs[segs.length - 1]}?${query}`;
  return `${ctx.url}${req.url.pathname}?${query}`;
}

export function messageTrace(ctx: Ctx, req: SimRequest): SimResponse {
  const fmt = rwsFormat(ctx, req);
  const auth = checkBearer(ctx, req, "rws");
  if (!auth.ok) {
    if (auth.kind === "unauthenticated")
      return odataError(401, auth.message, fmt, {
        "www-authenticate": `Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0000-0000-c000-000000000000@*", authorization_uri="${ctx.url}/common/oauth2/authorize"`,
      });
    if (auth.kind === "no-global-reader") return json(403, NO_PERMISSION);
    // GUESS: a missing application permission answers like the missing role, in the OData error dialect.
    return odataError(403, auth.message, fmt);
  }
  const bad = (msg: string) => odataError(400, msg, fmt);
  const q = req.url.searchParams;
  const parsed = filterParam(q);
  if ("error" in parsed) return bad(parsed.error);
  const { clauses } = parsed;
  let start: number | undefined;
  let end: number | undefined;
  const eqs: Array<[Getter, string]> = [];
  for (const c of clauses) {
    const p = c.prop.toLowerCase();
    if (c.op !== "eq") return bad(`Operator '${c.op}' is not supported for property '${c.prop}'; use 'eq'.`);
    if (p === "startdate" || p === "enddate") {
      const ms = parseTime(c.value.text);
      if (ms === undefined) return bad(`Invalid DateTime value '${c.value.text}' for '${c.prop}'.`);
      if (p === "startdate") start = ms;
      else end = ms;
    } else if (EQ_PROPS[p]) {
      eqs.push([EQ_PROPS[p]!, c.value.text]);
    } else {
      return bad(`No property '${c.prop}' exists in type 'TenantReporting.MessageTrace'.`);
    }
  }
  const token = q.get("$skiptoken");
  if (token !== null && !/^\d{1,9}$/.test(token)) return bad(`The $skiptoken '${token}' is not a valid row offset.`);
  const now = ctx.now();
  // GUESS: bounds inclusive at both ends (undocumented); a collector with half-open windows must not drop
  // what the other end returns. Without dates: the last 48 hours, like the service.
  const hi = end !== undefined ? Math.floor(end) : Math.floor(now);
  // GUESS: a StartDate/EndDate given alone, and the 400 texts below; the 10-day limits are documented.
  const lo = start !== undefined ? Math.ceil(start) : hi - 2 * DAY_MS;
  if (hi < lo) return bad("EndDate must be later than StartDate.");
  if (hi - lo > 10 * DAY_MS) return bad("The report date range cannot exceed 10 days.");
  if (lo < now - 10 * DAY_MS) return bad("StartDate is older than 10 days. Use a historical search for older data.");
  const n0 = token === null ? 0 : Number(token) + 1;
  const match = eqMatcher(eqs.map(([g, v]) => [(r: SimRecord) => g(r, now), v] as [(r: SimRecord) => string | null | undefined, string]));
  const page = offsetPage(ctx, lo, hi, n0, ctx.rwsPageSize, match);
  const next = page.more ? nextLinkFor(ctx, req, fmt, n0 + page.rows.length - 1) : undefined;
  const win = { lo, hi, now };
  if (fmt === "atom")
    return {
      status: 200,
      headers: { "content-type": "application/atom+xml;type=feed;charset=utf-8" },
      body: atom(ctx, page.rows, n0, win, next),
    };
  const headers = {
    "content-type": fmt === "v2" ? "application/json;charset=utf-8" : "application/json;odata=minimalmetadata;streaming=true;charset=utf-8",
  };
  return { status: 200, headers, body: fmt === "v2" ? jsonV2(ctx, page.rows, n0, win, next) : jsonV3(ctx, page.rows, n0, win, next) };
}

const svcBase = (ctx: Ctx) => `${ctx.url}/ecp/ReportingWebService/Reporting.svc/`;
const isoMs = (ms: number) => new Date(ms).toISOString();

/** The query window plus the clock of this request (which status each row shows). */
interface Win {
  lo: number;
  hi: number;
  now: number;
}

/** 100-ns ticks below the millisecond, fixed per row: the service writes 7 fraction digits (docs §5). */
const subMs = (r: SimRecord) => String(hashString(`${r.item.id}|${r.item.recipientAddress}`) % 10_000).padStart(4, "0");
/** `2022-09-05T18:10:13.4907658`: 7 digits and, in some rows, no zone designator (it is still UTC). */
function received7(r: SimRecord): string {
  const base = isoMs(r.ms).slice(0, 23) + subMs(r);
  return hashString(r.item.id) % 2 === 0 ? base : `${base}Z`;
}
const iso7 = (ms: number) => `${isoMs(ms).slice(0, 23)}0000Z`;
const statusOf = (r: SimRecord, win: Win) => rwsStatus(currentStatus(r, win.now));

function atom(ctx: Ctx, rows: SimRecord[], n0: number, win: Win, next?: string): string {
  const base = svcBase(ctx);
  const updated = new Date().toISOString();
  const s = (name: string, v: string | null | undefined) =>
    v === null || v === undefined ? `<d:${name} m:null="true" />` : `<d:${name}>${escapeXml(v)}</d:${name}>`;
  const t = (name: string, type: string, v: string) => `<d:${name} m:type="${type}">${v}</d:${name}>`;
  const parts: string[] = [
    `<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n`,
    `<feed xml:base="${escapeXml(base)}" xmlns="http://www.w3.org/2005/Atom" xmlns:d="${NS_D}" xmlns:m="${NS_M}">`,
    `<id>${escapeXml(base)}MessageTrace</id><title type="text">MessageTrace</title><updated>${updated}</updated>`,
    `<link rel="self" title="MessageTrace" href="MessageTrace" />`,
  ];
  rows.forEach((r, k) => {
    const i = n0 + k;
    parts.push(
      `<entry><id>${escapeXml(base)}MessageTrace(${i})</id>`,
      `<category term="TenantReporting.MessageTrace" scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme" />`,
      `<link rel="edit" title="MessageTrace" href="MessageTrace(${i})" /><title /><updated>${updated}</updated><author><name /></author>`,
      `<content type="application/xml"><m:properties>`,
      s("Organization", ctx.organization),
      s("MessageId", r.item.messageId),
      t("Received", "Edm.DateTime", isoMs(r.ms)),
      s("SenderAddress", r.item.senderAddress),
      s("RecipientAddress", r.item.recipientAddress),
      s("Subject", r.item.subject),
      s("Status", statusOf(r, win)),
      s("ToIP", r.item.toIP || null),
      s("FromIP", r.item.fromIP || null),
      t("Size", "Edm.Int32", String(r.item.size)),
      t("MessageTraceId", "Edm.Guid", r.item.id),
      t("StartDate", "Edm.DateTime", isoMs(win.lo)),
      t("EndDate", "Edm.DateTime", isoMs(win.hi)),
      t("Index", "Edm.Int64", String(i)),
      `</m:properties></content></entry>`,
    );
  });
  if (next) parts.push(`<link rel="next" href="${escapeXml(next)}" />`);
  parts.push("</feed>");
  return parts.join("");
}

/** Marker replaced after JSON.stringify by the OData v2 `"\/Date(ms)\/"` literal (escaped slashes). */
const DATE_MARK = "\u0000D";
const dateV2 = (ms: number) => `${DATE_MARK}${ms}`;
const DATE_MARK_RE = /"\\u0000D(-?\d+)"/g;

function row(ctx: Ctx, r: SimRecord, i: number, win: Win, v2: boolean): Record<string, unknown> {
  const d = (ms: number) => (v2 ? dateV2(ms) : iso7(ms));
  return {
    Organization: ctx.organization,
    MessageId: r.item.messageId,
    Received: v2 ? dateV2(r.ms) : received7(r),
    SenderAddress: r.item.senderAddress,
    // The report writes null for a missing IP (docs §5), where Graph writes "".
    RecipientAddress: r.item.recipientAddress,
    Subject: r.item.subject,
    Status: statusOf(r, win),
    ToIP: r.item.toIP || null,
    FromIP: r.item.fromIP || null,
    Size: r.item.size,
    MessageTraceId: r.item.id,
    StartDate: d(win.lo),
    EndDate: d(win.hi),
    // Verbose JSON writes Edm.Int64 as a string (JavaScript cannot hold every Int64); JSON light as a number.
    Index: v2 ? String(i) : i,
  };
}

function jsonV2(ctx: Ctx, rows: SimRecord[], n0: number, win: Win, next?: string): string {
  const base = svcBase(ctx);
  const results = rows.map((r, k) => {
    const uri = `${base}MessageTrace(${n0 + k})`;
    return { __metadata: { id: uri, uri, type: "TenantReporting.MessageTrace" }, ...row(ctx, r, n0 + k, win, true) };
  });
  const d: Record<string, unknown> = { results };
  if (next) d.__next = next;
  return JSON.stringify({ d }).replace(DATE_MARK_RE, '"\\/Date($1)\\/"');
}

function jsonV3(ctx: Ctx, rows: SimRecord[], n0: number, win: Win, next?: string): string {
  const o: Record<string, unknown> = {
    "odata.metadata": `${svcBase(ctx)}$metadata#MessageTrace`,
    value: rows.map((r, k) => row(ctx, r, n0 + k, win, false)),
  };
  if (next) o["odata.nextLink"] = next;
  return JSON.stringify(o);
}
