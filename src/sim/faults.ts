// Misbehaviour on demand: scripted faults (FIFO per route), seeded random faults on the data routes,
// and a running-window request budget like Exchange Online's 100 requests / 5 minutes per tenant.
import { Rng } from "./prng.js";
import type { FaultKind, FaultSpec } from "./types.js";

export type Route = "graph" | "rws" | "token" | "details";
const DATA_ROUTES: ReadonlySet<Route> = new Set(["graph", "rws", "details"]);

interface Pending {
  spec: FaultSpec;
  count: number;
  after: number;
}

export class Faults {
  private queue: Pending[] = [];
  private readonly rng: Rng | undefined;

  constructor(private readonly random?: { rate: number; kinds: FaultKind[]; seed?: number }) {
    this.rng = random && random.rate > 0 && random.kinds.length > 0 ? new Rng(random.seed ?? 1) : undefined;
  }

  inject(f: FaultSpec): void {
    this.queue.push({ spec: { ...f }, count: Math.max(1, f.count ?? 1), after: Math.max(0, f.after ?? 0) });
  }

  clear(): void {
    this.queue = [];
  }

  /**
   * The fault for this request, if any. Only the oldest scripted fault matching the route is consulted,
   * so faults for one route play out in the order they were injected; `after` counts matching requests.
   */
  take(route: Route): FaultSpec | undefined {
    const i = this.queue.findIndex((p) => p.spec.route === route || p.spec.route === "any");
    if (i >= 0) {
      const p = this.queue[i]!;
      if (p.after > 0) {
        p.after--;
        return undefined;
      }
      if (--p.count <= 0) this.queue.splice(i, 1);
      return p.spec;
    }
    if (this.rng && this.random && DATA_ROUTES.has(route) && this.rng.next() < this.random.rate) {
      return { route, kind: this.rng.pick(this.random.kinds) };
    }
    return undefined;
  }
}

/**
 * Running-window budget. Only admitted requests consume it (a 429 does not extend the wait).
 * GUESS: that list, detail and report calls share one budget per tenant (documented only for the detail call
 * and Get-MessageTraceV2), and the 429 body text.
 */
export class Throttle {
  private readonly stamps: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** undefined when admitted, else the Retry-After in whole seconds until the oldest slot frees. */
  admit(now: number): number | undefined {
    while (this.stamps.length > 0 && this.stamps[0]! <= now - this.windowMs) this.stamps.shift();
    if (this.stamps.length < this.limit) {
      this.stamps.push(now);
      return undefined;
    }
    return Math.max(1, Math.ceil((this.stamps[0]! + this.windowMs - now) / 1000));
  }
}
