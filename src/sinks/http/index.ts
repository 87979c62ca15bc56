// The HTTP sink as a component: `sink.http` options (./options.ts), its CA path, and how to build it.
import type { SinkDescriptor } from "../descriptor.js";
import { HttpSink } from "./http-sink.js";
import { httpSinkOptions, httpSinkSchema, type HttpSinkConfig } from "./options.js";

export const httpSink: SinkDescriptor<HttpSinkConfig> = {
  kind: "http",
  schema: httpSinkSchema,
  pathFields: [["ca_file"]],
  create: (ctx) =>
    new HttpSink({ config: httpSinkOptions(ctx.options), retry: ctx.retry, logger: ctx.logger, env: ctx.env, metrics: ctx.metrics }),
};
