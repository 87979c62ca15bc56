// An output profile is a table: one row per output field, saying where its value comes from and its type in
// the target schema. The same table drives the mapping, `schema --profile P` and docs/profiles.md, so the
// three can never disagree.
import { PREFIX } from "../fields.js";

/** What a record describes: one recipient of a message, a message grouped over its recipients, or a detail event. */
export type RecordKind = "message" | "group" | "detail";

/** The input of every profile: the normalised `o365.message.*` values (flat keys) plus what came with them. */
export interface SourceView {
  kind: RecordKind;
  /** The o365 profile's flat record: lower-cased addresses, ISO times, canonical status, derived direction. */
  o: Record<string, unknown>;
  /** The API item(s) as received, as JSON text, when `preserve_original` is on. */
  original?: string;
}

export interface ProfileField {
  /** Output path, dot-separated (`email.from.address`). */
  field: string;
  /** The type as the target schema names it (ECS `keyword`, OCSF `email_t`, …). */
  type: string;
  /** Where the value comes from, for people: an `o365.message.*` field, a constant, or a rule. */
  from: string;
  /** The value for one record; undefined, null, "" and [] leave the field out. */
  value: (v: SourceView) => unknown;
}

export interface Profile {
  name: "o365" | "ecs" | "ocsf";
  title: string;
  /** The version of the target schema the table was checked against. */
  schemaVersion: string;
  /** How grouped records and detail events map (docs and `schema --profile`). */
  notes: string[];
  fields: ProfileField[];
}

// Keys built once: `PREFIX + name` per field per record would be a fresh string to hash every time.
const KEYS = new Map<string, string>();

/** The value of `o365.message.<name>` in a view. */
export function o(v: SourceView, name: string): unknown {
  let key = KEYS.get(name);
  if (key === undefined) KEYS.set(name, (key = PREFIX + name));
  return v.o[key];
}

export function str(v: SourceView, name: string): string | undefined {
  const x = o(v, name);
  return typeof x === "string" && x !== "" ? x : undefined;
}

/** Recipient(s) as a list: a grouped record carries an array, the others one address. */
export function recipients(v: SourceView): string[] {
  const r = o(v, "recipient");
  return Array.isArray(r) ? (r as string[]) : typeof r === "string" && r !== "" ? [r] : [];
}

export function domainOf(address: string | undefined): string | undefined {
  const at = address?.lastIndexOf("@") ?? -1;
  return at > 0 && at < address!.length - 1 ? address!.slice(at + 1) : undefined;
}

export function localPartOf(address: string | undefined): string | undefined {
  const at = address?.lastIndexOf("@") ?? -1;
  return at > 0 ? address!.slice(0, at) : undefined;
}

/** Distinct, non-empty values in first-seen order, or undefined when none are left. */
export function distinct(values: Array<string | undefined>): string[] | undefined {
  const out = [...new Set(values.filter((x): x is string => !!x))];
  return out.length > 0 ? out : undefined;
}

const absent = (x: unknown): boolean => x === undefined || x === null || x === "" || (Array.isArray(x) && x.length === 0);

/** A table ready to apply: each path split once (`@timestamp` stays one key: only dots split). */
export type CompiledTable = Array<{ parts: string[]; value: ProfileField["value"] }>;

const compiled = new WeakMap<ProfileField[], CompiledTable>();

function compile(fields: ProfileField[]): CompiledTable {
  let c = compiled.get(fields);
  if (!c) compiled.set(fields, (c = fields.map((f) => ({ parts: f.field.split("."), value: f.value }))));
  return c;
}

/** Apply a table to one view: a nested object, fields in table order, absent values left out. */
export function applyTable(fields: ProfileField[], v: SourceView): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { parts, value: get } of compile(fields)) {
    const value = get(v);
    if (absent(value)) continue;
    let cur = out;
    for (let i = 0; i < parts.length - 1; i++) cur = (cur[parts[i]!] ??= {}) as Record<string, unknown>;
    cur[parts[parts.length - 1]!] = value;
  }
  return out;
}
