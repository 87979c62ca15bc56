// Graph list paging: a page is gathered by walking records newest-first from a cursor, and the
// next page's cursor travels in a signed $skiptoken (the legacy report uses row offsets: rws.ts). A cursor (not an offset) means deep pages
// cost nothing extra, and pages never skip or repeat while the data does not change.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Ctx } from "./context.js";
import { encodeQueryValue } from "./odata.js";
import type { SimRequest } from "./responses.js";
import type { Pos, SimRecord } from "./traffic.js";

export interface PageState {
  /** Where the next page starts. */
  pos: Pos;
  /** Rows already returned (RWS Index of the next row). */
  n: number;
  /** The window in force when the session began (it may have defaulted from the clock). */
  lo: number;
  hi: number;
  /** Fingerprint of the query options, so a token cannot be replayed against another query. */
  f: string;
}

export class SkipTokenError extends Error {}

function mac(ctx: Ctx, payload: string): string {
  return createHmac("sha256", ctx.secret).update(payload).digest("base64url").slice(0, 22);
}

export function fingerprint(ctx: Ctx, ...parts: string[]): string {
  return createHmac("sha256", ctx.secret).update(parts.join("\u0000")).digest("base64url").slice(0, 12);
}

export function encodeSkipToken(ctx: Ctx, s: PageState): string {
  const payload = Buffer.from(JSON.stringify([s.pos.h, s.pos.i, s.n, s.lo, s.hi, s.f])).toString("base64url");
  return `${payload}.${mac(ctx, payload)}`;
}

export function decodeSkipToken(ctx: Ctx, token: string, f: string): PageState {
  const [payload, sig, extra] = token.split(".");
  if (!payload || !sig || extra !== undefined) throw new SkipTokenError("The $skiptoken is malformed.");
  const want = Buffer.from(mac(ctx, payload));
  const got = Buffer.from(sig);
  if (want.length !== got.length || !timingSafeEqual(want, got)) throw new SkipTokenError("The $skiptoken is invalid or was modified.");
  const a = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as [number, number, number, number, number, string];
  if (a[5] !== f) throw new SkipTokenError("The $skiptoken does not belong to this query.");
  return { pos: { h: a[0], i: a[1] }, n: a[2], lo: a[3], hi: a[4], f: a[5] };
}

/** The request's $skiptoken decoded, or why it is refused (a 400 for the caller). */
export function skipTokenOf(ctx: Ctx, q: URLSearchParams, f: string): { state?: PageState; error?: string } {
  const token = q.get("$skiptoken");
  if (token === null) return {};
  try {
    return { state: decodeSkipToken(ctx, token, f) };
  } catch (e) {
    if (e instanceof SkipTokenError) return { error: e.message };
    throw e;
  }
}

export interface Page {
  rows: SimRecord[];
  /** Cursor of the first matching row after this page, when there is one. */
  next?: Pos;
}

/** Up to `size` visible matching rows in [lo, hi], newest first, from `from`; peeks one further to know if more exist. */
export function collectPage(ctx: Ctx, lo: number, hi: number, from: Pos | undefined, size: number, match: (r: SimRecord) => boolean): Page {
  const now = ctx.now();
  const rows: SimRecord[] = [];
  for (const [r, pos] of ctx.traffic.descending(lo, hi, from)) {
    if (r.vis > now || !match(r)) continue;
    if (rows.length === size) return { rows, next: pos };
    rows.push(r);
  }
  return { rows };
}

/** The next-page URL: this endpoint with the original query options plus the new $skiptoken. */
export function nextLink(ctx: Ctx, req: SimRequest, token: string): string {
  const parts: string[] = [];
  for (const [k, v] of req.url.searchParams)
    if (k.toLowerCase() !== "$skiptoken") parts.push(`${encodeQueryValue(k)}=${encodeQueryValue(v)}`);
  parts.push(`$skiptoken=${encodeQueryValue(token)}`);
  return `${ctx.url}${req.url.pathname}?${parts.join("&")}`;
}

/** Case-insensitive equality predicates for `prop eq 'value'` clauses; null/absent never matches. */
export function eqMatcher(preds: Array<[get: (r: SimRecord) => string | null | undefined, value: string]>): (r: SimRecord) => boolean {
  const ps = preds.map(([g, v]) => [g, v.toLowerCase()] as const);
  return (r) =>
    ps.every(([g, v]) => {
      const x = g(r);
      return x !== null && x !== undefined && x.toLowerCase() === v;
    });
}

export const DAY_MS = 86_400_000;
