// Backfill and the live collector of one tenant+source split the timeline instead of both reading a span:
// the live collector owns everything from its first window (its state's origin) on, a backfill the span
// before it. Each reads the other's state without its lock (state files are replaced atomically).
import type { Config } from "../config/schema.js";
import { StateStore } from "./store.js";

/** The span a stored backfill delivers (or will, once resumed), if there is one. */
export function backfillCoverage(config: Pick<Config, "state_dir" | "tenant_id" | "source">): { from: number; to: number } | undefined {
  const store = new StateStore(config.state_dir, config.tenant_id, config.source.type, "backfill");
  if (!store.exists()) return undefined;
  const range = store.load().state.extra?.backfill as { from?: unknown; to?: unknown } | undefined;
  const from = Date.parse(String(range?.from));
  const to = Date.parse(String(range?.to));
  return Number.isFinite(from) && Number.isFinite(to) ? { from, to } : undefined;
}

/** Where the live collector began (undefined: no live state, or one written before origins were kept). */
export function liveOrigin(config: Pick<Config, "state_dir" | "tenant_id" | "source">): number | undefined {
  const store = new StateStore(config.state_dir, config.tenant_id, config.source.type);
  if (!store.exists()) return undefined;
  const at = Date.parse(store.load().state.origin ?? "");
  return Number.isFinite(at) ? at : undefined;
}
