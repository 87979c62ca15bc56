// Issue 11, component level: the shared next-link rule, the one redaction point, the Retry-After budget and
// the 400 policy. The end-to-end proofs are in hostile-graph.test.ts and secrets-hardening.test.ts.
import { describe, expect, it } from "vitest";
import { CollectorError, describeError } from "../src/errors.js";
import { redact } from "../src/log/redact.js";
import { withRetry } from "../src/net/retry.js";
import { classifyBadRequest } from "../src/sources/api-client.js";
import { maxPagesFor, PageWalker } from "../src/sources/paging.js";
import { validateConfig } from "../src/config/load.js";

const FIRST = "https://graph.example/v1.0/admin/exchange/tracing/messageTraces?$filter=x";

describe("PageWalker (every source's next-link rule)", () => {
  it("follows absolute and relative links on the query's origin", () => {
    const w = new PageWalker(FIRST, "Graph", 10, "hint");
    expect(w.next("https://graph.example/v1.0/next?$skiptoken=1", FIRST)).toBe("https://graph.example/v1.0/next?$skiptoken=1");
    expect(w.next("../../x?$skiptoken=2", "https://graph.example/a/b/c")).toBe("https://graph.example/x?$skiptoken=2");
    expect(w.next(undefined, FIRST)).toBeUndefined();
    expect(w.next("", FIRST)).toBeUndefined();
  });
  it("refuses a downgrade to http, another host, another port, and a userinfo trick", () => {
    for (const link of [
      "http://graph.example/v1.0/next",
      "https://evil.example/next",
      "https://graph.example:8443/next",
      "https://graph.example@evil.example/next",
    ]) {
      const w = new PageWalker(FIRST, "Graph", 10, "hint");
      expect(() => w.next(link, FIRST), link).toThrow(/refusing to send the access token there/);
    }
  });
  it("detects a repeat of any earlier page, including the first", () => {
    const w = new PageWalker(FIRST, "Graph", 10, "hint");
    expect(() => w.next(FIRST, FIRST)).toThrow(/paging loop/);
    const v = new PageWalker(FIRST, "Graph", 10, "hint");
    v.next("https://graph.example/p2", FIRST);
    v.next("https://graph.example/p3", FIRST);
    expect(() => v.next("https://graph.example/p2", FIRST)).toThrow(/paging loop, after 3 page/);
  });
  it("bounds pages per window from the API's limit", () => {
    expect(maxPagesFor(5000)).toBe(1000);
    expect(maxPagesFor(2000)).toBe(2500);
    expect(maxPagesFor(100)).toBe(50_000);
    const w = new PageWalker(FIRST, "Graph", 3, "hint");
    w.next("https://graph.example/p2", FIRST);
    w.next("https://graph.example/p3", FIRST);
    expect(() => w.next("https://graph.example/p4", FIRST)).toThrow(/still paging after 3 pages/);
  });
});

describe("redaction", () => {
  it("scrubs a JWT even when an error body was cut off in the middle of it", () => {
    const jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    const body = `{"error":{"code":"InvalidAuthenticationToken","message":"Token ${jwt} is not valid"}}`;
    for (const cut of [40, 60, 90, 120, body.length]) {
      const line = describeError(new CollectorError("auth", `Graph rejected the access token (${body.slice(0, cut)})`));
      expect(line).not.toMatch(/eyJ0eXAiOiJKV1Qi|eyJhdWQi|c2lnbmF0dXJl/);
    }
    expect(redact(`x ${jwt.slice(0, 20)}`)).toBe("x [REDACTED JWT]");
  });
  it("scrubs user:password@ in any URL, a proxy's included", () => {
    expect(redact("proxy http://svc-o365:S3cr%40t!@proxy.example:3128 failed")).toBe(
      "proxy http://svc-o365:[REDACTED]@proxy.example:3128 failed",
    );
    expect(redact('"url":"https://a:b@h/x"')).toBe('"url":"https://a:[REDACTED]@h/x"');
    expect(redact("mail kim@contoso.com at https://graph.microsoft.com/v1.0")).toBe(
      "mail kim@contoso.com at https://graph.microsoft.com/v1.0",
    );
  });
  it("a config error never echoes the password inside http.proxy.url", () => {
    let message = "";
    try {
      validateConfig({ tenant_id: "t", http: { proxy: { url: "http://svc:Pr0xyPassw0rd@proxy.example:99999" } } });
    } catch (err) {
      message = describeError(err);
    }
    expect(message).toMatch(/http\.proxy\.url/);
    expect(message).not.toContain("Pr0xyPassw0rd");
  });
});

describe("Retry-After budget", () => {
  const policy = { count: 5, initialMs: 1, maxMs: 1, jitter: 0 };
  const throttled = (s: number) => new CollectorError("transient", "Graph is throttling us (HTTP 429)", { status: 429, retryAfter: s });
  it("gives up at once when a wait exceeds what is left, and counts every wait", async () => {
    const waits: number[] = [];
    const sleep = async (ms: number) => void waits.push(ms);
    const budget = { limitMs: 120_000, remainingMs: 120_000 };
    let n = 0;
    const ok = await withRetry(
      async () => (n++ < 2 ? Promise.reject(throttled(30)) : "done"),
      { ...policy, retryAfterBudget: budget },
      { sleep },
    );
    expect(ok).toBe("done");
    expect(budget.remainingMs).toBe(60_000);
    const giveUp = withRetry(() => Promise.reject(throttled(3600)), { ...policy, retryAfterBudget: budget }, { sleep });
    const err = await giveUp.catch((e: CollectorError) => e);
    expect(err.message).toMatch(/asks us to wait 3600 s \(Retry-After\), more than this run may wait \(120 s in all\)/);
    expect(err.retryable).toBe(true);
    expect(waits).toEqual([30_000, 30_000]);
  });
  it("without a budget (the daemon) the long wait is honoured", async () => {
    const waits: number[] = [];
    let n = 0;
    await withRetry(async () => (n++ < 1 ? Promise.reject(throttled(3600)) : "done"), policy, { sleep: async (ms) => void waits.push(ms) });
    expect(waits).toEqual([3_600_000]);
  });
});

describe("400 policy", () => {
  const res = { status: 400, headers: {}, body: "" };
  const url = "https://graph.example/v1.0/admin/exchange/tracing/messageTraces";
  const range = () => new CollectorError("rejected", "range refused");
  const kind = (text: string) => classifyBadRequest(res, url, "Graph", text, range)!.kind;
  it("only what names our configuration stops us; a refused range is explained; anything else is retried", () => {
    expect(kind("BadRequest: Invalid page size specified: '5000'.")).toBe("config");
    expect(kind("BadRequest: The date range must not exceed 10 days.")).toBe("rejected");
    expect(kind("BadRequest: The start date must be within the last 90 days.")).toBe("rejected");
    expect(kind("BadRequest: The end date cannot be in the future.")).toBe("rejected");
    expect(kind("<html>400 Bad Request</html>")).toBe("transient");
    expect(kind("BadRequest: Upstream gateway hiccup")).toBe("transient");
    expect(classifyBadRequest({ status: 404, headers: {}, body: "" }, url, "Graph", "x", range)).toBeUndefined();
  });
});
