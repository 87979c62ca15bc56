// Node built-ins that dependencies require when they load but use only on paths an idle `once` never takes,
// turned into requires at first use, for the bundled build only (scripts/bundle.mjs applies these to the
// files named). Each built-in costs memory once loaded (its code and objects), and every `once` paid for
// them: with these and the HTTP sink's zlib loaded at its first gzip batch, an idle `once` peaks 0.7 MB lower
// (63.2 → 62.5 MB, medians of 7; `node:http2` alone is about 0.7 MB in a bare process).
// Each replacement must match the dependency's text exactly: after an upgrade that changes it, the build
// fails here (and test/cold-start.test.ts says what loads again) instead of silently bundling the old code.
export const LAZY_REQUIRES = [
  {
    // undici's HTTP/2 client (and with it node:http2) is used only when a server negotiates h2 through ALPN,
    // which undici offers only with `allowH2` (src/net never sets it). Same function, loaded at that call.
    file: /[/\\]undici[/\\]lib[/\\]dispatcher[/\\]client\.js$/,
    replace: [
      [
        "const connectH2 = require('./client-h2.js')",
        "let connectH2Loaded\nconst connectH2 = (client, socket) => (connectH2Loaded ??= require('./client-h2.js'))(client, socket)",
      ],
    ],
  },
  {
    // pino reads worker_threads' isMainThread only for a SonicBoom destination that is not sync (src/log
    // gives pino its own destination), and loads its transports (thread-stream, a worker thread) only for
    // the `transport` option, which src/log does not use. Both read at their first use instead.
    file: /[/\\]pino[/\\]lib[/\\]tools\.js$/,
    replace: [
      ["const { isMainThread } = require('worker_threads')\n", ""],
      ["if (!opts.sync && isMainThread) {", "if (!opts.sync && require('worker_threads').isMainThread) {"],
      ["const transport = require('./transport')", "const transport = (...args) => require('./transport')(...args)"],
    ],
  },
  {
    // pino.transport, the same module, as a getter: read only by callers that build a transport.
    file: /[/\\]pino[/\\]pino\.js$/,
    replace: [
      [
        "module.exports.transport = require('./lib/transport')",
        "Object.defineProperty(module.exports, 'transport', { enumerable: true, configurable: true, get: () => require('./lib/transport') })",
      ],
    ],
  },
];

/** `source` of `path` with its replacements made; throws when one no longer matches. */
export function lazyRequires(path, source) {
  for (const { file, replace } of LAZY_REQUIRES) {
    if (!file.test(path)) continue;
    for (const [from, to] of replace) {
      if (!source.includes(from)) throw new Error(`scripts/bundle/lazy-requires.mjs: "${from}" not found in ${path}`);
      source = source.replace(from, to);
    }
  }
  return source;
}
