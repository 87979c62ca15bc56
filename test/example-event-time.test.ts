// Issue 13.4: every shipper example stamps records with their own time (o365.message.received), not arrival time.
// Each Fluent Bit / Fluentd / Vector config under examples/ is parsed and each of its inputs checked: exec and http
// inputs need a parser (or filter, or remap) that takes o365.message.received as event time with a format that
// reads our timestamps; forward inputs get the time in the protocol (the sink sets it from the record:
// sink-forward.test.ts). Exec examples run the one documented binary path.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/harness.js";
import {
  parseFluentBitClassic,
  parseFluentBitYaml,
  parseFluentd,
  parseToml,
  type FbSection,
  type FluentdDirective,
  type TomlTable,
} from "./helpers/shipper-configs.js";

const EXAMPLES = join(ROOT, "examples");
const FIELD = "o365.message.received";
const BINARY = "/usr/local/bin/o365-message-trace";
/** What our records carry in o365.message.received (ISO 8601 UTC, milliseconds). */
const SAMPLE = new Date(Date.UTC(2026, 10, 20, 6, 0, 1, 123)).toISOString();

type Kind = "fluent-bit" | "fluentd" | "vector";

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}

function kindOf(file: string): Kind | undefined {
  const name = basename(file);
  const folder = basename(dirname(file));
  if (/^parsers.*\.conf$/.test(name)) return undefined; // read through the config that names it
  if (name.endsWith(".toml")) return "vector";
  if (name.startsWith("fluent-bit") || folder === "fluent-bit") return "fluent-bit";
  if (name.startsWith("fluentd") || folder === "fluentd") return "fluentd";
  return undefined;
}

/** strptime (Fluent Bit / Ruby) format → does it read SAMPLE? Only the conversions our examples use. */
function readsSample(format: string): boolean {
  const parts: Record<string, string> = {
    Y: "\\d{4}",
    m: "\\d{2}",
    d: "\\d{2}",
    H: "\\d{2}",
    M: "\\d{2}",
    S: "\\d{2}",
    L: "\\d+",
    z: "(?:Z|[+-]\\d{2}:?\\d{2})",
  };
  const re = format.replace(/%(.)|([^%]+)/g, (_, c: string | undefined, lit: string | undefined) => {
    if (lit !== undefined) return lit.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const p = parts[c!];
    if (!p) throw new Error(`format conversion %${c} not handled by this test`);
    return p;
  });
  return new RegExp(`^${re}$`).test(SAMPLE);
}

