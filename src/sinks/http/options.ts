// `sink.http` options: where to POST, how to encode, how to authenticate. Documented in conf/o365-message-trace.yaml.
import { z } from "zod";
import { durationSeconds } from "../../config/duration.js";
import { CollectorError } from "../../errors.js";

export const httpSinkSchema = z
  .object({
    url: z.string().url(),
    format: z.enum(["ndjson", "json"]).default("ndjson"),
    gzip: z.boolean().default(false),
    headers: z.record(z.string(), z.string()).default({}),
    /** Env var whose value is sent as `Authorization: Bearer …` (keeps the token out of the file). */
    bearer_token_env: z.string().optional(),
    batch_size: z.number().int().min(1).max(100000).default(1000),
    timeout: durationSeconds(1, 3600, 30),
    ca_file: z.string().optional(),
    insecure: z.boolean().default(false),
  })
  .strict();

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
