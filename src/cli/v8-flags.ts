// V8 settings for a sidecar that starts often (issue 19, docs/performance.md "Cold start" and "Eighth pass").
// undici parses HTTP with llhttp, compiled to WebAssembly. V8 first compiles it with its baseline compiler
// (Liftoff) and, once a function has run "enough", again with its optimizing one (TurboFan) on a background
// thread. Optimizing llhttp's one large parser function (33 KB of wasm) takes 29.5 MB of compiler memory at
// once (42.7 MB in all) and about 0.1 s of CPU, and never pays back: llhttp reads headers and chunk framing
// and skips the body bytes, so 60 responses of 2.5 MB parsed in less CPU without it.
//
// An earlier version set the tiering budget to the largest value V8 takes, which only postponed it: the budget
// counts work done, not calls, and a long read spends it. A day's 1 M records (193 pages of 5 MB) crossed it
// about half-way, and that one compilation was the largest part of the peak RSS of such a read (measured with
// --trace-wasm-compilation-times and heaptrack): the difference between a long read's peak and a short one's.
// --liftoff-only keeps wasm on the baseline compiler for good. V8 calls it a testing flag; it is the only one
// that is a single switch: --no-wasm-dynamic-tiering alone tiers every function up eagerly unless
// --no-wasm-tier-up comes with it. Set before the first request (the module is compiled at the first
// connection). If node was given any flag about wasm tiering, the operator decides and we stay out.
import { setFlagsFromString } from "node:v8";
import { nodeGaveFlag } from "../heap.js";

export const WASM_BASELINE_ONLY_FLAG = "--liftoff-only";

/** Node/V8 flags of the operator's about wasm compilers or tiering (either polarity): any of them, and we stay out. */
const WASM_TIERING_OPERATOR_FLAGS = ["liftoff", "liftoff-only", "wasm-tier-up", "wasm-dynamic-tiering"].flatMap((f) => [
  `--${f}`,
  `--no-${f}`,
]);

/** Applies the setting unless the operator's node flags decide; returns whether it did. */
export function applySidecarV8Flags(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS): boolean {
  if (nodeGaveFlag([...WASM_TIERING_OPERATOR_FLAGS, "--wasm-tiering-budget"], execArgv, nodeOptions)) return false;
  setFlagsFromString(WASM_BASELINE_ONLY_FLAG);
  return true;
}