const on = (v: string | undefined) => /^(on|true|yes)$/i.test(v ?? "");
const globMatch = (pattern: string, tag: string) =>
  new RegExp(
    `^${pattern
      .split("*")
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  ).test(tag);

function fluentBitProblems(file: string, text = readFileSync(file, "utf8")): string[] {
  const sections: FbSection[] = file.endsWith(".yaml") ? parseFluentBitYaml(text) : parseFluentBitClassic(text);
  const parsersFile = sections.find((s) => s.name === "SERVICE")?.props.parsers_file;
  const parserSections = [
    ...sections,
    ...(parsersFile ? parseFluentBitClassic(readFileSync(join(dirname(file), parsersFile), "utf8")) : []),
  ].filter((s) => s.name === "PARSER");
  const parser = (name: string | undefined) => parserSections.find((p) => p.props.name === name)?.props;
  const timeParser = (p: Record<string, string> | undefined, key: string) =>
    !!p && p.time_key === key && !!p.time_format && readsSample(p.time_format);
  const problems: string[] = [];
  for (const input of sections.filter((s) => s.name === "INPUT")) {
    const type = input.props.name?.toLowerCase();
    const tag = input.props.tag ?? "o365.message_trace"; // http: the URI path of sink.http.url
    if (type === "forward") continue;
    if (type === "exec") {
      if (!timeParser(parser(input.props.parser), FIELD))
        problems.push(`exec input: parser ${input.props.parser} must set Time_Key ${FIELD} with a Time_Format that reads ${SAMPLE}`);
      if (!input.props.command?.startsWith(BINARY + " ")) problems.push(`exec input: command must run ${BINARY}`);
      continue;
    }
    if (type === "http") {
      const ok = sections.some((f) => {
        const p = f.props;
        if (f.name !== "FILTER" || p.name !== "parser" || !globMatch(p.match ?? "", tag) || p.key_name !== FIELD) return false;
        const pp = parser(p.parser);
        return !!pp && timeParser(pp, pp.time_key ?? "") && on(p.reserve_data) && on(p.preserve_key);
      });
      if (!ok) problems.push(`http input: needs a parser filter on ${FIELD} (Reserve_Data/Preserve_Key On) whose parser sets the time`);
      continue;
    }
    problems.push(`input ${type}: this test does not know how it sets the event time`);
  }
  return problems;
}

function fluentdProblems(file: string): string[] {
  const problems: string[] = [];
  for (const src of parseFluentd(readFileSync(file, "utf8")).filter((d) => d.name === "source")) {
    const type = src.props["@type"];
    if (type === "forward") continue;
    const parse = src.children.find((c: FluentdDirective) => c.name === "parse");
    const p = parse?.props ?? {};
    const formatOk = p.time_format === undefined || readsSample(p.time_format);
    if (p["@type"] !== "json" || p.time_key !== FIELD || p.keep_time_key !== "true" || !formatOk) {
      problems.push(
        `${type} source: <parse> @type json with time_key ${FIELD}, keep_time_key true${p.time_format ? ` and a time_format that reads ${SAMPLE}` : ""}`,
      );
    }
    if (type === "exec" && !src.props.command?.startsWith(BINARY + " ")) problems.push(`exec source: command must run ${BINARY}`);
  }
  return problems;
}

function vectorProblems(file: string): string[] {
  const doc = parseToml(readFileSync(file, "utf8"));
  const sources = (doc.sources ?? {}) as Record<string, TomlTable>;
  const transforms = (doc.transforms ?? {}) as Record<string, TomlTable>;
  const sinks = (doc.sinks ?? {}) as Record<string, TomlTable>;
  const problems: string[] = [];
  const setsTime = new RegExp(
    `^\\s*\\.timestamp\\s*=\\s*parse_timestamp!?\\(\\s*(string!\\()?\\s*\\."${FIELD.replace(/\./g, "\\.")}"`,
    "m",
  );
  for (const [id, s] of Object.entries(sources)) {
    if (s.type === "fluent") continue;
    const stamping = Object.entries(transforms).filter(
      ([, t]) => t.type === "remap" && (t.inputs as string[]).includes(id) && setsTime.test(String(t.source)),
    );
    if (stamping.length === 0) problems.push(`source ${id}: no remap sets .timestamp from ."${FIELD}"`);
    for (const [sid, sink] of Object.entries(sinks))
      if ((sink.inputs as string[]).includes(id)) problems.push(`sink ${sid} takes source ${id} before its time is set`);
    if (s.type === "exec" && (s.command as string[])[0] !== BINARY) problems.push(`exec source: command must run ${BINARY}`);
  }
  return problems;
}

const check: Record<Kind, (file: string) => string[]> = {
  "fluent-bit": fluentBitProblems,
  fluentd: fluentdProblems,
  vector: vectorProblems,
};
const shipperFiles = walk(EXAMPLES)
  .map((f) => ({ file: f, kind: kindOf(f) }))
  .filter((x): x is { file: string; kind: Kind } => x.kind !== undefined);

describe("shipper examples set the event time from the record", () => {
  it("covers the Fluent Bit, Fluentd and Vector examples of every delivery path", () => {
    const names = shipperFiles.map((x) => relative(EXAMPLES, x.file));
    expect(names).toEqual(
      expect.arrayContaining([
        "fluent-bit/exec.conf",
        "fluent-bit/exec.yaml",
        "fluentd/exec.conf",
        "vector/exec.toml",
        "forward/fluent-bit.conf",
        "forward/fluentd.conf",
        "forward/vector.toml",
        "http/fluent-bit.conf",
        "http/fluentd.conf",
        "http/vector.toml",
      ]),
    );
  });

  for (const { file, kind } of shipperFiles) {
    it(`${relative(EXAMPLES, file)} (${kind})`, () => {
      expect(check[kind](file)).toEqual([]);
    });
  }

  it("the checker itself: a Fluent Bit http input without the filter, or a format that misreads, is reported", () => {
    const file = join(EXAMPLES, "http", "fluent-bit.conf");
    const withoutFilter = readFileSync(file, "utf8").replace(/\[FILTER\][\s\S]*?(?=\[OUTPUT\])/, "");
    expect(fluentBitProblems(file, withoutFilter)).toEqual([expect.stringMatching(/^http input: needs a parser filter/)]);
    expect(readsSample("%Y-%m-%dT%H:%M:%S.%LZ")).toBe(true);
    expect(readsSample("%Y-%m-%d %H:%M:%S")).toBe(false);
  });
});
