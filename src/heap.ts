// V8's heap, chosen for a sidecar (issue 19, docs/performance.md). Both settings are V8 flags that V8 reads
// while it runs, so setting them here, first thing, works without a second process (a launcher re-exec would
// double every cold start). An operator's own node flag for the same thing always wins.
//
// Old generation: after each full collection V8 lets it grow to up to four times what survived before it
// collects again: tuned for throughput, it made a run whose live heap is about 30 MB peak near 150 MB of heap
// and 250–300 MB RSS while reading a day. A fixed growth factor bounds the peak by what is alive, at the price
// of more full collections. O365_HEAP_GROWTH overrides it (a percent; 0 = V8's own heuristics).
//
// Young generation: V8 starts each semi-space at 1 MB and doubles it (up to 16 MB, two of them) whenever more
// survived its collections than it holds. Module loading alone grows it to 4 MB, and a bulk read to 16 MB:
// 32 MB of RSS for objects that die young. With --semi-space-growth-factor=1 it stays at 1 MB, which is what
// --max-semi-space-size=1 gives (that one is read only when the process starts). Measured at 1 M records in
// one window (stdout, three runs each): peak RSS 188–195 → 160–168 MB (110–129 instead of 140–168 MB at
// 100 k), an idle `once` 70 → 67 MB at the same CPU, but 15–20 % more CPU per record in bulk (13.4–14.0 →
// 16.2–17.2 CPU-s: 6600 young collections instead of 390, each copying the page being processed). Default
// for the same reason as the growth above: pods are sized by their peak, and a day's records cost seconds of
// CPU (and an exec input's few-page `once` far less).
// O365_YOUNG_GENERATION=v8 gives V8's own growth (and the CPU) back; --max-semi-space-size (or -min-, or the
// growth factor) given to node wins. A cap above 1 MB cannot be held from here: growth happens inside
// synchronous stretches (module loading, a page's JSON.parse) before any 'gc' observer runs (2 MB → 4, 8 → 16).
import { setFlagsFromString } from "node:v8";

/** Growth allowed after a full collection, in percent of the live heap. */
export const DEFAULT_HEAP_GROWTH_PERCENT = 100;

/** Node/V8 flags of the operator's that decide the young generation's size: any of them, and we stay out. */
const YOUNG_GENERATION_FLAGS = ["--max-semi-space-size", "--min-semi-space-size", "--semi-space-growth-factor"];

/**
 * Whether node was given one of `flags` (`--a-b` or `--a_b`, with or without a value), on its command line or
 * in NODE_OPTIONS (which process.execArgv does not show; --max-semi-space-size is allowed there).
 */
export function nodeGaveFlag(flags: readonly string[], execArgv: readonly string[], nodeOptions = ""): boolean {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((a) => a.split("=")[0]!.replace(/_/g, "-"));
  return given.some((a) => flags.includes(a));
}

/** The percent in effect, or undefined when V8's own heuristics are (or node's own flag decides). */
export function sidecarHeap(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): number | undefined {
  if (nodeGaveFlag(["--heap-growing-percent"], execArgv)) return undefined;
  const text = env.O365_HEAP_GROWTH?.trim();
  const percent = text === undefined || text === "" ? DEFAULT_HEAP_GROWTH_PERCENT : Number(text);
  // A value that is not a whole percent is ignored (V8's defaults), never a reason not to start.
  if (!Number.isInteger(percent) || percent < 0 || percent > 1000) return undefined;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent === 0 ? undefined : percent;
}

/** "small": semi-spaces kept at V8's initial 1 MB; "v8": V8's own growth. */
export type YoungGeneration = "small" | "v8";
export const DEFAULT_YOUNG_GENERATION: YoungGeneration = "small";

/**
 * What O365_YOUNG_GENERATION and node's flags ask for: "small" (the default), "v8", or undefined when the
 * operator's own node flag decides. A value other than small or v8 is ignored (V8's own growth), never a
 * reason not to start, as for O365_HEAP_GROWTH.
 */
export function youngGenerationWanted(env: NodeJS.ProcessEnv, execArgv: readonly string[]): YoungGeneration | undefined {
  if (nodeGaveFlag(YOUNG_GENERATION_FLAGS, execArgv, env.NODE_OPTIONS)) return undefined;
  const text = env.O365_YOUNG_GENERATION?.trim().toLowerCase();
  if (text === undefined || text === "") return DEFAULT_YOUNG_GENERATION;
  return text === "small" ? "small" : "v8";
}

