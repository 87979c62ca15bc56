// The simulated tenant's data APIs over real HTTPS: Graph and RWS pages equal the ground truth, filter
// validation, faults, throttling, determinism, late arrivals, and scale of the traffic generator.
import { XMLParser } from "fast-xml-parser";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type GraphTraceItem, type Simulator, type TruthItem } from "../src/sim/index.js";

const H = 3_600_000;
const T = Date.UTC(2025, 0, 15, 12, 0, 0); // sim clock for the data tests
let sim: Simulator;
let agent: Agent;

async function token(s: Simulator, a: Agent, scope: string): Promise<string> {
  const r = await request(`${s.authority}/oauth2/v2.0/token`, {
    method: "POST",
    dispatcher: a,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: s.clientId, client_secret: s.clientSecret, scope }).toString(),
  });
  return ((await r.body.json()) as { access_token: string }).access_token;
}

/** Sends `Prefer: include-unknown-enum-members`, as the collector does. */
async function get(url: string, tok: string, a = agent, headers: Record<string, string> = {}) {
  const r = await request(url, {
    dispatcher: a,
    headers: { authorization: `Bearer ${tok}`, prefer: "include-unknown-enum-members", ...headers },
  });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text, json: () => JSON.parse(text) as any };
}

const graphUrl = (s: Simulator, filter: string, extra = "") =>
  `${s.graphBase}/v1.0/admin/exchange/tracing/messageTraces?$filter=${encodeURIComponent(filter)}${extra}`;
const iso = (ms: number) => new Date(ms).toISOString();
const key = (x: { id: string; recipientAddress: string }) => `${x.id}|${x.recipientAddress}`;
/** A truth row as the list API writes it (without the state sequence). */
const wire = (t: TruthItem): GraphTraceItem => {
  const { states: _states, ...item } = t;
  return item;
};

/** Follow @odata.nextLink to the end; returns items and page count. */
async function graphAll(s: Simulator, tok: string, url: string, a = agent): Promise<{ items: GraphTraceItem[]; pages: number }> {
  const items: GraphTraceItem[] = [];
  let pages = 0;
  for (let next: string | undefined = url; next; pages++) {
    const r = await get(next, tok, a);
    expect(r.status, r.text).toBe(200);
    const j = r.json();
    items.push(...j.value);
    next = j["@odata.nextLink"];
  }
  return { items, pages };
}

let graphTok: string;
let rwsTok: string;

beforeAll(async () => {
  sim = await startSimulator({ seed: 42, ratePerHour: 120, rwsPageSize: 100 });
  sim.setNow(T);
  agent = new Agent({ connect: { ca: sim.ca } });
  graphTok = await token(sim, agent, "https://graph.microsoft.com/.default");
  rwsTok = await token(sim, agent, "https://outlook.office365.com/.default");
});
afterAll(async () => {
  await sim.close();
  await agent.close();
});

