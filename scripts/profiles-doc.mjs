#!/usr/bin/env node
// Rewrites the field tables in docs/profiles.md from the profile tables themselves (src/schema/profiles), so
// the docs say exactly what the code does. test/profiles-docs.test.ts fails when they drift.
//
//   npm run build && node scripts/profiles-doc.mjs
import fs from "node:fs";
import path from "node:path";
import { PROFILES, profileMarkdown } from "../dist/schema/profiles/index.js";

const file = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "docs", "profiles.md");
let text = fs.readFileSync(file, "utf8");
for (const [name, profile] of Object.entries(PROFILES)) {
  const re = new RegExp(`(<!-- profile:${name} -->\\n)[\\s\\S]*?(<!-- \\/profile:${name} -->)`);
  if (!re.test(text)) throw new Error(`docs/profiles.md has no <!-- profile:${name} --> section`);
  text = text.replace(re, (_m, open, close) => `${open}${profileMarkdown(profile)}\n${close}`);
}
fs.writeFileSync(file, text);
process.stdout.write(`${file}: ${Object.keys(PROFILES).length} tables written\n`);
