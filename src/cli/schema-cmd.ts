// `schema`: the o365.message.* field table, or a JSON Schema with --json; `--profile ecs|ocsf` prints that
// profile's table (the same table the mapper applies and docs/profiles.md shows).
import { CollectorError } from "../errors.js";
import { FIELDS, PREFIX, STATUSES } from "../schema/fields.js";
import { PROFILE_NAMES, PROFILES, profileText, type ProfileName } from "../schema/profiles/index.js";
import { defineCommand } from "./command.js";
import { EXIT_OK } from "./common.js";

export function jsonSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const t =
      f.type === "integer"
        ? { type: "integer" }
        : f.type === "time"
          ? { type: "string", format: "date-time" }
          : f.type === "string|string[]"
            ? { oneOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] }
            : { type: "string" };
    properties[PREFIX + f.name] = {
      ...t,
      description: [f.notes, f.graph && `Graph: ${f.graph}`, f.rws && `RWS: ${f.rws}`].filter(Boolean).join("; "),
    };
  }
  (properties[PREFIX + "status"] as Record<string, unknown>).examples = STATUSES;
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "o365.message.* record (flat key style)",
    type: "object",
    properties,
    required: [PREFIX + "received", PREFIX + "tenant_id", PREFIX + "source"],
    additionalProperties: false,
  };
}

export const command = defineCommand({
  name: "schema",
  help: `Usage: o365-message-trace schema [--profile ${PROFILE_NAMES.join("|")}] [--json]

Prints the o365.message.* field table, or its JSON Schema with --json.
  --profile P   the field table of output profile P (schema.profile): field, type, where the value comes from
  --json        as JSON (o365: a JSON Schema; ecs, ocsf: the table)`,
  options: { json: { type: "boolean" }, profile: { type: "string" } },
  run: async (values) => {
    const profile = values.profile ?? "o365";
    if (!(PROFILE_NAMES as string[]).includes(profile)) {
      throw new CollectorError("config", `--profile ${profile} is not an output profile`, {
        hint: `use one of: ${PROFILE_NAMES.join(", ")}`,
      });
    }
    return profile === "o365" ? printSchema(!!values.json) : printProfile(PROFILES[profile as ProfileName], !!values.json);
  },
});

function printProfile(p: (typeof PROFILES)[ProfileName], json: boolean): number {
  const fields = p.fields.map(({ field, type, from }) => ({ field, type, from }));
  const table = { profile: p.name, title: p.title, schema_version: p.schemaVersion, fields, notes: p.notes };
  process.stdout.write(json ? JSON.stringify(table, null, 2) + "\n" : profileText(p));
  return EXIT_OK;
}

function printSchema(json: boolean): number {
  if (json) {
    process.stdout.write(JSON.stringify(jsonSchema(), null, 2) + "\n");
    return EXIT_OK;
  }
  const rows = FIELDS.map((f) => [PREFIX + f.name, f.type, f.graph, f.rws, f.notes]);
  const head = ["field", "type", "Graph", "Reporting Web Service", "notes"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  process.stdout.write([line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n") + "\n");
  return EXIT_OK;
}