/**
 * Applies the young-generation setting; returns "small" when the semi-spaces are now kept at 1 MB, undefined
 * when V8 (or the operator's flag) sizes them. Set before the first page: new space is only grown by the
 * collections that follow, so what module loading grew before stays (the launcher sets it before the bundle loads).
 */
export function sidecarYoungGeneration(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): "small" | undefined {
  const wanted = youngGenerationWanted(env, execArgv);
  if (wanted === undefined) return undefined;
  // "v8" sets V8's default back (2), so a process can switch within one run (the unit tests do).
  setFlagsFromString(`--semi-space-growth-factor=${wanted === "small" ? 1 : 2}`);
  return wanted === "small" ? "small" : undefined;
}

/**
 * Garbage collection on the main thread ("main", opt-in) or also on V8's helper threads ("v8", the default).
 * "main" sets the parts of node's --single-threaded-gc that V8 accepts while it runs (--no-parallel-marking
 * aborts V8 when set after start): no parallel scavenge, compaction or pointer update, no concurrent marking or
 * sweeping. Measured at 1 M records in one window (stdout, alternating runs, docs/performance.md "Sixth pass"):
 * 10–20 % less CPU per record (the helpers' start and synchronisation at each of thousands of small scavenges,
 * on two shared cores), but 163–173 MB peak RSS instead of 146–156 MB, because the heap grows while marking
 * runs in steps on the main thread: past the 160 MB target, hence not the default. Moving only scavenges and
 * compaction to the main thread kept the memory and saved no measurable CPU.
 */
export type GcThreads = "main" | "v8";
export const DEFAULT_GC_THREADS: GcThreads = "v8";
const GC_THREAD_FLAGS = [
  "--no-parallel-scavenge",
  "--no-concurrent-marking",
  "--no-parallel-compaction",
  "--no-parallel-pointer-update",
  "--no-concurrent-sweeping",
];
/** Node/V8 flags of the operator's about GC threads: any of them (either polarity), and we stay out. */
const GC_THREAD_OPERATOR_FLAGS = [
  "--single-threaded",
  "--single-threaded-gc",
  ...GC_THREAD_FLAGS.flatMap((f) => [f, f.replace(/^--no-/, "--")]),
  "--parallel-marking",
  "--no-parallel-marking",
];

/** What O365_GC_THREADS and node's flags ask for: "v8" (the default), "main", or undefined when node's flags decide. */
export function gcThreadsWanted(env: NodeJS.ProcessEnv, execArgv: readonly string[]): GcThreads | undefined {
  if (nodeGaveFlag(GC_THREAD_OPERATOR_FLAGS, execArgv, env.NODE_OPTIONS)) return undefined;
  const text = env.O365_GC_THREADS?.trim().toLowerCase();
  if (text === undefined || text === "") return DEFAULT_GC_THREADS;
  // Anything but "main" is V8's own (as for the other two settings: never a reason not to start).
  return text === "main" ? "main" : "v8";
}

/**
 * Applies the GC-thread setting, first thing in the process (the launcher, before the bundle loads), while no
 * collection is running: V8 reads these flags as a collection starts. main() does not call this, so a caller
 * that imports the bundle into a busy process (a test worker) keeps V8's own; switching concurrent marking off
 * while a marking cycle runs is not safe. Returns "main" when collections now run on the main thread only.
 */
export function sidecarGcThreads(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): "main" | undefined {
  if (gcThreadsWanted(env, execArgv) !== "main") return undefined;
  setFlagsFromString(GC_THREAD_FLAGS.join(" "));
  return "main";
}

/**
 * Both settings (and the lean start below, for `once` and `run`), for every command but the simulator (a
 * development tool with a large working set: V8's defaults suit it). The launcher (bin/) calls this before it
 * loads the bundle, so module loading already runs with the small young generation (set later, it would find
 * the semi-spaces grown to 4 MB); main() calls it again for callers that import the bundle directly (the bench,
 * tests). Setting a flag twice is harmless.
 */
