// The Fluent forward sink as a component: `sink.forward` options (./options.ts), its TLS paths and secrets.
import { lazySink } from "../../lazy.js";
import type { SinkDescriptor } from "../descriptor.js";
import { clientOptions, forwardConfig, forwardSinkSchema, type ForwardConfig } from "./options.js";

export const forwardSink: SinkDescriptor<ForwardConfig> = {
  kind: "forward",
  schema: forwardSinkSchema,
  pathFields: [
    ["tls", "ca_file"],
    ["tls", "cert_file"],
    ["tls", "key_file"],
  ],
  secretFields: [["shared_key"], ["password"]],
  envOverrides: [["O365_FORWARD_SHARED_KEY", ["shared_key"]]],
  // The options (TLS files included) are checked now, so a bad one fails at start; the sink and
  // @fluent-org/logger load only when forward is configured.
  create: (ctx) => {
    const c = forwardConfig(ctx.options);
    clientOptions(c);
    return lazySink("forward", async () => new (await import("./forward-sink.js")).ForwardSink(c, ctx.logger, ctx.retry));
  },
};
