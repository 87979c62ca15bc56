// V8's heap growth, chosen for a sidecar. After each full collection V8 lets the old generation grow to up to
// four times what survived before it collects again: tuned for throughput, it made a run whose live heap is
// about 30 MB peak near 150 MB of heap and 250–300 MB RSS while reading a day (docs/performance.md). A fixed
// growth factor bounds the peak by what is alive, at the price of more full collections. `heap-growing-percent`
// is read by V8 at each collection, so setting it here, first thing, works without a second process (a launcher
// re-exec would double every cold start). O365_HEAP_GROWTH overrides it (a percent; 0 = V8's own heuristics),
// and a --heap-growing-percent given to node itself is left alone.
import { setFlagsFromString } from "node:v8";

/** Growth allowed after a full collection, in percent of the live heap. */
export const DEFAULT_HEAP_GROWTH_PERCENT = 100;

/** The percent in effect, or undefined when V8's own heuristics are (or node's own flag decides). */
export function sidecarHeap(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): number | undefined {
  if (execArgv.some((a) => a.startsWith("--heap-growing-percent") || a.startsWith("--heap_growing_percent"))) return undefined;
  const text = env.O365_HEAP_GROWTH?.trim();
  const percent = text === undefined || text === "" ? DEFAULT_HEAP_GROWTH_PERCENT : Number(text);
  // A value that is not a whole percent is ignored (V8's defaults), never a reason not to start.
  if (!Number.isInteger(percent) || percent < 0 || percent > 1000) return undefined;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent === 0 ? undefined : percent;
}
