// JSON Schema validators for the ECS and OCSF profiles, from the fixtures built out of the published
// definitions (scripts/ecs-fixture.mjs, scripts/ocsf-fixture.mjs).
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { ROOT } from "./harness.js";

export const ECS_FIXTURE = join(ROOT, "test/fixtures/ecs-9.4.0-o365-profile.schema.json");
export const OCSF_FIXTURE = join(ROOT, "test/fixtures/ocsf-1.8.0-email_activity.schema.json");

// RFC 3339 date-time (what Elasticsearch's default date format and OCSF's datetime_t accept).
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

function ajv(): Ajv2020 {
  // strictRequired off: OCSF's at_least_one constraints name properties in sibling subschemas.
  const a = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  a.addFormat("date-time", (s: string) => DATE_TIME.test(s) && Number.isFinite(Date.parse(s)));
  a.addFormat("ip", (s: string) => isIP(s) !== 0);
  // Annotations the ECS fixture carries for the table check.
  a.addKeyword("x-ecs-version").addKeyword("x-ecs-fields").addKeyword("x-ecs-types");
  return a;
}

export function loadJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
}

export function validator(file: string): ValidateFunction {
  return ajv().compile(loadJson(file));
}

export function validatorOf(schema: Record<string, unknown>): ValidateFunction {
  return ajv().compile(schema);
}

/** Every record valid, or the first few errors, readable in a failed expect. */
export function invalid(validate: ValidateFunction, records: unknown[]): string[] {
  const out: string[] = [];
  for (const r of records) {
    if (validate(r)) continue;
    out.push(`${JSON.stringify(r).slice(0, 300)} → ${validate.errors!.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ")}`);
    if (out.length >= 3) break;
  }
  return out;
}
