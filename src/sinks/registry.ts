// Every sink this build offers, one line each. Adding a sink: its folder, then one line here.
import { CollectorError } from "../errors.js";
import type { AnySinkDescriptor } from "./descriptor.js";
import { forwardSink } from "./forward/index.js";
import { httpSink } from "./http/index.js";
import { stdoutSink } from "./stdout/index.js";

const SINKS: AnySinkDescriptor[] = [
  stdoutSink, // default (first)
  forwardSink,
  httpSink,
];

/** Add a sink at run time (tests, embedders). Registered before the config is loaded. */
export function registerSink(d: AnySinkDescriptor): void {
  const i = SINKS.findIndex((s) => s.kind === d.kind);
  if (i >= 0) SINKS[i] = d;
  else SINKS.push(d);
}

export function sinkDescriptors(): readonly AnySinkDescriptor[] {
  return SINKS;
}

export function sinkDescriptor(kind: string): AnySinkDescriptor {
  const d = SINKS.find((s) => s.kind === kind);
  if (!d) throw new CollectorError("config", `sink ${kind} is not available in this build`, { hint: `use sink.type: ${SINKS.map((s) => s.kind).join(", ")}` });
  return d;
}
