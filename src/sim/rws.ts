// Legacy Reporting Web Service MessageTrace report: OData v2 filter on StartDate/EndDate, Atom XML by
// default, verbose JSON (or v3 JSON light) with $format=json, 2000-row pages with a $skiptoken link.
import { checkBearer } from "./auth.js";
import type { Ctx } from "./context.js";
import { ODataError, parseFilter, parseTime, type Clause } from "./odata.js";
import { collectPage, DAY_MS, encodeSkipToken, eqMatcher, fingerprint, nextLink, skipTokenOf } from "./paging.js";
import { escapeXml, header, odataError, type RwsFormat, type SimRequest, type SimResponse } from "./responses.js";
import type { SimRecord } from "./traffic.js";

type Getter = (r: SimRecord) => string | null | undefined;
const EQ_PROPS: Record<string, Getter> = {
  senderaddress: (r) => r.item.senderAddress,
  recipientaddress: (r) => r.item.recipientAddress,
  status: (r) => r.rwsStatus,
  messageid: (r) => r.item.messageId,
  messagetraceid: (r) => r.item.id,
  fromip: (r) => r.item.fromIP,
  toip: (r) => r.item.toIP,
  subject: (r) => r.item.subject,
};

const NS_D = "http://schemas.microsoft.com/ado/2007/08/dataservices";
const NS_M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata";

export function rwsFormat(ctx: Ctx, req: SimRequest): RwsFormat {
  const f = (req.url.searchParams.get("$format") ?? "").toLowerCase();
  const accept = header(req, "accept") ?? "";
  const wantsJson = f === "json" || (f === "" && /application\/json/i.test(accept) && !/atom|xml/i.test(accept));
  return wantsJson ? ctx.rwsJsonShape : "atom";
}

export function messageTrace(ctx: Ctx, req: SimRequest): SimResponse {
  const fmt = rwsFormat(ctx, req);
  const auth = checkBearer(ctx, req, "rws");
  if (!auth.ok) {
    if (auth.kind === "unauthenticated") return odataError(401, auth.message, fmt, { "www-authenticate": `Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0000-0000-c000-000000000000@*", authorization_uri="${ctx.url}/common/oauth2/authorize"` });
    // "No permission to access the report for the organization" is answered as HTTP 403 (our choice; the
    // field reports only the text): a permission problem, so clients must not retry it as a server fault.
    return odataError(403, auth.message, fmt);
  }
  const bad = (msg: string) => odataError(400, msg, fmt);
  const q = req.url.searchParams;
  const filter = q.get("$filter") ?? "";
  let clauses: Clause[];
  try {
    clauses = filter.trim() ? parseFilter(filter) : [];
  } catch (e) {
    return bad((e as ODataError).message);
  }
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
  const fp = fingerprint(ctx, "rws", filter);
  const skip = skipTokenOf(ctx, q, fp);
  if (skip.error) return bad(skip.error);
  const state = skip.state;
  let lo: number;
  let hi: number;
  if (state) {
    ({ lo, hi } = state);
  } else {
    const now = ctx.now();
    // StartDate <= Received <= EndDate: both ends inclusive (a collector using half-open windows must
    // drop rows equal to EndDate itself). Without dates: the last 48 hours, like the service.
    hi = end !== undefined ? Math.floor(end) : Math.floor(now);
    lo = start !== undefined ? Math.ceil(start) : hi - 2 * DAY_MS;
    if (hi < lo) return bad("EndDate must be later than StartDate.");
    if (hi - lo > 10 * DAY_MS) return bad("The report date range cannot exceed 10 days.");
    if (lo < now - 10 * DAY_MS) return bad("StartDate is older than 10 days. Use a historical search for older data.");
  }
  const page = collectPage(ctx, lo, hi, state?.pos, ctx.rwsPageSize, eqMatcher(eqs));
  const n0 = state?.n ?? 0;
  const next = page.next
    ? nextLink(ctx, req, encodeSkipToken(ctx, { pos: page.next, n: n0 + page.rows.length, lo, hi, f: fp }))
    : undefined;
  const win = { lo, hi };
  if (fmt === "atom") return { status: 200, headers: { "content-type": "application/atom+xml;type=feed;charset=utf-8" }, body: atom(ctx, page.rows, n0, win, next) };
  const headers = { "content-type": fmt === "v2" ? "application/json;charset=utf-8" : "application/json;odata=minimalmetadata;streaming=true;charset=utf-8" };
  return { status: 200, headers, body: fmt === "v2" ? jsonV2(ctx, page.rows, n0, win, next) : jsonV3(ctx, page.rows, n0, win, next) };
}

const svcBase = (ctx: Ctx) => `${ctx.url}/ecp/ReportingWebService/Reporting.svc/`;
const isoMs = (ms: number) => new Date(ms).toISOString();

function atom(ctx: Ctx, rows: SimRecord[], n0: number, win: { lo: number; hi: number }, next?: string): string {
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
      s("Organization", ctx.organization), s("MessageId", r.item.messageId), t("Received", "Edm.DateTime", isoMs(r.ms)),
      s("SenderAddress", r.item.senderAddress), s("RecipientAddress", r.item.recipientAddress), s("Subject", r.item.subject),
      s("Status", r.rwsStatus), s("ToIP", r.item.toIP), s("FromIP", r.item.fromIP), t("Size", "Edm.Int32", String(r.item.size)),
      t("MessageTraceId", "Edm.Guid", r.item.id), t("StartDate", "Edm.DateTime", isoMs(win.lo)), t("EndDate", "Edm.DateTime", isoMs(win.hi)),
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

function row(ctx: Ctx, r: SimRecord, i: number, win: { lo: number; hi: number }, v2: boolean): Record<string, unknown> {
  const d = (ms: number) => (v2 ? dateV2(ms) : isoMs(ms));
  return {
    Organization: ctx.organization, MessageId: r.item.messageId, Received: d(r.ms), SenderAddress: r.item.senderAddress,
    RecipientAddress: r.item.recipientAddress, Subject: r.item.subject, Status: r.rwsStatus, ToIP: r.item.toIP ?? null,
    FromIP: r.item.fromIP ?? null, Size: r.item.size, MessageTraceId: r.item.id, StartDate: d(win.lo), EndDate: d(win.hi),
    // Verbose JSON writes Edm.Int64 as a string (JavaScript cannot hold every Int64); JSON light as a number.
    Index: v2 ? String(i) : i,
  };
}

function jsonV2(ctx: Ctx, rows: SimRecord[], n0: number, win: { lo: number; hi: number }, next?: string): string {
  const base = svcBase(ctx);
  const results = rows.map((r, k) => {
    const uri = `${base}MessageTrace(${n0 + k})`;
    return { __metadata: { id: uri, uri, type: "TenantReporting.MessageTrace" }, ...row(ctx, r, n0 + k, win, true) };
  });
  const d: Record<string, unknown> = { results };
  if (next) d.__next = next;
  return JSON.stringify({ d }).replace(DATE_MARK_RE, '"\\/Date($1)\\/"');
}

function jsonV3(ctx: Ctx, rows: SimRecord[], n0: number, win: { lo: number; hi: number }, next?: string): string {
  const o: Record<string, unknown> = { "odata.metadata": `${svcBase(ctx)}$metadata#MessageTrace`, value: rows.map((r, k) => row(ctx, r, n0 + k, win, false)) };
  if (next) o["odata.nextLink"] = next;
  return JSON.stringify(o);
}
