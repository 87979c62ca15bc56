#!/usr/bin/env node
// Thin launcher: the bundled CLI in dist/bundle/ (scripts/bundle.mjs; built with dist/ by `npm ci` via the
// prepare script, or `npm run build`). One bundle instead of some 600 modules: the exec input starts `once`
// every few minutes, and that start is mostly module loading (docs/performance.md, "Cold start").
// V8's heap settings first (src/heap.ts: a file of its own, node:v8 only), so that loading the bundle already
// runs with the small young generation; main() applies them again, harmlessly. Collections on the main thread
// only (sidecarGcThreads) are set here alone, while nothing is running yet.
import("../dist/bundle/heap.js")
  .then((h) => {
    if (process.argv[2] !== "simulate") h.sidecarGcThreads();
    h.sidecarV8(process.argv[2]);
  })
  .then(() => import("../dist/bundle/main.js"))
  .then((m) => m.main(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code;
    },
    // Last resort (a bug, or dist/ missing): still one JSON line off a terminal, like every other stderr line.
    (err) => {
      const msg = `internal error: ${err && err.message ? err.message : err}`;
      process.stderr.write(
        process.stderr.isTTY
          ? `o365-message-trace: ${msg}\n`
          : JSON.stringify({ time: new Date().toISOString(), level: "error", msg }) + "\n",
      );
      process.exitCode = 1;
    },
  );
