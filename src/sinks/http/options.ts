// `sink.http` options: where to POST, how to encode, how to authenticate. Documented in conf/o365-message-trace.yaml.
import * as z from "zod/mini";
import { durationSeconds } from "../../config/duration.js";
import { CollectorError } from "../../errors.js";

export const httpSinkSchema = z.strictObject({
  url: z.url(),
  format: z._default(z.enum(["ndjson", "json"]), "ndjson"),
  gzip: z._default(z.boolean(), false),
  headers: z._default(z.record(z.string(), z.string()), {}),
  /** Env var whose value is sent as `Authorization: Bearer …` (keeps the token out of the file). */
  bearer_token_env: z.optional(z.string()),
  batch_size: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(100000)), 1000),
  timeout: durationSeconds(1, 3600, 30),
  ca_file: z.optional(z.string()),
  insecure: z._default(z.boolean(), false),
});

export type HttpSinkConfig = z.infer<typeof httpSinkSchema>;

/** The `sink.http` section, which has no defaults for `url`: absent is a configuration error. */
export function httpSinkOptions(section: HttpSinkConfig | undefined): HttpSinkConfig {
  if (!section) {
    throw new CollectorError("config", "sink.type is http but sink.http.url is not set", {
      hint: "add sink.http.url, e.g. http://127.0.0.1:9880/o365.message_trace",
    });
  }
  return section;
}
