// Deterministic tenant traffic. Records exist for all time; each UTC hour is generated on demand from
// (seed, hourIndex) alone, so any span is cheap, identical across processes, and never held in full.
import { Rng, guidFromWords, hashInts } from "./prng.js";
import * as pool from "./pools.js";
import { statusAt, statusTimeline, type StatusChangeOptions, type StatusState } from "./status-changes.js";
import type { LagModel } from "./lateness.js";
import type { GraphTraceItem } from "./types.js";

export const HOUR_MS = 3_600_000;

/** One per-recipient row plus what the simulator needs beside the wire item. */
export interface SimRecord {
  /** receivedDateTime, epoch ms. */
  ms: number;
  /** When the list APIs start returning it (ms >= received), see SimOptions.late. */
  vis: number;
  /** The wire item; `status` is the final status (see `states` for what the APIs show before). */
  item: GraphTraceItem;
  /** Only for rows whose status changes over time (status-changes.ts); the first state starts at `vis`. */
  states?: StatusState[];
  /** inbound | outbound | internal, to shape the detail events. */
  direction: string;
}

/** The states a record goes through; a single one for most rows. */
export function statesOf(r: SimRecord): StatusState[] {
  return r.states ?? [{ status: r.item.status, at: r.vis }];
}

/** The status (Graph spelling) the APIs show for `r` at `now`. */
export function currentStatus(r: SimRecord, now: number): string {
  return r.states ? statusAt(r.states, now) : r.item.status;
}

export interface TrafficOptions {
  seed: number;
  ratePerHour: number;
  maxRecipients: number;
  organization: string;
  late?: { fraction: number; maxLagMinutes: number };
  statusChanges?: StatusChangeOptions;
  /** A lateness model (src/sim/lateness.ts); replaces `late` when given. */
  lag?: LagModel;
}

/** A position in the record sequence: hour index and index inside that hour's ascending array. */
export interface Pos {
  h: number;
  i: number;
}

/** Keep roughly this many records cached; recent hours are re-read by every paging session. */
const CACHE_RECORDS = 600_000;

export class Traffic {
  private readonly cache = new Map<number, SimRecord[]>();
  private cached = 0;
  private readonly internalDomains: string[];

  constructor(private readonly o: TrafficOptions) {
    const base = o.organization.split(".")[0] ?? "contoso";
    // Most mail uses the vanity domain, some the initial onmicrosoft.com one.
    this.internalDomains = [`${base}.com`, `${base}.com`, `${base}.com`, o.organization];
  }

  /** All records of one UTC hour, ascending by received, id, recipient. */
  hour(h: number): SimRecord[] {
    const hit = this.cache.get(h);
    if (hit) {
      this.cache.delete(h); // re-insert: Map order doubles as LRU order
      this.cache.set(h, hit);
      return hit;
    }
    const recs = this.generate(h);
    this.cache.set(h, recs);
    this.cached += recs.length;
    for (const [k, v] of this.cache) {
      if (this.cached <= CACHE_RECORDS || this.cache.size <= 2) break;
      this.cache.delete(k);
      this.cached -= v.length;
    }
    return recs;
  }

  /** Hour index encoded in a trace id (see generate), or undefined when it is not one of ours. */
  hourOfTraceId(id: string): number | undefined {
    const hex = id.replace(/-/g, "").toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
    const w = [0, 8, 16, 24].map((o) => parseInt(hex.slice(o, o + 8), 16));
    return (w[0]! ^ hashInts(this.o.seed, w[1]!, w[2]!, w[3]!)) >>> 0;
  }

  find(traceId: string, recipient: string): SimRecord | undefined {
    const h = this.hourOfTraceId(traceId);
    if (h === undefined) return undefined;
    const id = traceId.toLowerCase();
    const r = recipient.toLowerCase();
    return this.hour(h).find((x) => x.item.id === id && x.item.recipientAddress.toLowerCase() === r);
  }

  /** Records with lo <= ms <= hi (inclusive ms bounds), ascending. */
  *ascending(lo: number, hi: number): Generator<SimRecord> {
    for (let h = Math.floor(lo / HOUR_MS); h <= Math.floor(hi / HOUR_MS); h++) {
      for (const r of this.hour(h)) if (r.ms >= lo && r.ms <= hi) yield r;
    }
  }

  /**
   * Records with lo <= ms <= hi, descending (exact reverse of ascending order), starting at `from`
   * (inclusive) when resuming a paging session. Yields the position with each record so a page can end
   * with a cursor instead of an offset: resuming costs nothing however deep the session is.
   */
  *descending(lo: number, hi: number, from?: Pos): Generator<[SimRecord, Pos]> {
    const lastH = Math.floor(hi / HOUR_MS);
    const firstH = Math.floor(lo / HOUR_MS);
    let h = from ? Math.min(from.h, lastH) : lastH;
    for (; h >= firstH; h--) {
      const recs = this.hour(h);
      let i = from && h === from.h ? Math.min(from.i, recs.length - 1) : recs.length - 1;
      for (; i >= 0; i--) {
        const r = recs[i]!;
        if (r.ms > hi) continue;
        if (r.ms < lo) return;
        yield [r, { h, i }];
      }
    }
  }

