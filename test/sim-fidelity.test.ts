// Issue 12: the simulated legacy report answers as the real one does where public evidence exists (docs §5–6):
// JSON light for `Accept: application/json`, 2000-row pages, numeric $skiptoken offsets in relative next
// links, zone-less 7-digit Received times, null IPs; and the processing-time filter mode.
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../src/sim/index.js";
import { parseApiTime } from "../src/window/time.js";

const H = 3_600_000;
const T = Date.UTC(2025, 0, 15, 12, 0, 0);
let sim: Simulator;
let agent: Agent;
let tok: string;

beforeAll(async () => {
  sim = await startSimulator({ seed: 4, ratePerHour: 1500 });
  sim.setNow(T);
  agent = new Agent({ connect: { ca: sim.ca } });
  const r = await request(`${sim.authority}/oauth2/v2.0/token`, {
    method: "POST",
    dispatcher: agent,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      scope: "https://outlook.office365.com/.default",
    }).toString(),
  });
  tok = ((await r.body.json()) as { access_token: string }).access_token;
});
afterAll(async () => {
  await sim.close();
  await agent.close();
});

const iso = (ms: number) => new Date(ms).toISOString();
const reportUrl = (s: Simulator, lo: number, hi: number, extra = "") =>
  `${s.rwsBase}/MessageTrace?$filter=${encodeURIComponent(`StartDate eq datetime'${iso(lo)}' and EndDate eq datetime'${iso(hi)}'`)}${extra}`;

async function get(url: string, accept: string, a = agent, token = tok) {
  const r = await request(url, { dispatcher: a, headers: { authorization: `Bearer ${token}`, accept } });
  const text = await r.body.text();
  return { status: r.statusCode, type: String(r.headers["content-type"]), text, json: () => JSON.parse(text) as any };
}

describe("the simulated legacy report", () => {
  it("answers Accept: application/json with JSON light: 2000-row pages, relative links with numeric $skiptoken, 7-digit times", async () => {
    const lo = T - 4 * H;
    const hi = T - 2 * H;
    const truth = sim.truth(new Date(lo), new Date(hi + 1)).reverse(); // newest first, both bounds inclusive
    expect(truth.length).toBeGreaterThan(4000);
    const rows: any[] = [];
    const links: string[] = [];
    for (let url: string | undefined = reportUrl(sim, lo, hi); url;) {
      const r = await get(url, "application/json");
      expect(r.status, r.text.slice(0, 200)).toBe(200);
      expect(r.type).toMatch(/^application\/json;odata=minimalmetadata/);
      const j = r.json();
      expect(j["odata.metadata"]).toMatch(/\$metadata#MessageTrace$/);
      expect(j.d).toBeUndefined();
      rows.push(...j.value);
      const next = j["odata.nextLink"] as string | undefined;
      if (next) {
        links.push(next);
        expect(j.value).toHaveLength(2000);
      }
      url = next ? new URL(next, url).toString() : undefined;
    }
    expect(links[0]).toMatch(/^\.\.\/\.\.\/reportingwebservice\/reporting\.svc\/MessageTrace\?\$filter=.*&\$skiptoken=1999$/);
    expect(links[1]).toMatch(/&\$skiptoken=3999$/);
    expect(rows.map((r) => `${r.MessageTraceId}|${r.RecipientAddress}`)).toEqual(truth.map((t) => `${t.id}|${t.recipientAddress}`));
    expect(rows.map((r) => r.Index)).toEqual(truth.map((_, k) => k));
    // Received: 7 fraction digits, some rows without a zone designator (UTC all the same).
    for (const r of rows) expect(r.Received).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z?$/);
    expect(rows.some((r) => !r.Received.endsWith("Z"))).toBe(true);
    expect(rows.some((r) => r.Received.endsWith("Z"))).toBe(true);
    rows.forEach((r, k) => expect(Math.floor(parseApiTime(r.Received)! / 1000) * 1000).toBe(Date.parse(truth[k]!.receivedDateTime)));
    expect(rows.some((r) => r.ToIP === null)).toBe(true);
    expect(rows.every((r) => r.ToIP !== "")).toBe(true);
    expect(rows[0].StartDate).toBe(`${iso(lo).slice(0, 23)}0000Z`);
  });

  it("gives verbose JSON for $format=json and for Accept odata=verbose; refuses a $skiptoken that is not an offset", async () => {
    const lo = T - 3 * H;
    const hi = T - 2 * H;
    const verbose = await get(reportUrl(sim, lo, hi, "&$format=json"), "application/json");
    expect(verbose.json().d.results.length).toBe(2000);
    expect(verbose.json().d.__next).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/ecp\/.*\$skiptoken=1999$/);
    expect((await get(reportUrl(sim, lo, hi), "application/json;odata=verbose")).json().d.results.length).toBe(2000);
    const atom = await get(reportUrl(sim, lo, hi), "application/atom+xml");
    expect(atom.type).toMatch(/atom\+xml/);
    expect(atom.text).toMatch(/<link rel="next" href="MessageTrace\?\$filter=[^"]*&amp;\$skiptoken=1999" \/>/);
    for (const bad of ["abc", "-1", "1.5", "WzEsMiwzXQ.AAAA"])
      expect((await get(reportUrl(sim, lo, hi, `&$skiptoken=${bad}`), "application/json")).status, bad).toBe(400);
  });

  it("with the processing-time filter, returns a row with the window holding its last processing step", async () => {
    const s = await startSimulator({ seed: 4, ratePerHour: 1500, rwsFilter: "processing" });
    const a = new Agent({ connect: { ca: s.ca } });
    try {
      s.setNow(T);
      const r = await request(`${s.authority}/oauth2/v2.0/token`, {
        method: "POST",
        dispatcher: a,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: s.clientId,
          client_secret: s.clientSecret,
          scope: "https://outlook.office365.com/.default",
        }).toString(),
      });
      const token = ((await r.body.json()) as { access_token: string }).access_token;
      const ids = async (lo: number, hi: number) => {
        const out = new Set<string>();
        for (let url: string | undefined = reportUrl(s, lo, hi); url;) {
          const j = (await get(url, "application/json", a, token)).json();
          for (const v of j.value) out.add(`${v.MessageTraceId}|${v.RecipientAddress}`);
          url = j["odata.nextLink"] ? new URL(j["odata.nextLink"], url).toString() : undefined;
        }
        return out;
      };
      const edge = T - 3 * H;
      const [before, after] = await Promise.all([ids(edge - 15 * 60_000, edge), ids(edge, edge + 15 * 60_000)]);
      const late = s.truth(new Date(edge - 60_000), new Date(edge)).map((t) => `${t.id}|${t.recipientAddress}`);
      // Received in the last minute before the edge: some still processing at the edge, so only in the next answer.
      const onlyNext = late.filter((k) => !before.has(k) && after.has(k));
      expect(onlyNext.length).toBeGreaterThan(0);
      expect(late.every((k) => before.has(k) || after.has(k))).toBe(true);
    } finally {
      await s.close();
      await a.close();
    }
  });
});
