// The Fluent forward sink as a component: `sink.forward` options (./options.ts), its TLS paths and secrets.
import type { SinkDescriptor } from "../descriptor.js";
import { ForwardSink } from "./forward-sink.js";
import { forwardConfig, forwardSinkSchema, type ForwardConfig } from "./options.js";

export const forwardSink: SinkDescriptor<ForwardConfig> = {
  kind: "forward",
  schema: forwardSinkSchema,
  pathFields: [["tls", "ca_file"], ["tls", "cert_file"], ["tls", "key_file"]],
  secretFields: [["shared_key"], ["password"]],
  envOverrides: [["O365_FORWARD_SHARED_KEY", ["shared_key"]]],
  create: (ctx) => new ForwardSink(forwardConfig(ctx.options), ctx.logger, ctx.retry),
};
