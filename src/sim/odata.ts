// A deliberately small OData $filter reader: conjunctions of `property op literal`, which is all either
// message-trace API accepts. Anything else is a 400, as the real services answer.

export type Op = "eq" | "ne" | "ge" | "gt" | "le" | "lt";
export interface Literal {
  /** string: 'x'; typed: datetime'…', guid'…' (prefix in `type`); bare: unquoted token such as an ISO time. */
  kind: "string" | "typed" | "bare";
  type?: string;
  text: string;
}
export interface Clause {
  prop: string;
  op: Op;
  value: Literal;
}

export class ODataError extends Error {}

const OPS = new Set(["eq", "ne", "ge", "gt", "le", "lt"]);

type Tok = { t: "word"; v: string } | { t: "lit"; lit: Literal } | { t: "paren" };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const readQuoted = (): string => {
    // at opening quote; '' is an escaped quote
    let s = "";
    i++;
    for (;;) {
      if (i >= src.length) throw new ODataError("Syntax error: unterminated string literal in $filter.");
      const ch = src[i]!;
      if (ch === "'") {
        if (src[i + 1] === "'") {
          s += "'";
          i += 2;
          continue;
        }
        i++;
        return s;
      }
      s += ch;
      i++;
    }
  };
  while (i < src.length) {
    const ch = src[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "(" || ch === ")") {
      out.push({ t: "paren" });
      i++;
    } else if (ch === "'") {
      out.push({ t: "lit", lit: { kind: "string", text: readQuoted() } });
    } else {
      let j = i;
      while (j < src.length && !/[\s()']/.test(src[j]!)) j++;
      const word = src.slice(i, j);
      i = j;
      if (src[i] === "'" && /^[A-Za-z]+$/.test(word)) {
        out.push({ t: "lit", lit: { kind: "typed", type: word.toLowerCase(), text: readQuoted() } });
      } else {
        out.push({ t: "word", v: word });
      }
    }
  }
  return out;
}

/** A request's `$filter` (empty: no clauses) as clauses, or the parser's message when it is not valid (each API words its own 400). */
export function filterParam(q: URLSearchParams): { filter: string; clauses: Clause[] } | { error: string } {
  const filter = q.get("$filter") ?? "";
  try {
    return { filter, clauses: filter.trim() ? parseFilter(filter) : [] };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Parse `a eq 'x' and b ge 2025-01-01T00:00:00Z …`. Parentheses around clauses are tolerated. */
export function parseFilter(src: string): Clause[] {
  const toks = tokenize(src).filter((t) => t.t !== "paren");
  const clauses: Clause[] = [];
  let k = 0;
  while (k < toks.length) {
    const p = toks[k];
    const o = toks[k + 1];
    const v = toks[k + 2];
    if (p?.t !== "word" || o?.t !== "word" || !v) throw new ODataError(`Syntax error at position ${k} in '${src}'.`);
    const op = o.v.toLowerCase();
    if (!OPS.has(op)) throw new ODataError(`Unsupported operator '${o.v}' in $filter.`);
    const value: Literal = v.t === "lit" ? v.lit : v.t === "word" ? { kind: "bare", text: v.v } : { kind: "bare", text: "" };
    clauses.push({ prop: p.v, op: op as Op, value });
    k += 3;
    if (k < toks.length) {
      const j = toks[k];
      if (j?.t !== "word" || j.v.toLowerCase() !== "and") {
        const what = j?.t === "word" ? j.v : "literal";
        throw new ODataError(`Only 'and' is supported between $filter clauses, found '${what}'.`);
      }
      k++;
      if (k >= toks.length) throw new ODataError("Syntax error: $filter ends after 'and'.");
    }
  }
  return clauses;
}

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?(Z|[+-]\d{2}:\d{2})?$/i;

/** Epoch ms, possibly fractional (OData allows 7 fraction digits); no zone means UTC as in OData v2. */
export function parseTime(text: string): number | undefined {
  const m = TIME_RE.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, hh = "0", mi = "0", ss = "0", frac = "", zone = "Z"] = m;
  let ms = Date.UTC(+y!, +mo! - 1, +d!, +hh, +mi, +ss);
  if (Number.isNaN(ms) || +mo! > 12 || +d! > 31 || +hh > 23 || +mi > 59 || +ss > 59) return undefined;
  if (frac) ms += Number(`0.${frac}`) * 1000;
  if (zone.toUpperCase() !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  return ms;
}

/**
 * Fold time comparisons into inclusive integer-ms bounds. Records carry whole milliseconds, so
 * `gt t` is `ge floor(t)+1` and `lt t` is `le ceil(t)-1`.
 */
export function timeBounds(cs: Array<{ op: Op; ms: number }>): { lo?: number; hi?: number } {
  let lo: number | undefined;
  let hi: number | undefined;
  const setLo = (x: number) => (lo = lo === undefined ? x : Math.max(lo, x));
  const setHi = (x: number) => (hi = hi === undefined ? x : Math.min(hi, x));
  for (const { op, ms } of cs) {
    if (op === "ge") setLo(Math.ceil(ms));
    else if (op === "gt") setLo(Math.floor(ms) + 1);
    else if (op === "le") setHi(Math.floor(ms));
    else if (op === "lt") setHi(Math.ceil(ms) - 1);
    else if (op === "eq") {
      setLo(Math.ceil(ms));
      setHi(Math.floor(ms));
    } else throw new ODataError(`Operator '${op}' is not supported on a date property.`);
  }
  return { lo, hi };
}

/** Encode a query option value for a nextLink: keep it readable, but safe inside a URL. */
export function encodeQueryValue(v: string): string {
  return encodeURIComponent(v).replace(/%24/g, "$").replace(/%3A/gi, ":").replace(/%2C/gi, ",");
}
