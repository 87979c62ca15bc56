// Which history to re-read, how often, and how much of it the request budget can afford.
//
// History behind the cursor is cut into bands by age (minutes before the cursor). Young history is re-read
// often, old history rarely. A row that becomes visible at age L sits in some band and then ages through the
// older ones; every band is at least (period + cycle) wide, so each band it fully passes through is read at
// least once while the row is in it. Only the oldest band needs care: it reaches `horizon + period + cycle`,
// so a row that turns visible at any age up to `horizon` is read at least once before it leaves.
//
// Cost is counted in requests per hour: re-reading h hours of history costs about h × pagesPerHour pages plus
// one request per query for the partial last page. The planner gives re-scans only what is left of the
// budget after new windows, details and a reserve, youngest band first; a band that does not fit is narrowed
// (or read less often), older bands are dropped, and the horizon actually guaranteed is reported.

/** One tier of the default schedule: history up to `upTo` minutes old is re-read every `every` minutes. */
export interface Tier {
  upTo: number;
  every: number;
}

/**
 * Default tiers, from the lateness the field reports (most rows within minutes, a tail to 24 h) and the
 * measured cost (bench "freshness"): the last hour every cycle catches the minutes-late bulk at once; the
 * hour-to-6-hours band hourly; older history every 4 hours, where the rare very late rows can wait.
 */
export const DEFAULT_TIERS: readonly Tier[] = [
  { upTo: 60, every: 0 },
  { upTo: 360, every: 60 },
  { upTo: Infinity, every: 240 },
];

/**
 * Schedules from freshest to cheapest. The planner takes the first that covers the whole horizon using at most
 * 60 % of what the budget leaves for re-scans (small tenants: the whole horizon every cycle, so a late row is
 * found within one cycle of turning visible), and otherwise the last one, narrowed to what is affordable.
 */
export const TIER_LADDER: readonly (readonly Tier[])[] = [
  [{ upTo: Infinity, every: 0 }],
  [
    { upTo: 60, every: 0 },
    { upTo: 360, every: 15 },
    { upTo: Infinity, every: 60 },
  ],
  DEFAULT_TIERS,
];

/** A band of history [cursor − end, cursor − start) (minutes), re-read every `period` minutes. */
export interface Band {
  start: number;
  end: number;
  period: number;
}

/**
 * Bands for a guaranteed horizon (minutes) at a cycle interval (minutes). A period shorter than a cycle is a
 * cycle. Widths are stretched where needed so that a row spends at least one period in every band.
 */
export function bandsFor(horizon: number, cycle: number, tiers: readonly Tier[] = DEFAULT_TIERS): Band[] {
  if (!(horizon > 0)) return [];
  const f = Math.max(1, cycle);
  const out: Band[] = [];
  let start = 0;
  for (const tier of tiers) {
    const period = Math.max(tier.every, f);
    const last = tier.upTo >= horizon;
    const end = Math.max(last ? horizon + period + f : tier.upTo, start + period + f);
    out.push({ start, end, period });
    start = end;
    if (last || start >= horizon + period + f) break;
  }
  return out;
}

/** Age (minutes) up to which a row turning visible is guaranteed to be re-read by these bands. */
export function guaranteedHorizon(bands: readonly Band[], cycle: number): number {
  const last = bands[bands.length - 1];
  return last ? Math.max(0, last.end - last.period - Math.max(1, cycle)) : 0;
}

export interface BudgetInput {
  /** Guaranteed horizon wanted (minutes; config rescan.horizon). */
  horizon: number;
  /** Minutes between cycles (the larger of `frequency` and the gap actually observed). */
  cycle: number;
  /** Requests the budget admits per hour (limit × 3600 / window_seconds). */
  budgetPerHour: number;
  /** Requests per hour the normal collection uses (new windows, details), measured or estimated. */
  normalPerHour: number;
  /** Requests needed to read one hour of history (rows per hour / page size), at least a small positive value. */
  pagesPerHour: number;
  /** Share of the budget never planned for re-scans (retries, bursts); default 0.1 (10 of 100 per 5 min). */
  reserve?: number;
  /** Longest period a band may be stretched to when the budget is short (minutes); default 360. */
  maxPeriod?: number;
  tiers?: readonly Tier[];
  /** Longest span one query may have (minutes); Graph: 10 days. */
  maxSpan?: number;
}

