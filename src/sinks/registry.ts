// Every sink this build offers, one line each. Adding a sink: its folder, then one line here.
import { Registry } from "../registry.js";
import type { AnySinkDescriptor } from "./descriptor.js";
import { forwardSink } from "./forward/index.js";
import { httpSink } from "./http/index.js";
import { stdoutSink } from "./stdout/index.js";

const SINKS = new Registry<AnySinkDescriptor>("sink.type", [
  stdoutSink, // default (first)
  forwardSink,
  httpSink,
]);

/** Add a sink at run time (tests, embedders), before the config is loaded. */
export const registerSink = (d: AnySinkDescriptor): void => SINKS.register(d);
export const sinkDescriptors = (): readonly AnySinkDescriptor[] => SINKS.all();
export const sinkDescriptor = (kind: string): AnySinkDescriptor => SINKS.get(kind);
