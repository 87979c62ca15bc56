// Client-side request budget: at most `limit` requests in any running window of `windowMs`, the way
// Exchange Online counts them (about 100 requests per 5 minutes per tenant, list and detail calls alike).
// Pacing ourselves keeps a large backfill at the ceiling without ever provoking a 429: a 429 costs a
// Retry-After wait that is usually far longer than the wait for the next free slot.

export interface BudgetOptions {
  limit: number;
  windowMs: number;
  /**
   * Extra wait after a slot frees. Slots are restamped with the response time (`complete`), which is never
   * earlier than when the service counted the request, so the margin only covers requests that got no
   * response (network error) and clock granularity. Default: 0.2 % of the window, between 20 ms and 1 s.
   */
  marginMs?: number;
  clock?: () => number;
  /** Injectable for tests (fake clock); resolves after `ms` or rejects when the signal aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export class RequestBudget {
  readonly limit: number;
  readonly windowMs: number;
  readonly marginMs: number;
  private readonly clock: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Times of the last `limit` admitted requests, oldest first (a ring buffer): when we let each go, moved
   * to when its response came back once `complete` is called. The service stamps a request somewhere in
   * between, so the response time is a safe upper bound whatever the token fetch or connect took.
   */
  private readonly stamps: number[];
  /** Admission numbers of requests still waiting for their response, oldest first. */
  private readonly open: number[] = [];
  private head = 0;
  private used = 0;
  /** Callers queue here so slots go out in arrival order (one waiter sleeps at a time). */
  private tail: Promise<void> = Promise.resolve();
  /** Total time callers spent waiting for a slot, for logs and the bench. */
  waitedMs = 0;
  admitted = 0;

  constructor(o: BudgetOptions) {
    if (!(o.limit >= 1) || !(o.windowMs > 0)) throw new RangeError("request budget needs limit >= 1 and a positive window");
    this.limit = Math.floor(o.limit);
    this.windowMs = o.windowMs;
    this.marginMs = o.marginMs ?? Math.min(1000, Math.max(20, o.windowMs * 0.002));
    this.clock = o.clock ?? Date.now;
    this.sleep = o.sleep ?? defaultSleep;
    this.stamps = new Array<number>(this.limit).fill(0);
  }

  /** A response to the oldest request still open has arrived (any status): restamp it with now. */
  complete(now = this.clock()): void {
    const seq = this.open.shift();
    // Older than the ring: its slot has already been reused (it was open for a whole window), nothing to move.
    if (seq === undefined || seq < this.admitted - this.used) return;
    const i = (this.head + (seq - (this.admitted - this.used))) % this.limit;
    this.stamps[i] = Math.max(this.stamps[i]!, now);
  }

  /** Milliseconds until a slot is free (0 = now). */
  delay(now = this.clock()): number {
    if (this.used < this.limit) return 0;
    return Math.max(0, this.stamps[this.head]! + this.windowMs + this.marginMs - now);
  }

  /** Slots free right now: what a planner may still spend without waiting (re-scans, src/pipeline/rescans.ts). */
  available(now = this.clock()): number {
    let busy = 0;
    for (let k = 0; k < this.used; k++) if (this.stamps[(this.head + k) % this.limit]! + this.windowMs + this.marginMs > now) busy++;
    return this.limit - busy;
  }

  /** Wait for a free slot and take it. Rejects (taking nothing) when the signal aborts. */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.tail.then(() => this.take(signal));
    // The next caller waits for this one whatever happens to it; an aborted caller must not block the queue.
    this.tail = turn.catch(() => {});
    return turn;
  }

  private async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const now = this.clock();
      const wait = this.delay(now);
      if (wait <= 0) {
        this.record(now);
        return;
      }
      this.waitedMs += wait;
      await this.sleep(wait, signal);
    }
  }

  private record(now: number): void {
    this.open.push(this.admitted);
    // A request that never got a response (network error) keeps its admission stamp; drop stale entries.
    if (this.open.length > this.limit) this.open.shift();
    this.admitted++;
    if (this.used < this.limit) {
      this.stamps[(this.head + this.used) % this.limit] = now;
      this.used++;
      return;
    }
    // Full: the oldest stamp has left the window; the new one takes its place at the end of the ring.
    this.stamps[this.head] = now;
    this.head = (this.head + 1) % this.limit;
  }
}

/** The budget as request hooks: acquire a slot before each request (logging long waits), restamp it after. */
export function budgetHooks(
  opts: { limit: number; windowSeconds: number; clock?: () => number },
  logger: { info(msg: string, fields?: Record<string, unknown>): void },
): { beforeRequest: (signal?: AbortSignal) => Promise<void>; onResponse: () => void; budget: RequestBudget } {
  const clock = opts.clock ? budgetClock(opts.clock) : undefined;
  const budget = new RequestBudget({ limit: opts.limit, windowMs: opts.windowSeconds * 1000, ...(clock ? { clock } : {}) });
  return {
    budget,
    beforeRequest: async (signal) => {
      const wait = budget.delay();
      if (wait >= 10_000)
        logger.info("request budget used up; pacing requests", {
          wait_ms: Math.round(wait),
          limit: budget.limit,
          window_seconds: budget.windowMs / 1000,
        });
      await budget.acquire(signal);
    },
    onResponse: () => budget.complete(),
  };
}

/**
 * The budget's time when the runtime has a clock of its own (tests, O365MT_NOW): whichever moved further since
 * start, that clock or the wall clock. A pinned clock still lets pacing waits end; a clock a time-scaled test
 * moves in jumps makes the budget count requests in the same (simulated) time as the re-scan planner.
 */
function budgetClock(clock: () => number): () => number {
  const wall0 = Date.now();
  const c0 = clock();
  return () => wall0 + Math.max(clock() - c0, Date.now() - wall0);
}
