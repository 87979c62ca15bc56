// Issue 18: docs/profiles.md shows each profile's field table exactly as the code declares it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROFILE_NAMES, PROFILES, profileMarkdown } from "../src/schema/profiles/index.js";
import { ROOT } from "./helpers/harness.js";

describe("docs/profiles.md", () => {
  const doc = readFileSync(join(ROOT, "docs/profiles.md"), "utf8");
  for (const name of PROFILE_NAMES) {
    it(`the ${name} table is the one the code maps with (regenerate: node scripts/profiles-doc.mjs)`, () => {
      const m = new RegExp(`<!-- profile:${name} -->\\n([\\s\\S]*?)\\n<!-- /profile:${name} -->`).exec(doc);
      expect(m, `docs/profiles.md lacks the ${name} section`).not.toBeNull();
      expect(m![1]).toBe(profileMarkdown(PROFILES[name]));
      for (const f of PROFILES[name].fields) expect(m![1]).toContain(`\`${f.field}\``);
    });
  }
});
