// How late rows become visible in the simulated tenant. Microsoft publishes message trace rows late: usually
// minutes, sometimes hours, and collectors in the field warn of up to 24 hours. The "field" model reproduces
// that shape as a mixture (the numbers are the model's, chosen to resemble those reports, not measured at
// Microsoft): 80 % of rows within minutes (exponential, mean 2 min), 15 % from 5 minutes to 2 hours, 4 % from
// 2 to 12 hours and 1 % from 12 hours to the maximum (24 h by default), each spread evenly on a log scale so
// every decade of lateness is exercised. "uniform" is the older model: a fraction late by up to a maximum.

export type LatenessSpec =
  | { model: "none" }
  | { model: "uniform"; fraction: number; maxLagMinutes: number }
  | { model: "field"; maxLagMinutes?: number; tailScale?: number };

/** Lag in milliseconds from two independent uniforms in [0, 1). Always ≥ 0. */
export type LagModel = (u1: number, u2: number) => number;

const MIN = 60_000;

/** Components of the field mixture: share of rows and the lag range in minutes (log-uniform inside). */
const FIELD: Array<{ share: number; from: number; to: number; exp?: number }> = [
  { share: 0.8, from: 0, to: 30, exp: 2 },
  { share: 0.15, from: 5, to: 120 },
  { share: 0.04, from: 120, to: 720 },
  { share: 0.01, from: 720, to: 1440 },
];

export function lagModel(spec: LatenessSpec | undefined): LagModel | undefined {
  if (!spec || spec.model === "none") return undefined;
  if (spec.model === "uniform") {
    const { fraction, maxLagMinutes } = spec;
    if (!(fraction > 0)) return undefined;
    return (u1, u2) => (u1 < fraction ? Math.max(1, Math.ceil(u2 * maxLagMinutes * MIN)) : 0);
  }
  const max = spec.maxLagMinutes ?? 1440;
  // tailScale multiplies the shares of the late components (2 = twice as many rows hours late).
  const k = spec.tailScale ?? 1;
  const late = FIELD.slice(1).map((c) => ({ ...c, share: c.share * k }));
  const first = { ...FIELD[0]!, share: Math.max(0, 1 - late.reduce((a, c) => a + c.share, 0)) };
  const parts = [first, ...late];
  return (u1, u2) => {
    let acc = 0;
    for (const c of parts) {
      acc += c.share;
      if (u1 >= acc && c !== parts[parts.length - 1]) continue;
      const to = Math.min(c.to, max);
      const from = Math.min(c.from, to);
      let minutes: number;
      if (c.exp) minutes = Math.min(to, -c.exp * Math.log(1 - u2));
      else minutes = from > 0 ? from * Math.pow(to / from, u2) : u2 * to;
      return Math.max(0, Math.round(minutes * MIN));
    }
    return 0;
  };
}

/** Parse a command-line form: "none", "field", "field:1440", "uniform:0.2:360". */
export function parseLateness(text: string): LatenessSpec {
  const [model, a, b] = text.split(":");
  if (model === "none") return { model: "none" };
  if (model === "field") return { model: "field", ...(a ? { maxLagMinutes: Number(a) } : {}) };
  if (model === "uniform" && a && b) return { model: "uniform", fraction: Number(a), maxLagMinutes: Number(b) };
  throw new Error(`lateness must be none, field[:MAX_MINUTES] or uniform:FRACTION:MAX_MINUTES, got '${text}'`);
}

/** Fraction of rows later than `minutes` under a model (Monte Carlo over a fixed grid; for docs and tests). */
export function shareLaterThan(model: LagModel, minutes: number, n = 200): number {
  let late = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (model((i + 0.5) / n, (j + 0.5) / n) > minutes * MIN) late++;
  return late / (n * n);
}
