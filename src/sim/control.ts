// Test-control endpoints under /_sim (no auth): ground truth, clock, faults, stats. They let a harness in
// another process (the CLI simulator) drive the tenant exactly as the in-process API does.
import { parseApiTime } from "../window/time.js";
import type { Ctx } from "./context.js";
import type { Faults } from "./faults.js";
import { json, type SimRequest, type SimResponse } from "./responses.js";
import type { FaultSpec, GraphTraceItem } from "./types.js";

export interface Control {
  truth(from: Date, to: Date, opts?: { visibleOnly?: boolean }): GraphTraceItem[];
  setClock(ms: number, running: boolean): void;
  faults: Faults;
}

const FAULT_ROUTES = new Set(["graph", "rws", "token", "details", "any"]);
const FAULT_KINDS = new Set(["429", "500", "503", "slow", "truncated", "html-signin", "token-expired", "sp-not-found", "reset"]);

export function control(ctx: Ctx, c: Control, req: SimRequest, path: string): SimResponse {
  const q = req.url.searchParams;
  const bad = (message: string) => json(400, { error: message });
  const body = (): unknown => {
    try {
      return req.body ? (JSON.parse(req.body) as unknown) : {};
    } catch {
      return undefined;
    }
  };
  if (path === "/_sim/truth" && req.method === "GET") {
    // The collector's own parser: a time without a zone is UTC here too, never the host's local time.
    const from = parseApiTime(q.get("from") ?? "") ?? NaN;
    const to = parseApiTime(q.get("to") ?? "") ?? NaN;
    if (Number.isNaN(from) || Number.isNaN(to)) return bad("from and to must be ISO times");
    const value = c.truth(new Date(from), new Date(to), { visibleOnly: q.get("visible") === "1" || q.get("visible") === "true" });
    return json(200, { count: value.length, value });
  }
  if (path === "/_sim/clock" && req.method === "POST") {
    const b = body() as { now?: string; running?: boolean } | undefined;
    const ms = parseApiTime(b?.now ?? "") ?? NaN;
    if (Number.isNaN(ms)) return bad('body must be {"now":"ISO", "running"?: boolean}');
    c.setClock(ms, b?.running === true);
    return json(200, { now: new Date(ctx.now()).toISOString() });
  }
  if (path === "/_sim/clock" && req.method === "GET") return json(200, { now: new Date(ctx.now()).toISOString() });
  if (path === "/_sim/faults" && req.method === "POST") {
    const b = body();
    const specs = (Array.isArray(b) ? b : [b]) as Array<Partial<FaultSpec> | undefined>;
    for (const s of specs)
      if (!s || !FAULT_ROUTES.has(String(s.route)) || !FAULT_KINDS.has(String(s.kind)))
        return bad("body must be a FaultSpec or an array of them");
    for (const s of specs) c.faults.inject(s as FaultSpec);
    return json(200, { queued: specs.length });
  }
  if (path === "/_sim/faults" && req.method === "DELETE") {
    c.faults.clear();
    return json(200, { cleared: true });
  }
  if (path === "/_sim/stats" && req.method === "GET") return json(200, ctx.stats);
  return json(404, { error: `no control endpoint ${req.method} ${path}` });
}