export function sidecarV8(
  command: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): void {
  if (command === "simulate") return;
  sidecarHeap(env, execArgv);
  sidecarYoungGeneration(env, execArgv);
  leanStart(command, env, execArgv);
}

// A lean start (issue 19, the idle `once`): three V8 flags while the command starts, set back when the start is
// over. An idle `once` is all start (bundle, config, state, token, exit) and peaked at 67 MB, 27 MB above bare
// Node; each flag was measured on it (medians of 7–11 runs, bench/run.mjs --only coldstart):
// - --no-opt, --no-sparkplug: TurboFan and Sparkplug compiled the few functions that got hot while the bundle
//   loaded (Node's own path helpers, mostly), which pulled the compilers' code into memory and allocated their
//   working memory: 2.5 MB of peak RSS (66.7 → 64.2 MB) for no CPU gain in a run that lasts 0.2 s.
// - --optimize-for-size: V8 then starts an (incremental, memory-reducing) full collection once the old
//   generation passes 8 MB, mid-way through module loading, instead of none: what loading left behind (parse
//   results, config documents) is freed before the token's TLS and msal-node allocate: about 1 MB of peak RSS
//   for 0.01 s of CPU.
// `afterStart()` sets V8's defaults back when the start token is in (runtime.ts, before any window is read, so
// the data path runs as before), and a timer does so after START_FLAGS_MS at the latest, for any path that takes
// no start token (several tenants). Only for `once` and `run`. O365_LEAN_START=v8 keeps V8's own; a node flag
// that decides any of these (--no-opt, --jitless, --optimize-for-size, …) means we stay out. V8 reads all three
// at each decision (tiering, collection), so they can be switched while it runs (checked with --trace-opt and
// --trace-gc: functions are optimized again, and no memory-reducing collection follows, after the switch).

/** The flags of a lean start; afterStart() sets each back to V8's default. */
export const LEAN_START_FLAGS = ["--no-opt", "--no-sparkplug", "--optimize-for-size"] as const;
const DEFAULT_FLAGS = ["--opt", "--sparkplug", "--no-optimize-for-size"] as const;
/** Node/V8 flags of the operator's that decide the same things: any of them, and we stay out. */
const LEAN_START_OWN_FLAGS = [
  "--opt",
  "--no-opt",
  "--turbofan",
  "--no-turbofan",
  "--sparkplug",
  "--no-sparkplug",
  "--jitless",
  "--max-opt",
  "--always-sparkplug",
  "--optimize-for-size",
  "--no-optimize-for-size",
];
/** The commands whose start ends with a start token (src/runtime.ts acquireStartToken). */
const LEAN_START_COMMANDS = new Set(["once", "run"]);
/** At the latest this long after the start, V8's defaults are back. */
export const START_FLAGS_MS = 2_000;
/** Shared by every copy of this module (the launcher's and the bundle's): the timer while the start is lean. */
const LEAN_START = Symbol.for("o365-message-trace.lean-start");

/** Sets the lean start's flags for `command` (see above); returns whether it did. Call `afterStart()` after. */
export function leanStart(
  command: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): boolean {
  const g = globalThis as { [LEAN_START]?: NodeJS.Timeout };
  if (g[LEAN_START]) return true;
  if (!LEAN_START_COMMANDS.has(command ?? "")) return false;
  if (env.O365_LEAN_START?.trim().toLowerCase() === "v8") return false;
  if (nodeGaveFlag(LEAN_START_OWN_FLAGS, execArgv, env.NODE_OPTIONS)) return false;
  for (const f of LEAN_START_FLAGS) setFlagsFromString(f);
  g[LEAN_START] = setTimeout(afterStart, START_FLAGS_MS).unref();
  return true;
}

/** Whether the lean start's flags are in effect (tests). */
export function leanStartActive(): boolean {
  return (globalThis as { [LEAN_START]?: NodeJS.Timeout })[LEAN_START] !== undefined;
}

/** V8's defaults back, if `leanStart` set its flags; harmless to call more than once. */
export function afterStart(): void {
  const g = globalThis as { [LEAN_START]?: NodeJS.Timeout };
  const timer = g[LEAN_START];
  if (!timer) return;
  clearTimeout(timer);
  delete g[LEAN_START];
  for (const f of DEFAULT_FLAGS) setFlagsFromString(f);
}
