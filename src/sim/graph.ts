// Microsoft Graph message trace: list (filter, $top, signed $skiptoken paging) and getDetailsByRecipient.
import { checkBearer, type AuthResult } from "./auth.js";
import type { Ctx } from "./context.js";
import { detailsFor } from "./details.js";
import { filterParam, parseTime, timeBounds, type Clause, type Op } from "./odata.js";
import { collectPage, DAY_MS, encodeSkipToken, eqMatcher, fingerprint, nextLink, skipTokenOf } from "./paging.js";
import { graphError, graphJson, header, type SimRequest, type SimResponse } from "./responses.js";
import { currentStatus, type SimRecord } from "./traffic.js";
import type { GraphTraceItem } from "./types.js";

/** Graph property names (lower-cased for lookup) that accept `eq`. */
const EQ_PROPS: Record<string, keyof GraphTraceItem> = {
  id: "id",
  messageid: "messageId",
  senderaddress: "senderAddress",
  recipientaddress: "recipientAddress",
  status: "status",
  fromip: "fromIP",
  toip: "toIP",
  subject: "subject",
};

export function authFailure(ctx: Ctx, a: Exclude<AuthResult, { ok: true }>): SimResponse {
  switch (a.kind) {
    case "unauthenticated":
      return graphError(401, "InvalidAuthenticationToken", a.message, {
        "www-authenticate": `Bearer realm="", authorization_uri="${ctx.url}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
      });
    case "sp-not-found":
      return graphError(401, "Unauthorized", a.message);
    default:
      return graphError(403, "Forbidden", `Authorization_RequestDenied: ${a.message}`);
  }
}

// GUESS: the error code and texts of Graph's 400s (the rules themselves are documented, docs §1, §5).
const bad = (message: string) => graphError(400, "BadRequest", message);

function literalText(c: Clause): string {
  return c.value.text;
}

/** Enum members added after Graph froze the enum: shown by name only when the client opts in (docs §5). */
const EVOLVED_STATUSES = new Set(["recalled"]);

/** True when the request sends `Prefer: include-unknown-enum-members` (any of several Prefer values). */
export function includesUnknownEnumMembers(req: SimRequest): boolean {
  return /(?:^|[\s,;])include-unknown-enum-members(?:$|[\s,;])/i.test(header(req, "prefer") ?? "");
}

/** The status as this request sees it: the state current now, with evolvable members hidden unless asked for. */
export function shownStatus(r: SimRecord, now: number, evolved: boolean): string {
  const s = currentStatus(r, now);
  return !evolved && EVOLVED_STATUSES.has(s) ? "unknownFutureValue" : s;
}

export function listMessageTraces(ctx: Ctx, req: SimRequest): SimResponse {
  const auth = checkBearer(ctx, req, "graph");
  if (!auth.ok) return authFailure(ctx, auth);
  const q = req.url.searchParams;
  const parsed = filterParam(q);
  if ("error" in parsed) return bad(`Invalid filter clause: ${parsed.error}`);
  const { filter, clauses } = parsed;
  const times: Array<{ op: Op; ms: number }> = [];
  const eqs: Array<[(r: SimRecord) => string | null | undefined, string]> = [];
  const evolved = includesUnknownEnumMembers(req);
  const now = ctx.now();
  for (const c of clauses) {
    const p = c.prop.toLowerCase();
    if (p === "receiveddatetime") {
      // Documented forms only (docs §5): `ge` and `le`. GUESS: the wording of this and the 400s below.
      if (c.op !== "ge" && c.op !== "le")
        return bad(`Invalid filter clause: the operator '${c.op}' is not supported on 'receivedDateTime'; use 'ge' and 'le'.`);
      const ms = parseTime(literalText(c));
      if (ms === undefined) return bad(`Invalid filter clause: '${literalText(c)}' is not a valid DateTimeOffset value.`);
      times.push({ op: c.op, ms });
    } else if (EQ_PROPS[p]) {
      if (c.op !== "eq" || c.value.kind !== "string")
        return bad(`Invalid filter clause: only 'eq' with a quoted string literal is supported on '${c.prop}'.`);
      const key = EQ_PROPS[p]!;
      eqs.push(
        key === "status"
          ? [(r) => shownStatus(r, now, evolved), c.value.text]
          : [(r) => r.item[key] as string | null | undefined, c.value.text],
      );
    } else {
      return bad(`Invalid filter clause: Could not find a property named '${c.prop}' on type 'microsoft.graph.exchangeMessageTrace'.`);
    }
  }
  const topRaw = q.get("$top");
  let top = 1000;
  if (topRaw !== null) {
    top = /^\d+$/.test(topRaw) ? Number(topRaw) : NaN;
    if (!(top >= 1 && top <= ctx.graphMaxPageSize))
      return bad(`Invalid page size specified: '${topRaw}'. Must be between 1 and ${ctx.graphMaxPageSize}.`);
  }

  // GUESS: the $skiptoken format is undocumented (docs §5: follow @odata.nextLink as given); ours is a signed
  // cursor, so pages neither skip nor repeat while rows appear. Whether the real one can shift is unknown.
  const fp = fingerprint(ctx, "graph", filter, String(top));
  const skip = skipTokenOf(ctx, q, fp);
  if (skip.error) return bad(skip.error);
  const state = skip.state;
  let lo: number;
  let hi: number;
  if (state) {
    ({ lo, hi } = state);
  } else {
    let b: { lo?: number; hi?: number };
    try {
      b = timeBounds(times);
    } catch (e) {
      return bad(`Invalid filter clause: ${(e as Error).message}`);
    }
    if (times.length > 0 && (!times.some((t) => t.op === "ge") || !times.some((t) => t.op === "le"))) {
      return bad("Invalid filter clause: a receivedDateTime filter needs both a start ('ge') and an end ('le').");
    }
    // Documented: without dates, the last 48 hours; the end may not be later than the current date/time.
    if (b.hi !== undefined && b.hi > now)
      return bad(`The end date ${new Date(b.hi).toISOString()} cannot be later than the current date and time.`);
    hi = b.hi ?? Math.floor(now);
    lo = b.lo ?? hi - 2 * DAY_MS;
    if (hi < lo) return bad("The end date must be later than the start date.");
    if (hi - lo > 10 * DAY_MS) return bad("The date range must not exceed 10 days. Split the query into smaller windows.");
    if (lo < now - 90 * DAY_MS) return bad("The start date must be within the last 90 days.");
  }

  const page = collectPage(ctx, lo, hi, state?.pos, top, eqMatcher(eqs));
  const base = req.url.pathname.startsWith("/beta") ? "https://graph.microsoft.com/beta" : "https://graph.microsoft.com/v1.0";
  let body = `{"@odata.context":${JSON.stringify(`${base}/$metadata#admin/exchange/tracing/messageTraces`)},"value":[`;
  body += page.rows
    .map((r) => {
      const status = shownStatus(r, now, evolved);
      return JSON.stringify(status === r.item.status ? r.item : { ...r.item, status });
    })
    .join(",");
  body += "]";
  if (page.next) {
    const token = encodeSkipToken(ctx, { pos: page.next, n: (state?.n ?? 0) + page.rows.length, lo, hi, f: fp });
    body += `,"@odata.nextLink":${JSON.stringify(nextLink(ctx, req, token))}`;
  }
  body += "}";
  // Built piecewise: a page is at most graphMaxPageSize rows, never the whole span.
  return { ...graphJson(200, null), body };
}

const DETAILS_RE =
  /^\/(?:v1\.0|beta)\/admin\/exchange\/tracing\/messageTraces\/([^/]+)\/getDetailsByRecipient\(recipientAddress='((?:[^']|'')*)'\)$/i;

export function isDetailsPath(path: string): boolean {
  return DETAILS_RE.test(path);
}

export function getDetails(ctx: Ctx, req: SimRequest, path: string): SimResponse {
  const auth = checkBearer(ctx, req, "graph");
  if (!auth.ok) return authFailure(ctx, auth);
  const m = DETAILS_RE.exec(path);
  if (!m) return graphError(400, "BadRequest", "Resource not found for the segment 'getDetailsByRecipient'.");
  const id = m[1]!;
  const rcpt = m[2]!.replace(/''/g, "'");
  const r = ctx.traffic.find(id, rcpt);
  // GUESS: the answer for an unknown trace id/recipient (404 here) is undocumented.
  if (!r || r.vis > ctx.now()) return graphError(404, "NotFound", `No message trace with id '${id}' and recipient '${rcpt}' was found.`);
  return graphJson(200, {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.exchangeMessageTraceDetail)",
    value: detailsFor(ctx.seed, r, ctx.now()),
  });
}
