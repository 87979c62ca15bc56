// Issue 18: docs/profiles.md shows each profile's field table exactly as the code declares it, and the README's
// record section one valid record per profile.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { jsonSchema } from "../src/cli/schema-cmd.js";
import { PROFILE_NAMES, PROFILES, profileMarkdown } from "../src/schema/profiles/index.js";
import { applyTable } from "../src/schema/profiles/table.js";
import { ROOT } from "./helpers/harness.js";
import { ECS_FIXTURE, invalid, OCSF_FIXTURE, validator, validatorOf } from "./helpers/profile-schemas.js";

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

describe("README's record section", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Records"), readme.indexOf("## How collection works"));
  const blocks = [...section.matchAll(/```json\n(\{.*\})\n```/g)].map((m) => JSON.parse(m[1]!) as Record<string, unknown>);
  // The first o365 example, and the ECS and OCSF records made from it (other examples may come and go).
  const records = [blocks.find((b) => "o365.message.id" in b), blocks.find((b) => "@timestamp" in b), blocks.find((b) => "class_uid" in b)];
  // OCSF's metadata.loggers carries the collector's own version: compare without it, so a release does not
  // invalidate the README.
  const unversioned = (r: unknown) => {
    const c = structuredClone(r) as { metadata: { loggers?: Array<{ name: string }> } };
    expect(c.metadata.loggers?.[0]?.name).toBe("o365-message-trace");
    delete c.metadata.loggers;
    return c;
  };

  it("shows one record per profile: the o365 example and what the ecs and ocsf tables make of it", () => {
    expect(records.every(Boolean), "README's record section lacks the o365, ecs or ocsf example").toBe(true);
    const [o365, ecs, ocsf] = records;
    expect(Object.keys(o365!).every((k) => k.startsWith("o365.message."))).toBe(true);
    expect(ecs).toEqual(applyTable(PROFILES.ecs.fields, { kind: "message", o: o365! }));
    expect(unversioned(ocsf)).toEqual(unversioned(applyTable(PROFILES.ocsf.fields, { kind: "message", o: o365! })));
  });

  it("each of them validates against its profile's schema", () => {
    const [o365, ecs, ocsf] = records;
    expect(invalid(validatorOf(jsonSchema()), [o365])).toEqual([]);
    expect(invalid(validator(ECS_FIXTURE), [ecs])).toEqual([]);
    expect(invalid(validator(OCSF_FIXTURE), [ocsf])).toEqual([]);
  });
});