describe("Graph list", () => {
  it("pages cover the truth exactly: same records, no duplicates, newest first", async () => {
    const lo = T - 30 * H;
    const hi = T - 6 * H;
    const truth = sim.truth(new Date(lo), new Date(hi));
    expect(truth.length).toBeGreaterThan(5000);
    const { items, pages } = await graphAll(
      sim,
      graphTok,
      graphUrl(sim, `receivedDateTime ge ${iso(lo)} and receivedDateTime le ${iso(hi - 1)}`, "&$top=1000"),
    );
    expect(pages).toBe(Math.ceil(truth.length / 1000));
    expect(items.length).toBe(truth.length);
    expect(new Set(items.map(key)).size).toBe(items.length);
    expect([...items].reverse()).toEqual(truth.map(wire));
    // Every shape the collector must cope with is present; shapes as in Microsoft's examples (docs §5).
    expect(items.some((i) => i.toIP === "")).toBe(true);
    expect(items.some((i) => i.toIP === null)).toBe(false);
    expect(items.every((i) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(i.receivedDateTime))).toBe(true);
    expect(items.some((i) => !("fromIP" in i))).toBe(true);
    expect(items.some((i) => /:/.test(i.fromIP ?? ""))).toBe(true);
    expect(items.some((i) => Buffer.byteLength(i.subject) > 4096)).toBe(true);
    expect(items.some((i) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/.test(i.receivedDateTime))).toBe(true);
    // The JSON enum spellings, no `none`; `recalled` by name because the request opts in.
    expect(new Set(items.map((i) => i.status))).toEqual(
      new Set(["delivered", "failed", "filteredAsSpam", "quarantined", "pending", "expanded", "gettingStatus", "recalled"]),
    );
  });

  it("shows statuses added after the enum froze as unknownFutureValue unless the request opts in", async () => {
    const url = graphUrl(sim, `receivedDateTime ge ${iso(T - 30 * H)} and receivedDateTime le ${iso(T - 6 * H)}`, "&$top=5000");
    const plain = await get(url, graphTok, agent, { prefer: "" });
    const statuses = new Set((plain.json().value as GraphTraceItem[]).map((i) => i.status));
    expect(statuses.has("unknownFutureValue")).toBe(true);
    expect(statuses.has("recalled")).toBe(false);
    const opted = await get(url, graphTok, agent, { prefer: "odata.maxpagesize=10, include-unknown-enum-members" });
    expect(new Set((opted.json().value as GraphTraceItem[]).map((i) => i.status)).has("recalled")).toBe(true);
  });

  it("le is inclusive and eq filters (with '' escaping) select exactly the matching records", async () => {
    const lo = T - 48 * H;
    const hi = T - 24 * H;
    const truth = sim.truth(new Date(lo), new Date(hi + 1));
    const sender = truth.find((t) => t.senderAddress.startsWith("o'brien"))!.senderAddress;
    const { items } = await graphAll(
      sim,
      graphTok,
      graphUrl(
        sim,
        `receivedDateTime ge ${iso(lo)} and receivedDateTime le ${iso(hi)} and senderAddress eq '${sender.replace(/'/g, "''")}'`,
      ),
    );
    expect(items.map(key).sort()).toEqual(
      truth
        .filter((t) => t.senderAddress.toLowerCase() === sender.toLowerCase())
        .map(key)
        .sort(),
    );
    const failed = await graphAll(
      sim,
      graphTok,
      graphUrl(sim, `receivedDateTime ge ${iso(lo)} and receivedDateTime le ${iso(hi)} and status eq 'Failed'`),
    );
    expect(failed.items.length).toBe(truth.filter((t) => t.status === "failed").length);
    const one = truth[17]!;
    const byId = await graphAll(
      sim,
      graphTok,
      graphUrl(
        sim,
        `receivedDateTime ge ${iso(lo)} and receivedDateTime le ${iso(hi)} and id eq '${one.id}' and recipientAddress eq '${one.recipientAddress.replace(/'/g, "''")}'`,
      ),
    );
    expect(byId.items).toEqual([wire(one)]);
  });

  it("rejects invalid queries with 400", async () => {
    const cases = [
      graphUrl(sim, `receivedDateTime ge ${iso(T - 11 * 24 * H)} and receivedDateTime le ${iso(T)}`),
      graphUrl(sim, `receivedDateTime ge ${iso(T - 95 * 24 * H)} and receivedDateTime le ${iso(T - 94 * 24 * H)}`),
      graphUrl(sim, `receivedDateTime ge ${iso(T - H)}`, "&$top=0"),
      graphUrl(sim, `receivedDateTime ge ${iso(T - H)}`, "&$top=5001"),
      graphUrl(sim, `receivedDateTime ge ${iso(T - H)} or senderAddress eq 'a@b.c'`),
      // Documented forms only: both bounds, ge and le; an end later than now is refused (docs §5).
      graphUrl(sim, `receivedDateTime ge ${iso(T - H)}`),
      graphUrl(sim, `receivedDateTime le ${iso(T - H)}`),
      graphUrl(sim, `receivedDateTime gt ${iso(T - 2 * H)} and receivedDateTime lt ${iso(T - H)}`),
      graphUrl(sim, `receivedDateTime ge ${iso(T - 2 * H)} and receivedDateTime lt ${iso(T - H)}`),
      graphUrl(sim, `receivedDateTime eq ${iso(T - 2 * H)}`),
      graphUrl(sim, `receivedDateTime ge ${iso(T - H)} and receivedDateTime le ${iso(T + 1000)}`),
      graphUrl(sim, `nosuchProp eq 'x'`),
      graphUrl(sim, `receivedDateTime ge yesterday`),
      graphUrl(sim, `receivedDateTime ge ${iso(T - H)}`, "&$skiptoken=WzEsMiwzXQ.AAAAAAAAAAAAAAAAAAAAAA"),
    ];
    for (const u of cases) {
      const r = await get(u, graphTok);
      expect(r.status, u).toBe(400);
      expect(r.json().error.code).toBe("BadRequest");
    }
    // A genuine skiptoken replayed against a different filter is refused too.
    const first = (
      await get(graphUrl(sim, `receivedDateTime ge ${iso(T - 3 * H)} and receivedDateTime le ${iso(T)}`, "&$top=10"), graphTok)
    ).json();
    const skip = new URL(first["@odata.nextLink"]).searchParams.get("$skiptoken")!;
    expect(
      (await get(graphUrl(sim, `receivedDateTime ge ${iso(T - 2 * H)} and receivedDateTime le ${iso(T)}`, `&$skiptoken=${skip}`), graphTok))
        .status,
    ).toBe(400);
    const future = (
      await get(graphUrl(sim, `receivedDateTime ge ${iso(T - H)} and receivedDateTime le ${iso(T + 60_000)}`), graphTok)
    ).json();
    expect(future.error.message).toMatch(/cannot be later than the current date and time/);
    // The end may be exactly now.
    expect((await get(graphUrl(sim, `receivedDateTime ge ${iso(T - H)} and receivedDateTime le ${iso(T)}`), graphTok)).status).toBe(200);
  });

  it("details by recipient: 2–6 events shaped as the real API's, same as the in-process API; 404 when unknown", async () => {
    const rec = sim.truth(new Date(T - 5 * H), new Date(T - 4 * H))[3]!;
    const r = await get(
      `${sim.graphBase}/v1.0/admin/exchange/tracing/messageTraces/${rec.id}/getDetailsByRecipient(recipientAddress='${encodeURIComponent(rec.recipientAddress)}')`,
      graphTok,
    );
    expect(r.status).toBe(200);
    const v = r.json().value;
    expect(v).toEqual(sim.details(rec.id, rec.recipientAddress));
    expect(v.length).toBeGreaterThanOrEqual(2);
    expect(v.length).toBeLessThanOrEqual(6);
    expect(v[0]).toMatchObject({ event: "Receive", messageId: rec.messageId });
    // The detail id is the trace id; dateTime has whole seconds (docs §5).
    for (const d of v) expect(d.id).toBe(rec.id);
    for (const d of v) expect(d.dateTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // Over many rows, events of one recipient share a second, and sometimes the event name too.
    let sharedSecond = 0;
    let sharedSecondAndEvent = 0;
    for (const t of sim.truth(new Date(T - 5 * H), new Date(T - 3 * H))) {
      const ds = sim.details(t.id, t.recipientAddress);
      const seconds = ds.map((d) => d.dateTime);
      const pairs = ds.map((d) => `${d.dateTime}|${d.event}`);
      if (new Set(seconds).size < seconds.length) sharedSecond++;
      if (new Set(pairs).size < pairs.length) sharedSecondAndEvent++;
    }
    expect(sharedSecond).toBeGreaterThan(10);
    expect(sharedSecondAndEvent).toBeGreaterThan(0);
    const missing = await get(
      `${sim.graphBase}/v1.0/admin/exchange/tracing/messageTraces/${rec.id}/getDetailsByRecipient(recipientAddress='nobody@contoso.com')`,
      graphTok,
    );
    expect(missing.status).toBe(404);
  });
});

describe("Reporting Web Service", () => {
  const rwsUrl = (lo: number, hi: number, extra = "") =>
    `${sim.rwsBase}/MessageTrace?$filter=${encodeURIComponent(`StartDate eq datetime'${iso(lo)}' and EndDate eq datetime'${iso(hi)}'`)}${extra}`;
  const lo = T - 9 * H;
  const hi = T - 6 * H;

  it("Atom pages equal the truth (inclusive window, Index, m:null, entities)", async () => {
    const truth = sim.truth(new Date(lo), new Date(hi + 1)).reverse();
    const parser = new XMLParser({
      ignoreAttributes: false,
      removeNSPrefix: true,
      parseTagValue: false,
      trimValues: false,
      isArray: (n) => n === "entry" || n === "link",
    });
    const rows: Record<string, any>[] = [];
    for (let next: string | undefined = rwsUrl(lo, hi); next;) {
      const r = await get(next, rwsTok);
      expect(r.status).toBe(200);
      expect(r.headers["content-type"]).toMatch(/atom\+xml/);
      const feed = parser.parse(r.text).feed;
      for (const e of feed.entry ?? []) rows.push(e.content.properties);
      // The next link is relative to the feed's xml:base.
      const href = (feed.link as any[]).find((l) => l["@_rel"] === "next")?.["@_href"];
      next = href ? new URL(href, feed["@_base"]).toString() : undefined;
    }
    expect(rows.length).toBe(truth.length);
    const text = (v: any) => (v && typeof v === "object" ? (v["@_null"] === "true" ? null : v["#text"]) : v);
    rows.forEach((p, k) => {
      const t = truth[k]!;
      expect(text(p.Index)).toBe(String(k));
      expect(text(p.MessageTraceId)).toBe(t.id);
      expect(p.RecipientAddress).toBe(t.recipientAddress);
      expect(p.Subject ?? "").toBe(t.subject);
      expect(p.MessageId).toBe(t.messageId);
      // The report keeps sub-second digits; Graph (the truth's spelling) whole seconds.
      expect(Math.floor(Date.parse(text(p.Received)) / 1000) * 1000).toBe(Date.parse(t.receivedDateTime));
      expect(text(p.ToIP)).toBe(t.toIP || null);
      expect(p.Status.toLowerCase()).toBe(t.status.toLowerCase());
    });
  });

  it("verbose JSON ($format=json) pages equal the truth; v3 shape on request", async () => {
    const truth = sim.truth(new Date(lo), new Date(hi + 1)).reverse();
    const rows: any[] = [];
    let first = "";
    for (let next: string | undefined = rwsUrl(lo, hi, "&$format=json"); next;) {
      const r = await get(next, rwsTok);
      first ||= r.text;
      const j = r.json();
      rows.push(...j.d.results);
      next = j.d.__next;
    }
    expect(first).toMatch(/"Received":"\\\/Date\(\d+\)\\\/"/);
    expect(rows.map((r) => `${r.MessageTraceId}|${r.RecipientAddress}`)).toEqual(truth.map(key));
    expect(rows.map((r) => Math.floor(Number(/\((\d+)\)/.exec(r.Received)![1]) / 1000) * 1000)).toEqual(
      truth.map((t) => Date.parse(t.receivedDateTime)),
    );
    expect(rows.map((r) => r.Index)).toEqual(truth.map((_, k) => String(k)));

    const v3 = await startSimulator({ seed: 42, ratePerHour: 120, rwsJsonShape: "v3" });
    const a3 = new Agent({ connect: { ca: v3.ca } });
    try {
      v3.setNow(T);
      const tok = await token(v3, a3, "https://outlook.office365.com/.default");
      const r = await get(
        `${v3.rwsBase}/MessageTrace?$format=json&$filter=${encodeURIComponent(`StartDate eq datetime'${iso(lo)}' and EndDate eq datetime'${iso(hi)}'`)}`,
        tok,
        a3,
      );
      const j = r.json();
      expect(j.value.length).toBe(Math.min(2000, truth.length));
      expect(j.value[0]).toMatchObject({ MessageTraceId: truth[0]!.id, Index: 0 });
      expect(j.value[0].Received.slice(0, 19)).toBe(truth[0]!.receivedDateTime.slice(0, 19));
    } finally {
      await v3.close();
      await a3.close();
    }
  });

  it("rejects spans over 10 days and data older than 10 days", async () => {
    expect((await get(rwsUrl(T - 11 * 24 * H, T), rwsTok)).status).toBe(400);
    const old = await get(rwsUrl(T - 12 * 24 * H, T - 11 * 24 * H, "&$format=json"), rwsTok);
    expect(old.status).toBe(400);
    expect(old.json().error.message.value).toMatch(/10 days/);
  });
});

describe("faults and throttling", () => {
  const u = () => graphUrl(sim, `receivedDateTime ge ${iso(T - 2 * H)} and receivedDateTime le ${iso(T - H)}`, "&$top=50");

  it("scripted faults fire in order, with count and after", async () => {
    sim.inject({ route: "graph", kind: "429", count: 2, retryAfterSeconds: 7 });
    sim.inject({ route: "graph", kind: "500", after: 1 });
    const a = await get(u(), graphTok);
    expect(a.status).toBe(429);
    expect(a.headers["retry-after"]).toBe("7");
    expect(a.json().error.code).toBe("TooManyRequests");
    expect((await get(u(), graphTok)).status).toBe(429);
    expect((await get(u(), graphTok)).status).toBe(200); // "after: 1" skips this one
    expect((await get(u(), graphTok)).status).toBe(500);
    expect((await get(u(), graphTok)).status).toBe(200);

    sim.inject({ route: "rws", kind: "html-signin" });
    const html = await get(`${sim.rwsBase}/MessageTrace`, rwsTok);
    expect(html.status).toBe(200);
    expect(html.headers["content-type"]).toMatch(/text\/html/);
    expect(html.text).toMatch(/Sign in to Outlook/);

    sim.inject({ route: "any", kind: "token-expired" });
    const exp = await get(u(), graphTok);
    expect(exp.status).toBe(401);
    expect(exp.json().error.message).toBe("Lifetime validation failed, the token is expired.");

    sim.inject({ route: "graph", kind: "sp-not-found" });
    expect((await get(u(), graphTok)).json().error.message).toMatch(/8bd644d1-64a1-4d4b-ae52-2e0cbf64e373/);

    // The same through the control endpoint, as an out-of-process harness does it.
    const posted = await request(`${sim.url}/_sim/faults`, {
      method: "POST",
      dispatcher: agent,
      body: JSON.stringify({ route: "rws", kind: "503" }),
    });
    expect(posted.statusCode).toBe(200);
    await posted.body.dump();
    const r503 = await get(`${sim.rwsBase}/MessageTrace?$format=json`, rwsTok);
    expect(r503.status).toBe(503);
    expect(r503.json().error.message.value).toMatch(/unavailable/);

    sim.inject({ route: "token", kind: "503" });
    const t503 = await request(`${sim.authority}/oauth2/v2.0/token`, {
      method: "POST",
      dispatcher: agent,
      body: "grant_type=client_credentials",
    });
    expect(t503.statusCode).toBe(503);
    expect(((await t503.body.json()) as any).error).toBe("temporarily_unavailable");
  });

  it("transport faults: slow, truncated, reset", async () => {
    sim.inject({ route: "graph", kind: "slow", delayMs: 400 });
    const t0 = Date.now();
    expect((await get(u(), graphTok)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);

    sim.inject({ route: "graph", kind: "truncated" });
    await expect(get(u(), graphTok)).rejects.toThrow();

    sim.inject({ route: "details", kind: "reset" });
    await expect(
      get(`${sim.graphBase}/v1.0/admin/exchange/tracing/messageTraces/x/getDetailsByRecipient(recipientAddress='a@b.c')`, graphTok),
    ).rejects.toThrow();
    expect((await get(u(), graphTok)).status).toBe(200);
    const st = sim.stats();
    expect(st.byStatus.reset).toBe(1);
    expect(st.requests.graph).toBeGreaterThan(5);
  });

  it("random faults are deterministic for a seed", async () => {
    const run = async () => {
      const s = await startSimulator({ faultRate: { rate: 0.5, kinds: ["500", "503"], seed: 3 } });
      const a = new Agent({ connect: { ca: s.ca } });
      const tok = await token(s, a, "https://graph.microsoft.com/.default");
      const out: number[] = [];
      for (let i = 0; i < 12; i++) out.push((await get(`${s.graphBase}/v1.0/admin/exchange/tracing/messageTraces?$top=1`, tok, a)).status);
      await s.close();
      await a.close();
      return out;
    };
    const x = await run();
    expect(x).toEqual(await run());
    expect(x.some((c) => c !== 200) && x.some((c) => c === 200)).toBe(true);
  });

  it("throttle: over the running-window budget answers 429 with Retry-After", async () => {
    const s = await startSimulator({ throttle: { limit: 3, windowMs: 2000 } });
    const a = new Agent({ connect: { ca: s.ca } });
    try {
      const tok = await token(s, a, "https://graph.microsoft.com/.default");
      const url = `${s.graphBase}/v1.0/admin/exchange/tracing/messageTraces?$top=1`;
      for (let i = 0; i < 3; i++) expect((await get(url, tok, a)).status).toBe(200);
      const r = await get(url, tok, a);
      expect(r.status).toBe(429);
      expect(Number(r.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(Number(r.headers["retry-after"])).toBeLessThanOrEqual(2);
      expect(r.json().error.code).toBe("TooManyRequests");
      expect(s.stats().throttled).toBe(1);
      await new Promise((res) => setTimeout(res, Number(r.headers["retry-after"]) * 1000));
      expect((await get(url, tok, a)).status).toBe(200);
    } finally {
      await s.close();
      await a.close();
    }
  });
});

describe("traffic model", () => {
  it("is deterministic across instances for a seed, different for another seed", async () => {
    const a = await startSimulator({ seed: 42, ratePerHour: 120 });
    const b = await startSimulator({ seed: 43, ratePerHour: 120 });
    const span = [new Date(T - 50 * H), new Date(T - 40 * H)] as const;
    expect(a.truth(...span).map(wire)).toEqual(sim.truth(...span).map(wire));
    expect(b.truth(...span)).not.toEqual(sim.truth(...span));
    const rec = a.truth(...span)[9]!;
    expect(a.details(rec.id, rec.recipientAddress)).toEqual(sim.details(rec.id, rec.recipientAddress));
    await a.close();
    await b.close();
  });

  it("late arrivals stay hidden until the clock passes their visibility time", async () => {
    const s = await startSimulator({ seed: 42, ratePerHour: 120, late: { fraction: 0.3, maxLagMinutes: 60 } });
    const a = new Agent({ connect: { ca: s.ca } });
    try {
      s.setNow(T);
      const lo = T - 2 * H;
      const all = s.truth(new Date(lo), new Date(T));
      expect(all.map(wire)).toEqual(sim.truth(new Date(lo), new Date(T)).map(wire)); // lateness does not change the traffic
      const visible = s.truth(new Date(lo), new Date(T), { visibleOnly: true });
      expect(visible.length).toBeLessThan(all.length);
      const tok = await token(s, a, "https://graph.microsoft.com/.default");
      const url = graphUrl(s, `receivedDateTime ge ${iso(lo)} and receivedDateTime le ${iso(T - 1)}`);
      expect((await graphAll(s, tok, url, a)).items.map(key).sort()).toEqual(visible.map(key).sort());
      // Control endpoint moves the clock, as an out-of-process harness would.
      await request(`${s.url}/_sim/clock`, { method: "POST", dispatcher: a, body: JSON.stringify({ now: iso(T + 61 * 60_000) }) }).then(
        (r) => r.body.dump(),
      );
      expect((await graphAll(s, tok, url, a)).items.length).toBe(all.length);
      const tr = await request(`${s.url}/_sim/truth?from=${iso(lo)}&to=${iso(T)}&visible=1`, { dispatcher: a });
      expect(((await tr.body.json()) as any).count).toBe(all.length);
    } finally {
      await s.close();
      await a.close();
    }
  });

  it("generates over a million records quickly enough for benchmarks", async () => {
    const s = await startSimulator({ seed: 5, ratePerHour: 250_000 });
    try {
      const t0 = Date.now();
      const lo = Date.UTC(2025, 0, 10);
      const recs = s.truth(new Date(lo), new Date(lo + 2 * H));
      const ms = Date.now() - t0;
      expect(recs.length).toBeGreaterThan(1_000_000);
      console.log(`generated ${recs.length} records in ${ms} ms`);
    } finally {
      await s.close();
    }
  });
});
