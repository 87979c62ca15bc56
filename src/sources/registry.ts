// Every source this build offers, one line each. Adding a source: its folder, then one line here.
import { Registry } from "../registry.js";
import type { AnySourceDescriptor, SourceOptions } from "./descriptor.js";
import { graphSource } from "./graph/index.js";
import { rwsSource } from "./rws/index.js";

const SOURCES = new Registry<AnySourceDescriptor>("source", [
  graphSource, // default (first)
  rwsSource,
]);

/** Add a source at run time (tests, embedders), before the config is loaded. */
export const registerSource = (d: AnySourceDescriptor): void => SOURCES.register(d);
export const sourceDescriptors = (): readonly AnySourceDescriptor[] => SOURCES.all();
/** The descriptor for a config's `source:` section (or a kind). */
export const sourceDescriptor = (source: SourceOptions | string): AnySourceDescriptor =>
  SOURCES.get(typeof source === "string" ? source : source.type);
