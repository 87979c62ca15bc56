// What a sink tells the rest of the program about itself: its `sink.<kind>` options schema (beside its
// code), which of those options are paths or secrets, and how to build it. A new sink is one folder plus one
// line in ./registry.ts.
import type { z } from "zod/mini";
import type { Logger } from "../log/logger.js";
import type { RetryPolicy } from "../net/retry.js";
import type { PipelineMetrics } from "../pipeline/metrics.js";
import type { Sink } from "../types.js";

export interface SinkContext<O = unknown> {
  /** The validated `sink.<kind>` section; undefined when the config has none. */
  options: O | undefined;
  logger: Logger;
  stdout?: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  metrics: PipelineMetrics;
  /** The configured retry policy (retry.*), for sinks that retry deliveries. */
  retry: RetryPolicy;
}

export interface SinkDescriptor<O = unknown> {
  /** `sink.type` in the config; also the key of the sink's own section (`sink.forward: …`). */
  kind: string;
  /** Schema of the `sink.<kind>` section; absent for sinks without options. */
  schema?: z.core.$ZodType<O>;
  /** Option paths (inside `sink.<kind>`) holding file paths, resolved against the config file's directory. */
  pathFields?: readonly string[][];
  /** Option paths (inside `sink.<kind>`) holding secrets, registered for redaction. */
  secretFields?: readonly string[][];
  /** Environment variables that override an option (inside `sink.<kind>`). */
  envOverrides?: ReadonlyArray<[string, string[]]>;
  create(ctx: SinkContext<O>): Sink;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySinkDescriptor = SinkDescriptor<any>;
