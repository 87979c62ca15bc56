// Node's built-in modules taken with require() instead of `import`, for the bundled build only
// (scripts/bundle.mjs runs this over our own ES modules and msal-node's). An `import` of a built-in goes
// through Node's ES module facade for it, which reads every export of the module once, getters included:
// `node:fs` then loads fs/promises with readline and the file watchers, `node:crypto` the Web Crypto API,
// `node:tls` parses the root certificates into strings. Measured on an idle `once`: 1.1 MB less peak RSS
// (64.4 → 63.2–63.3 MB, medians of 7; in isolation, the facades of crypto, tls, zlib, util, path and os cost
// 1.3 MB against require() of the same modules). Safe: a built-in's exports are
// fixed when it loads, so reading them when the importing module starts (what `const { … } = require(…)`
// does) gives the values the import bindings have. The bundle's banner defines `__o365mtRequire` (the
// chunk's createRequire, which its CommonJS dependencies already use for every built-in) under a name no
// module shadows (dist/cursor/lock.js has a `require` of its own). Only the plain forms
// tsc and msal's build write (`import { a, b as c } from "x";`, `import d from "x";`,
// `import * as n from "x";`, one statement per line) are rewritten; anything else stays an import.
import { isBuiltin } from "node:module";

const IMPORT = /^import\s+(?:(\*\s+as\s+[\w$]+)|([\w$]+)|\{([^}]*)\})\s+from\s+(["'])([^"']+)\4;?[ \t]*$/gm;

/** `source` with each plain import of a Node built-in turned into a require(). */
export function builtinsToRequire(source) {
  return source.replace(IMPORT, (whole, ns, def, named, _q, spec) => {
    if (!isBuiltin(spec)) return whole;
    const id = JSON.stringify(spec.startsWith("node:") ? spec : `node:${spec}`);
    if (ns) return `const ${ns.replace(/^\*\s+as\s+/, "")} = __o365mtRequire(${id});`;
    if (def) return `const ${def} = __o365mtRequire(${id});`;
    const names = named
      .split(",")
      .map((n) => n.trim())
      .filter(Boolean)
      .map((n) => n.replace(/^([\w$]+)\s+as\s+([\w$]+)$/, "$1: $2"));
    return `const { ${names.join(", ")} } = __o365mtRequire(${id});`;
  });
}