export interface RescanPlan {
  bands: Band[];
  /** Horizon (minutes) that is guaranteed with these bands; < horizon when the budget is short. */
  covered: number;
  horizon: number;
  /** Requests per hour the bands are expected to cost, and the share of the budget they may use. */
  costPerHour: number;
  allowancePerHour: number;
}

/** Requests per hour to re-read `band` at its period. */
export function bandCost(band: Band, pagesPerHour: number, maxSpan = 14_400): number {
  const width = band.end - band.start;
  const queries = Math.max(1, Math.ceil(width / maxSpan));
  return ((width / 60) * pagesPerHour + queries) * (60 / band.period);
}

/** The freshest schedule of the ladder the budget affords comfortably (see TIER_LADDER), or the cheapest, fitted. */
export function planRescans(input: BudgetInput): RescanPlan {
  if (input.tiers) return planWith(input);
  for (const tiers of TIER_LADDER.slice(0, -1)) {
    const p = planWith({ ...input, tiers });
    if (p.covered >= input.horizon && p.costPerHour <= 0.6 * p.allowancePerHour) return p;
  }
  return planWith({ ...input, tiers: TIER_LADDER[TIER_LADDER.length - 1] });
}

/** Fit the bands of one schedule into what the budget leaves free, youngest first. */
function planWith(input: BudgetInput): RescanPlan {
  const cycle = Math.max(1, input.cycle);
  const maxSpan = input.maxSpan ?? 14_400;
  const pph = Math.max(1e-6, input.pagesPerHour);
  const allowance = Math.max(0, input.budgetPerHour * (1 - (input.reserve ?? 0.1)) - input.normalPerHour);
  const wanted = bandsFor(input.horizon, cycle, input.tiers);
  const bands: Band[] = [];
  let left = allowance;
  let cost = 0;
  let whole = true;
  let fitted: Band | undefined;
  for (const band of wanted) {
    const c = bandCost(band, pph, maxSpan);
    if (c <= left) {
      bands.push(band);
      left -= c;
      cost += c;
      continue;
    }
    whole = false;
    // Not affordable as is: the widest band at this period (or, when even that is too narrow to guarantee
    // anything, a longer period) that fits what is left. Older bands are dropped: youngest history first.
    fitted = fitBand(band.start, band.period, left, pph, cycle, input.maxPeriod ?? 360);
    // Nothing affordable guarantees anything: still spend the allowance on the youngest history, re-read
    // hourly, best effort (it catches many late rows, but the covered horizon says what is promised: 0 more).
    if (!fitted && bands.length === 0) {
      const width = Math.floor(((left * 60) / 60 - 1) * (60 / pph));
      if (width >= 1)
        fitted = { start: band.start, end: band.start + Math.min(width, band.end - band.start), period: Math.max(60, band.period) };
    }
    if (fitted) {
      bands.push(fitted);
      cost += bandCost(fitted, pph, maxSpan);
    }
    break;
  }
  const covered = Math.min(input.horizon, whole ? input.horizon : coverageOf(bands, cycle, fitted));
  return { bands, covered, horizon: input.horizon, costPerHour: cost, allowancePerHour: allowance };
}

/**
 * Guarantee of a budget-limited band list. A full band covers up to its end − (period + cycle). A fitted band
 * uses the whole allowance, so one read of it takes up to a whole period (chunk by chunk, cycle by cycle):
 * its guarantee is end − (2 × period + cycle), and it guarantees nothing when narrower than that.
 */
function coverageOf(bands: readonly Band[], cycle: number, fitted?: Band): number {
  let covered = 0;
  for (const b of bands) {
    const lag = b === fitted ? 2 * b.period + cycle : b.period + cycle;
    if (b.end - b.start >= lag) covered = b.end - lag;
  }
  return Math.max(0, covered);
}

/** The band starting at `start` that maximises the guarantee for `left` requests per hour, or undefined. */
function fitBand(start: number, period: number, left: number, pph: number, cycle: number, maxPeriod: number): Band | undefined {
  let best: Band | undefined;
  for (let p = period; p <= Math.max(period, maxPeriod); p = p < 60 ? p + cycle : p + 60) {
    // Width affordable at period p: (w/60 × pph + 1) × 60/p ≤ left.
    const width = Math.floor(((left * p) / 60 - 1) * (60 / pph));
    if (width < 2 * p + cycle) continue;
    const b = { start, end: start + width, period: p };
    if (!best || b.end - 2 * b.period > best.end - 2 * best.period) best = b;
  }
  return best;
}
