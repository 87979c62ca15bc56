// Retry with exponential backoff and jitter; honours Retry-After; only transient errors are retried.
import { CollectorError, isRetryable } from "../errors.js";

export interface RetryPolicy {
  count: number;
  initialMs: number;
  maxMs: number;
  jitter: number;
  /**
   * Total time Retry-After headers may make us wait (shared by every request of a run); a request asked to
   * wait longer than what is left gives up instead. `once` sets it, so a server asking for an hour cannot park
   * an exec run (and its lock) that long; `run` leaves it unset and honours long waits.
   */
  retryAfterBudget?: { limitMs: number; remainingMs: number };
}

export interface RetryHooks {
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function backoffMs(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** (attempt - 1));
  const spread = base * policy.jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy, hooks: RetryHooks = {}): Promise<T> {
  const wait = hooks.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (hooks.signal?.aborted || !isRetryable(err) || attempt > policy.count) throw err;
      const retryAfter = err instanceof CollectorError ? err.retryAfter : undefined;
      // The server's Retry-After wins over our own backoff (capped at an hour so a bogus header cannot stall us forever).
      const ms = retryAfter !== undefined ? Math.min(retryAfter * 1000, 3_600_000) : backoffMs(policy, attempt, hooks.random);
      const budget = policy.retryAfterBudget;
      if (retryAfter !== undefined && budget) {
        if (ms > budget.remainingMs) {
          const why = err instanceof Error ? err.message : String(err);
          throw new CollectorError(
            "transient",
            `${why}, and asks us to wait ${Math.round(ms / 1000)} s (Retry-After), more than this run may wait (${Math.round(budget.limitMs / 1000)} s in all); giving up this cycle, the cursor is unchanged`,
            {
              hint: "the next run continues from the same cursor; the daemon (`run`) honours long waits",
              code: "RETRY_AFTER_TOO_LONG",
              status: err instanceof CollectorError ? err.status : undefined,
              cause: err,
            },
          );
        }
        budget.remainingMs -= ms;
      }
      hooks.onRetry?.(err, attempt, ms);
      await wait(ms, hooks.signal);
    }
  }
}

/** The `retry:` config section (seconds) as a policy (milliseconds). */
export function retryPolicyFrom(
  retry: { count: number; backoff: { initial: number; max: number; jitter: number } },
  retryAfterLimitMs?: number,
): RetryPolicy {
  return {
    count: retry.count,
    initialMs: retry.backoff.initial * 1000,
    maxMs: retry.backoff.max * 1000,
    jitter: retry.backoff.jitter,
    ...(retryAfterLimitMs !== undefined ? { retryAfterBudget: { limitMs: retryAfterLimitMs, remainingMs: retryAfterLimitMs } } : {}),
  };
}