  private generate(h: number): SimRecord[] {
    const { seed, ratePerHour, maxRecipients } = this.o;
    const rng = new Rng(hashInts(seed, h, 1));
    // Independent stream so that switching late arrivals on does not change the traffic itself.
    const lateRng = new Rng(hashInts(seed, h, 2));
    const statusRng = new Rng(hashInts(seed, h, 3));
    const n = Math.floor(ratePerHour * (0.75 + 0.5 * rng.next()) + rng.next());
    const base = h * HOUR_MS;
    // Draw every arrival time first and sort the numbers: sorting a few hundred thousand record objects
    // with a comparator costs far more than generating them.
    const offs = new Float64Array(n);
    for (let m = 0; m < n; m++) {
      let off = rng.int(HOUR_MS);
      // ~5 % land exactly on window-edge-like instants: whole minutes, some whole quarter-hours.
      if (rng.chance(0.05)) off -= off % (rng.chance(0.3) ? 900_000 : 60_000);
      offs[m] = off;
    }
    offs.sort();
    const out: SimRecord[] = [];
    for (let m = 0; m < n; m++) {
      const ms = base + offs[m]!;
      const b = ((rng.u32() & 0xffff0fff) | 0x4000) >>> 0;
      const c = ((rng.u32() & 0x3fffffff) | 0x80000000) >>> 0;
      const d = rng.u32();
      // The first word hides the hour index, so getDetailsByRecipient can find a record from its id alone.
      const a = (h ^ hashInts(seed, b, c, d)) >>> 0;
      const id = guidFromWords(a, b, c, d);
      const u1 = lateRng.next();
      const u2 = lateRng.next();
      const late = this.o.late;
      // GUESS: lateness is uniform up to maxLagMinutes (Microsoft only says "minutes to hours", docs §4).
      const vis = this.o.lag
        ? ms + this.o.lag(u1, u2)
        : late && u1 < late.fraction
          ? ms + Math.max(1, Math.ceil(u2 * late.maxLagMinutes * 60_000))
          : ms;
      for (const r of this.message(rng, statusRng, id, ms, vis, maxRecipients)) out.push(r);
    }
    sortTies(out);
    return out;
  }

  private message(rng: Rng, statusRng: Rng, id: string, ms: number, vis: number, maxRecipients: number): SimRecord[] {
    const r = rng.next();
    const direction = r < 0.45 ? "inbound" : r < 0.7 ? "outbound" : "internal";
    const internal = () => pool.address(rng, rng.pick(pool.LOCAL_PARTS), rng.pick(this.internalDomains));
    const external = () => pool.address(rng, rng.pick(pool.EXTERNAL_LOCAL_PARTS), rng.pick(pool.EXTERNAL_DOMAINS));
    const sender = direction === "inbound" ? external() : internal();
    const nRcpt = 1 + rng.int(maxRecipients);
    const seen = new Set<string>();
    const rcpts: string[] = [];
    for (let k = 0; k < nRcpt; k++) {
      // Outbound mail sometimes copies a colleague: mixed internal/external recipients.
      const a = direction === "inbound" || direction === "internal" || rng.chance(0.2) ? internal() : external();
      if (!seen.has(a.toLowerCase())) {
        seen.add(a.toLowerCase());
        rcpts.push(a);
      }
    }
    const senderDomain = sender.slice(sender.indexOf("@") + 1).toLowerCase();
    const messageId = `<${rng.hex8()}${rng.hex8()}.${rng.int(1e6)}@${senderDomain}>`;
    const subject = pool.subject(rng);
    const size = pool.size(rng);
    const fromIP = direction === "internal" ? (rng.chance(0.5) ? undefined : pool.ip(rng)) : pool.ip(rng);
    const receivedDateTime = isoGraph(ms);
    rcpts.sort();
    return rcpts.map((recipientAddress) => {
      const status = pool.status(rng);
      const outboundRcpt = !this.isInternal(recipientAddress);
      // Graph writes "" for a missing toIP (inbound mail), not null (docs §5). Which inbound rows carry one
      // anyway is a guess kept from before (no public evidence): 30 %.
      const toIP = outboundRcpt ? pool.ip(rng) : rng.chance(0.3) ? pool.publicIPv4(rng) : "";
      const item: GraphTraceItem = {
        id,
        messageId,
        receivedDateTime,
        senderAddress: sender,
        recipientAddress,
        subject,
        size,
        status,
      };
      // GUESS (no public evidence): some internal rows leave fromIP out entirely.
      if (fromIP !== undefined) item.fromIP = fromIP;
      item.toIP = toIP;
      const rec: SimRecord = { ms, vis, item, direction };
      // Its own Rng stream, drawn only when the model is on: turning it on changes no other draw.
      if (this.o.statusChanges) {
        const states = statusTimeline(statusRng, status, vis, this.o.statusChanges);
        if (states.length > 1) rec.states = states;
      }
      return rec;
    });
  }

  private isInternal(addr: string): boolean {
    const d = addr.slice(addr.indexOf("@") + 1).toLowerCase();
    return this.internalDomains.includes(d);
  }
}

/** Records are generated in time order; only runs with an equal timestamp need ordering by id, recipient. */
function sortTies(out: SimRecord[]): void {
  for (let i = 0; i < out.length;) {
    let j = i + 1;
    while (j < out.length && out[j]!.ms === out[i]!.ms) j++;
    if (j - i > 1 && out[i]!.item.id !== out[j - 1]!.item.id) {
      const run = out.slice(i, j).sort(compareRecords);
      for (let k = 0; k < run.length; k++) out[i + k] = run[k]!;
    }
    i = j;
  }
}

export function compareRecords(x: SimRecord, y: SimRecord): number {
  if (x.ms !== y.ms) return x.ms - y.ms;
  if (x.item.id !== y.item.id) return x.item.id < y.item.id ? -1 : 1;
  const a = x.item.recipientAddress;
  const b = y.item.recipientAddress;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Graph style: whole seconds with Z (docs §5); the fraction is cut, as a whole-second store would. */
export function isoGraph(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + "Z";
}
