// The command's bundled build (issue 19, cold start): `npm run build` compiles src/ with tsc into dist/, then
// this bundles dist/cli/main.js and the dependencies into dist/bundle/, which bin/o365-message-trace.js runs.
// Why: the exec input starts `once` every few minutes for ever, and most of an idle `once` was Node resolving,
// reading and compiling some 600 modules one by one (docs/performance.md, "Cold start"). One ESM file per
// command, with the components that only some configs use (forward client, XML reader, simulator, setup)
// kept in chunks loaded by the same dynamic imports as in dist/, cuts that to a few files.
// Not bundled: fs-ext and @fluent-org/logger (see `external` below). dist/ itself stays
// as tsc wrote it: tests import it, and it is the readable form of the same code.
import { build } from "esbuild";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { builtinsToRequire } from "./bundle/builtins-cjs.mjs";
import { LAZY_REQUIRES, lazyRequires } from "./bundle/lazy-requires.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const here = (file) => fileURLToPath(new URL(`bundle/${file}`, import.meta.url));

/**
 * Less code to compile at every start, without changing what runs: each replacement is a file in
 * scripts/bundle/ that says why it is safe.
 */
const leaner = {
  name: "o365mt-leaner",
  setup(b) {
    // undici's index loads all of undici; dist/ uses four of its exports (undici-lite.mjs).
    b.onResolve({ filter: /^undici$/ }, (a) => (a.importer.startsWith(`${root}dist/`) ? { path: here("undici-lite.mjs") } : undefined));
    // msal-node's jsonwebtoken, loaded at the first certificate sign instead of at start (jsonwebtoken-lazy.mjs).
    b.onResolve({ filter: /^jsonwebtoken$/ }, (a) =>
      a.importer.includes("/@azure/msal-node/") ? { path: here("jsonwebtoken-lazy.mjs") } : undefined,
    );
    // Built-ins by require() instead of through Node's ES module facades (builtins-cjs.mjs).
    b.onLoad({ filter: /\.m?js$/ }, (a) =>
      a.path.startsWith(`${root}dist/`) || /[/\\]@azure[/\\]msal-(node|common)[/\\]/.test(a.path)
        ? { contents: builtinsToRequire(readFileSync(a.path, "utf8")), loader: "js" }
        : undefined,
    );
    // Built-ins that undici and pino require at load, required at their first use (lazy-requires.mjs).
    for (const { file } of LAZY_REQUIRES)
      b.onLoad({ filter: file }, (a) => ({ contents: lazyRequires(a.path, readFileSync(a.path, "utf8")), loader: "js" }));
    // zod's namespace of 60 locales: only English is configured (zod does that itself) and src/ never reads
    // z.locales, so the namespace keeps English only.
    b.onLoad({ filter: /[/\\]zod[/\\]v4[/\\]locales[/\\]index\.js$/ }, () => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: `${root}node_modules/zod/v4/locales`,
    }));
  },
};
const outdir = `${root}dist/bundle`;
const { version } = JSON.parse(readFileSync(`${root}package.json`, "utf8"));

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  // heap: V8's heap settings (src/heap.ts, node:v8 only), which bin/ applies before it loads main, so module
  // loading already runs with them.
  entryPoints: { main: "dist/cli/main.js", heap: "dist/heap.js" },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Whitespace and syntax only: less to read and compile at start; names stay, so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "linked",
  // fs-ext: a native addon. @fluent-org/logger: src/sinks/forward patches its protocol module through
  // require(), which can only reach the copy in node_modules, so the sink must send with that copy too (it
  // loads only when the forward sink is configured).
  external: ["fs-ext", "@fluent-org/logger"],
  // The version is a constant of the build (src/package-version.ts): no package.json read at run time.
  define: { __O365MT_VERSION__: JSON.stringify(version) },
  // CommonJS dependencies (undici, msal-node's helpers) require Node built-ins; in an ESM bundle that needs a
  // real `require`.
  banner: {
    // __o365mtRequire: the same, under a name no module of ours can shadow, for the built-ins taken by
    // require() (builtins-cjs.mjs).
    js: 'import { createRequire as __o365mtCreateRequire } from "node:module"; const require = __o365mtCreateRequire(import.meta.url), __o365mtRequire = require;',
  },
  chunkNames: "chunk-[hash]",
  plugins: [leaner],
  metafile: true,
  logLevel: "warning",
});

// Which packages each file of the bundle holds (and `.` for our own code): what a `once` loads can still be
// said in packages (test/cold-start.test.ts), and a person can see where a dependency went.
const packagesOf = {};
for (const [out, { inputs }] of Object.entries(result.metafile.outputs)) {
  if (!out.endsWith(".js")) continue;
  const names = new Set(Object.keys(inputs).map((i) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(i)?.[1] ?? "."));
  packagesOf[out.slice(out.lastIndexOf("/") + 1)] = [...names].sort();
}
const lines = Object.entries(packagesOf).map(([file, names]) => `  ${JSON.stringify(file)}: ${JSON.stringify(names)}`);
writeFileSync(`${outdir}/packages.json`, `{\n${lines.join(",\n")}\n}\n`);
