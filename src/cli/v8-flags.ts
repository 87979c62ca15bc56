// V8 settings for a sidecar that starts often (issue 19, docs/performance.md "Cold start").
// undici parses HTTP with llhttp, compiled to WebAssembly. V8 first compiles it with its baseline compiler
// (Liftoff) and, once a function has run "enough", again with its optimizing one (TurboFan) on a background
// thread. llhttp's one large parser function crosses that threshold within the first two small responses (the
// token's), and optimizing it took about 35 MB of peak memory (72 → 107 MB for an idle `once`) and some CPU.
// It never paid back: llhttp reads headers and chunk framing and skips the body bytes, so with 2.5 MB pages
// 60 responses parsed in less CPU without it. The budget below is the largest V8 takes, i.e. never optimize.
// Set before the first request (the module is compiled at the first connection); a `--wasm-tiering-budget`
// given to node itself wins.
import { setFlagsFromString } from "node:v8";

export const WASM_TIERING_FLAG = "--wasm-tiering-budget=2147483647";

export function applySidecarV8Flags(execArgv: readonly string[] = process.execArgv): void {
  if (execArgv.some((a) => a.startsWith("--wasm-tiering-budget"))) return;
  setFlagsFromString(WASM_TIERING_FLAG);
}
