// `schema`: the o365.message.* field table, or a JSON Schema with --json.
import { FIELDS, PREFIX, STATUSES } from "../schema/fields.js";
import { defineCommand } from "./command.js";
import { EXIT_OK } from "./common.js";

export function jsonSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const t =
      f.type === "integer" ? { type: "integer" }
      : f.type === "time" ? { type: "string", format: "date-time" }
      : f.type === "string|string[]" ? { oneOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] }
      : { type: "string" };
    properties[PREFIX + f.name] = { ...t, description: [f.notes, f.graph && `Graph: ${f.graph}`, f.rws && `RWS: ${f.rws}`].filter(Boolean).join("; ") };
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
  help: "Usage: o365-message-trace schema [--json]\n\nPrints the o365.message.* field table, or its JSON Schema with --json.",
  options: { json: { type: "boolean" } },
  run: async (values) => printSchema(!!values.json),
});

function printSchema(json: boolean): number {
  if (json) {
    process.stdout.write(JSON.stringify(jsonSchema(), null, 2) + "\n");
    return EXIT_OK;
  }
  const rows = FIELDS.map((f) => [PREFIX + f.name, f.type, f.graph, f.rws, f.notes]);
  const head = ["field", "type", "Graph", "Reporting Web Service", "notes"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  process.stdout.write([line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n") + "\n");
  return EXIT_OK;
}
