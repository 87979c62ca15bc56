// The stdout sink as a component: no options; NDJSON to the process's stdout (or the stream given).
import type { Writable } from "node:stream";
import type { SinkDescriptor } from "../descriptor.js";
import { StdoutSink } from "./stdout-sink.js";

export const stdoutSink: SinkDescriptor = {
  kind: "stdout",
  create: (ctx) => new StdoutSink((ctx.stdout ?? process.stdout) as Writable),
};
