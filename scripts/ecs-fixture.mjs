#!/usr/bin/env node
// Builds test/fixtures/ecs-<version>-o365-profile.schema.json: a JSON Schema (draft 2020-12) for the records of
// `schema.profile: ecs`, made from the ECS field definitions themselves (elastic/ecs generated/ecs/ecs_flat.yml
// at a release tag) for every ECS field our table uses. The custom field set (o365.message.*) is an open object.
//
//   npm run build && node scripts/ecs-fixture.mjs /path/to/ecs_flat.yml VERSION
//
// ECS type → JSON: keyword/wildcard/match_only_text/text → string; long/integer → integer; date → string with
// format "date-time"; ip → string with format "ip" (the test registers it with node:net isIP); `normalize: array`
// → an array of them; allowed_values → enum. Every object is closed (additionalProperties: false), so a field
// name that ECS does not define fails validation.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { ECS_CUSTOM, ecsProfile } from "../dist/schema/profiles/ecs.js";

const [file, version] = process.argv.slice(2);
if (!file || !version) {
  process.stderr.write("usage: node scripts/ecs-fixture.mjs /path/to/ecs_flat.yml VERSION\n");
  process.exit(2);
}
const flat = YAML.parse(fs.readFileSync(file, "utf8"));

function leaf(def) {
  const t = def.type;
  let s;
  if (["keyword", "wildcard", "match_only_text", "text", "constant_keyword"].includes(t)) s = { type: "string" };
  else if (["long", "integer", "short", "byte"].includes(t)) s = { type: "integer" };
  else if (["float", "double", "scaled_float"].includes(t)) s = { type: "number" };
  else if (t === "boolean") s = { type: "boolean" };
  else if (t === "date") s = { type: "string", format: "date-time" };
  else if (t === "ip") s = { type: "string", format: "ip" };
  else throw new Error(`ECS type ${t} of ${def.flat_name} has no mapping here`);
  if (def.allowed_values) s.enum = def.allowed_values.map((a) => a.name);
  s.description = `ECS ${def.flat_name}: ${def.type}${def.normalize?.includes("array") ? " (array)" : ""}`;
  return def.normalize?.includes("array") ? { type: "array", items: s, description: s.description } : s;
}

const root = { type: "object", properties: {}, additionalProperties: false };
const used = [];
const types = {};
for (const f of ecsProfile.fields) {
  if (f.field === ECS_CUSTOM || f.field.startsWith(ECS_CUSTOM + ".")) continue;
  const def = flat[f.field];
  if (!def) throw new Error(`${f.field} is not an ECS ${version} field`);
  used.push(f.field);
  types[f.field] = def.type + (def.normalize?.includes("array") ? "[]" : "");
  const parts = f.field.split(".");
  let cur = root;
  for (const p of parts.slice(0, -1)) {
    cur.properties[p] ??= { type: "object", properties: {}, additionalProperties: false };
    cur = cur.properties[p];
  }
  cur.properties[parts[parts.length - 1]] = leaf(def);
}
// Our custom field set: open, documented in docs/profiles.md, not part of ECS.
const [top, ...rest] = ECS_CUSTOM.split(".");
root.properties[top] = rest.reduceRight((inner, p) => ({ type: "object", properties: { [p]: inner } }), { type: "object" });
root.required = ["@timestamp", "ecs", "event"];

const out = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: `ECS ${version} fields used by schema.profile ecs, from elastic/ecs generated/ecs/ecs_flat.yml (scripts/ecs-fixture.mjs)`,
  "x-ecs-version": version,
  "x-ecs-fields": used,
  // The ECS type of each field ("[]": ECS normalises it to an array); the test checks the table says the same.
  "x-ecs-types": types,
  ...root,
};
const target = path.join(
  path.dirname(new URL(import.meta.url).pathname),
  "..",
  "test",
  "fixtures",
  `ecs-${version}-o365-profile.schema.json`,
);
fs.writeFileSync(target, JSON.stringify(out, null, 1) + "\n");
process.stdout.write(`${target}: ${used.length} ECS fields\n`);
