// Just enough of each shipper's configuration syntax to read our examples: Fluent Bit classic (sections of
// "Key Value"), Fluent Bit YAML (via `yaml`), Fluentd (<directive> blocks of "key value") and Vector TOML (tables,
// dotted keys, strings incl. ''' blocks, numbers, booleans, arrays of strings). Not general parsers: they throw on
// anything else, so an example using more syntax shows up here instead of being skipped silently.
import { parse as parseYaml } from "yaml";

/** Fluent Bit classic: [SECTION] blocks; keys lower-cased (Fluent Bit matches them case-insensitively). */
export interface FbSection {
  name: string;
  props: Record<string, string>;
}

export function parseFluentBitClassic(text: string): FbSection[] {
  const out: FbSection[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const section = /^\[([A-Za-z_]+)\]$/.exec(line);
    if (section) {
      out.push({ name: section[1]!.toUpperCase(), props: {} });
      continue;
    }
    const kv = /^(\S+)\s+(.*)$/.exec(line);
    if (!kv || out.length === 0) throw new Error(`cannot read Fluent Bit line: ${raw}`);
    out[out.length - 1]!.props[kv[1]!.toLowerCase()] = kv[2]!.trim();
  }
  return out;
}

/** Fluent Bit YAML: the same shape as classic (inputs/filters/parsers as sections), keys lower-cased. */
export function parseFluentBitYaml(text: string): FbSection[] {
  type Doc = { pipeline?: { inputs?: object[]; filters?: object[]; outputs?: object[] }; parsers?: object[]; service?: object };
  const doc = parseYaml(text) as Doc;
  const lower = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.toLowerCase(), String(v)]));
  const section = (name: string) => (o: object) => ({ name, props: lower(o) });
  return [
    ...(doc.service ? [section("SERVICE")(doc.service)] : []),
    ...(doc.pipeline?.inputs ?? []).map(section("INPUT")),
    ...(doc.pipeline?.filters ?? []).map(section("FILTER")),
    ...(doc.pipeline?.outputs ?? []).map(section("OUTPUT")),
    ...(doc.parsers ?? []).map(section("PARSER")),
  ];
}

/** Fluentd: nested directives. `<source>` → { name: "source", arg: "", props, children }. */
export interface FluentdDirective {
  name: string;
  arg: string;
  props: Record<string, string>;
  children: FluentdDirective[];
}

export function parseFluentd(text: string): FluentdDirective[] {
  const root: FluentdDirective = { name: "", arg: "", props: {}, children: [] };
  const stack = [root];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const close = /^<\/(\w+)>$/.exec(line);
    if (close) {
      if (stack.length < 2 || stack[stack.length - 1]!.name !== close[1]) throw new Error(`unbalanced ${line}`);
      stack.pop();
      continue;
    }
    const open = /^<(\w+)\s*([^>]*)>$/.exec(line);
    if (open) {
      const d: FluentdDirective = { name: open[1]!, arg: open[2]!.trim(), props: {}, children: [] };
      stack[stack.length - 1]!.children.push(d);
      stack.push(d);
      continue;
    }
    const kv = /^(@?\w+)\s+(.*)$/.exec(line);
    if (!kv) throw new Error(`cannot read Fluentd line: ${raw}`);
    stack[stack.length - 1]!.props[kv[1]!] = kv[2]!.trim();
  }
  if (stack.length !== 1) throw new Error("unclosed Fluentd directive");
  return root.children;
}

type TomlValue = string | number | boolean | string[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

/** The subset of TOML our Vector examples use. */
export function parseToml(text: string): TomlTable {
  const root: TomlTable = {};
  let table = root;
  const lines = text.split("\n");
  const at = (base: TomlTable, path: string[]): TomlTable => {
    let t = base;
    for (const k of path) t = (t[k] ??= {}) as TomlTable;
    return t;
  };
  const keyPath = (k: string) => k.split(".").map((p) => p.trim().replace(/^"(.*)"$/, "$1"));
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line || line.startsWith("#")) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      table = at(root, keyPath(header[1]!));
      continue;
    }
    const kv = /^([\w."-]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) throw new Error(`cannot read TOML line: ${line}`);
    const path = keyPath(kv[1]!);
    let rest = kv[2]!.trim();
    let value: TomlValue;
    if (rest.startsWith("'''")) {
      const body: string[] = [];
      rest = rest.slice(3);
      while (!rest.includes("'''")) {
        body.push(rest);
        rest =
          lines[++i] ??
          (() => {
            throw new Error("unterminated '''");
          })();
      }
      body.push(rest.slice(0, rest.indexOf("'''")));
      value = body.join("\n").replace(/^\n/, "");
    } else if (/^"([^"\\]|\\.)*"$/.test(rest)) value = JSON.parse(rest) as string;
    else if (/^'[^']*'$/.test(rest)) value = rest.slice(1, -1);
    else if (rest === "true" || rest === "false") value = rest === "true";
    else if (/^-?[\d_]+(\.\d+)?$/.test(rest)) value = Number(rest.replace(/_/g, ""));
    else if (rest.startsWith("[")) value = JSON.parse(rest) as string[];
    else throw new Error(`cannot read TOML value: ${line}`);
    at(table, path.slice(0, -1))[path[path.length - 1]!] = value;
  }
  return root;
}
