#!/usr/bin/env node
// Builds test/fixtures/ocsf-<version>-email_activity.schema.json: a JSON Schema (draft 2020-12) for the OCSF
// Email Activity class, compiled from OCSF's own published definitions (a checkout of ocsf/ocsf-schema at a
// release tag). No maintained npm package ships OCSF schemas, so the fixture is generated and committed.
//
//   node scripts/ocsf-fixture.mjs /path/to/ocsf-schema [class_name]
//
// What is compiled: the class's attributes (its own, `extends` chain, `$include`d profiles), each typed from
// dictionary.json (base types, regexes of string subtypes, enums of *_id attributes, arrays), every object
// reachable from them as a $def (same rules, object `extends` chains and constraints `at_least_one` /
// `just_one`), `required` from requirement "required", and no properties beyond the schema's.
import fs from "node:fs";
import path from "node:path";

const root = process.argv[2];
const className = process.argv[3] ?? "email_activity";
if (!root) {
  process.stderr.write("usage: node scripts/ocsf-fixture.mjs /path/to/ocsf-schema [class_name]\n");
  process.exit(2);
}
const read = (p) => JSON.parse(fs.readFileSync(path.join(root, p), "utf8"));
const version = read("version.json").version;
const dict = read("dictionary.json");
const types = dict.types.attributes;
const categories = read("categories.json").attributes;

function walk(dir) {
  return fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".json") ? [path.join(dir, e.name)] : []));
}
const objects = new Map(walk("objects").map((p) => [read(p).name, read(p)]));
const events = new Map(walk("events").map((p) => [read(p).name, read(p)]));

/** Own attributes merged over the `extends` chain and `$include`d files (later wins, like the OCSF compiler). */
function attributesOf(def, table) {
  const parent = def.extends ? table.get(def.extends) : undefined;
  const base = parent ? attributesOf(parent, table) : {};
  const own = { ...def.attributes };
  const includes = own.$include ?? [];
  delete own.$include;
  for (const inc of includes) {
    const file = read(inc);
    // A profile's attributes belong to the class only when a record lists the profile in metadata.profiles.
    const profile = file.meta === "profile" ? file.name : undefined;
    for (const [k, v] of Object.entries(file.attributes ?? {})) base[k] = { ...base[k], ...v, ...(profile ? { profile } : {}) };
  }
  for (const [k, v] of Object.entries(own)) base[k] = { ...base[k], ...v };
  return base;
}

function constraintsOf(def, table) {
  if (def.constraints) return def.constraints;
  const parent = def.extends ? table.get(def.extends) : undefined;
  return parent ? constraintsOf(parent, table) : undefined;
}

const defs = {};

/** A base or derived scalar type → JSON Schema. */
function scalar(typeName) {
  const t = types[typeName];
  if (!t) throw new Error(`unknown OCSF type ${typeName}`);
  const parent = t.type;
  const s = parent ? scalar(parent) : {};
  if (!parent) {
    const base = { boolean_t: "boolean", float_t: "number", integer_t: "integer", long_t: "integer", string_t: "string" }[typeName];
    if (base) s.type = base;
  }
  if (t.regex) s.pattern = t.regex;
  if (t.max_len) s.maxLength = t.max_len;
  if (t.range) [s.minimum, s.maximum] = t.range;
  return s;
}

function attributeSchema(name, local) {
  const d = { ...dict.attributes[name], ...local };
  if (!dict.attributes[name]) throw new Error(`attribute ${name} is not in the dictionary`);
  let s;
  if (d.type === "object" || (d.type === "object_t" && d.object_type === "object")) {
    // The generic `object` (e.g. `unmapped`) holds whatever the source had that the class has no place for.
    s = { type: "object" };
  } else if (d.type === "object_t" || objects.has(d.type)) {
    const obj = d.type === "object_t" ? d.object_type : d.type;
    compileObject(obj);
    s = { $ref: `#/$defs/${obj}` };
  } else if (d.type === "json_t") {
    s = {};
  } else {
    s = scalar(d.type);
  }
  if (d.enum && name.endsWith("_id")) s = { ...s, enum: Object.keys(d.enum).map(Number) };
  return d.is_array ? { type: "array", items: s } : s;
}

function objectSchema(attrs, constraints) {
  const properties = {};
  const required = [];
  for (const [k, v] of Object.entries(attrs)) {
    properties[k] = attributeSchema(k, v);
    if (v.requirement === "required" && !v.profile) required.push(k);
  }
  const s = { type: "object", properties, additionalProperties: false };
  if (required.length) s.required = required.sort();
  const byProfile = {};
  for (const [k, v] of Object.entries(attrs)) if (v.requirement === "required" && v.profile) (byProfile[v.profile] ??= []).push(k);
  const conditions = Object.entries(byProfile)
    .sort()
    .map(([p, keys]) => ({
      if: {
        required: ["metadata"],
        properties: {
          metadata: { type: "object", required: ["profiles"], properties: { profiles: { type: "array", contains: { const: p } } } },
        },
      },
      then: { required: keys.sort() },
    }));
  if (conditions.length) s.allOf = conditions;
  // Constraints name attributes the object may not have (inherited from a base): only its own count.
  const own = (keys) => keys.filter((k) => k in properties).map((k) => ({ required: [k] }));
  if (constraints?.at_least_one && own(constraints.at_least_one).length) s.anyOf = own(constraints.at_least_one);
  if (constraints?.just_one && own(constraints.just_one).length) s.oneOf = own(constraints.just_one);
  return s;
}

function compileObject(name) {
  if (defs[name]) return;
  const def = objects.get(name);
  if (!def) throw new Error(`object ${name} not found`);
  defs[name] = {}; // placeholder: objects refer to each other recursively
  defs[name] = { title: def.caption, ...objectSchema(attributesOf(def, objects), constraintsOf(def, objects)) };
}

const cls = events.get(className);
if (!cls) throw new Error(`class ${className} not found`);
const category = categories[cls.category];
const classUid = category.uid * 1000 + cls.uid;
const attrs = attributesOf(cls, events);
const schema = objectSchema(attrs, constraintsOf(cls, events));
const activities = Object.keys(attrs.activity_id.enum).map(Number);
// The class pins its identity: class_uid, category_uid, and type_uid = class_uid * 100 + activity_id.
schema.properties.class_uid = { const: classUid };
schema.properties.category_uid = { const: category.uid };
schema.properties.type_uid = { enum: activities.map((a) => classUid * 100 + a) };

const out = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: `https://schema.ocsf.io/${version}/classes/${className}`,
  title: `OCSF ${version} ${cls.caption} (class_uid ${classUid}), compiled by scripts/ocsf-fixture.mjs from ocsf/ocsf-schema ${version}`,
  ...schema,
  $defs: Object.fromEntries(Object.entries(defs).sort(([a], [b]) => a.localeCompare(b))),
};
const file = path.join(
  path.dirname(new URL(import.meta.url).pathname),
  "..",
  "test",
  "fixtures",
  `ocsf-${version}-${className}.schema.json`,
);
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.writeFileSync(file, JSON.stringify(out, null, 1) + "\n");
process.stdout.write(`${file}: ${Object.keys(defs).length} objects, ${fs.statSync(file).size} bytes\n`);
