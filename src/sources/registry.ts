// Every source this build offers, one line each. Adding a source: its folder, then one line here.
import { CollectorError } from "../errors.js";
import type { AnySourceDescriptor, SourceOptions } from "./descriptor.js";
import { graphSource } from "./graph/index.js";
import { rwsSource } from "./rws/index.js";

const SOURCES: AnySourceDescriptor[] = [
  graphSource, // default (first)
  rwsSource,
];

/** Add a source at run time (tests, embedders). Registered before the config is loaded. */
export function registerSource(d: AnySourceDescriptor): void {
  const i = SOURCES.findIndex((s) => s.kind === d.kind);
  if (i >= 0) SOURCES[i] = d;
  else SOURCES.push(d);
}

export function sourceDescriptors(): readonly AnySourceDescriptor[] {
  return SOURCES;
}

/** The descriptor for a config's `source:` section (or a kind). */
export function sourceDescriptor(source: SourceOptions | string): AnySourceDescriptor {
  const kind = typeof source === "string" ? source : source.type;
  const d = SOURCES.find((s) => s.kind === kind);
  if (!d) {
    throw new CollectorError("config", `source ${kind} is not available in this build`, {
      hint: `use one of: ${SOURCES.map((s) => s.kind).join(", ")}`,
    });
  }
  return d;
}
