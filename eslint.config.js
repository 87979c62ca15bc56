// Lint: @eslint/js and typescript-eslint recommended rules over the sources, tests and scripts, plus a line
// length limit (140, as the Prettier config's printWidth) for code; long message strings stay whole so they
// can be found with grep. `npm run lint`; CI runs it before the tests.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const NODE_GLOBALS = [
  "process",
  "console",
  "Buffer",
  "URL",
  "URLSearchParams",
  "setTimeout",
  "clearTimeout",
  "setImmediate",
  "setInterval",
  "clearInterval",
  "performance",
  "fetch",
  "AbortController",
  "AbortSignal",
  "TextDecoder",
  "TextEncoder",
  "structuredClone",
  "queueMicrotask",
  "NodeJS",
];

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "test-results.json"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: "module",
      globals: Object.fromEntries(NODE_GLOBALS.map((g) => [g, "readonly"])),
    },
    rules: {
      "max-len": ["error", { code: 140, ignoreUrls: true, ignoreRegExpLiterals: true, ignoreStrings: true, ignoreTemplateLiterals: true }],
      // `_`-prefixed parameters and variables are deliberately unused (interface conformance, destructuring).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // Config schemas use zod/mini: one import of zod's classic API puts all of it back into the bundle that an
    // idle `once` loads (issue 19: 2.4 MB of peak RSS and 0.04 s of CPU at every start).
    files: ["src/**", "test/fake-source/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [{ name: "zod", message: 'use "zod/mini" (a classic zod import costs every `once` its memory, issue 19)' }] },
      ],
    },
  },
  {
    // Tests read arbitrary JSON (simulator answers, records) and poke at internals.
    files: ["test/**"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
