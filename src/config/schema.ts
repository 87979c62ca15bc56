// The configuration contract (YAML, snake_case). Every shared key, default and range lives here, so validation
// messages can name the key, the bad value and what is allowed; a component's own options (`source:`,
// `sink.<kind>`) live beside its code and are joined in from the registries by configSchema().
// Documented in conf/o365-message-trace.yaml.
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { authSchema } from "../auth/options.js";
import { authMethods } from "../auth/registry.js";
import type { SourceOptions } from "../sources/descriptor.js";
import { sourceDescriptors } from "../sources/registry.js";
import { sinkDescriptors } from "../sinks/registry.js";
import { STATUSES } from "../schema/fields.js";
import { durationMinutes, durationSeconds } from "./duration.js";

// zod/mini sets no locale (its messages would all be "Invalid input"); zod's classic API set English, and the
// messages users see (validateConfig) are English's.
z.config(en());

// Duration keys: a number in the key's unit or a string with a unit ("15m", "1h", "300s"), see duration.ts.
const minutes = durationMinutes;
const seconds = durationSeconds;

/**
 * The login host when not the cloud's. A source's own endpoint is in `source:` (the old `endpoints.graph`,
 * `.rws`, `.graph_version` are moved there by config/load.ts).
 */
const endpoints = z.strictObject({
  login: z.optional(z.url()),
});

const http = z.strictObject({
  /** Per-request timeout in seconds; 0 = none. */
  timeout: seconds(0, 3600, 120),
  ca_file: z.optional(z.string()),
  /** Largest response body accepted from Microsoft (MiB); a larger one fails the page. */
  max_response_mb: z._default(z.number().check(z.minimum(1), z.maximum(4096)), 64),
  /** Disable TLS verification (loud warning). Never in production. */
  insecure: z._default(z.boolean(), false),
  proxy: z.optional(
    z.strictObject({
      url: z.optional(z.url()),
      username: z.optional(z.string()),
      /** Prefer env O365_PROXY_PASSWORD. */
      password: z.optional(z.string()),
      no_proxy: z.optional(z.string()),
    }),
  ),
});

/** An integer in [min, max] (zod's `z.number().int().min(min).max(max)`). */
const integer = (min: number, max: number) => z.number().check(z.int(), z.minimum(min), z.maximum(max));

const retry = z.strictObject({
  /** Attempts after the first for one request. */
  count: z._default(integer(0, 100), 5),
  backoff: z._default(
    z.strictObject({
      initial: seconds(0, 600, 1),
      max: seconds(0, 3600, 60),
      /** Fraction of random jitter (0–1). */
      jitter: z._default(z.number().check(z.minimum(0), z.maximum(1)), 0.2),
    }),
    { initial: 1, max: 60, jitter: 0.2 },
  ),
  /** After error_retry_count failed cycles in a row, wait this many seconds before the next (circuit). */
  error_retry_span: seconds(0, 86400, 300),
  error_retry_count: z._default(integer(1, 1000), 3),
});

const rescan = z.strictObject({
  /**
   * Guarantee (minutes) for late-arriving records: a record that becomes visible up to `horizon` after it
   * was received is still delivered (0 = off). Re-scans are planned inside the request budget, young
   * history often and old history rarely (src/window/rescan-tiers.ts); dedupe drops repeats.
   */
  horizon: minutes(0, 1440 * 10, 1440),
  /** Re-scan only every N-th cycle (1: the planner decides). */
  every: z._default(integer(1, 10000), 1),
});

const coreSchema = z.strictObject({
  /** Tenant id (GUID) or verified domain, e.g. contoso.onmicrosoft.com. */
  tenant_id: z.string().check(z.minLength(1, "tenant_id is required")),
  cloud: z._default(z.enum(["global", "gcc", "gcc-high", "dod", "china"]), "global"),
  endpoints: z._default(endpoints, {}),
  auth: z._default(authSchema(z.string()), { method: "client_secret", redirect_uri: "http://localhost:8400/callback" }),
  http: z._default(http, { timeout: 120, insecure: false, max_response_mb: 64 }),
  retry: z._default(retry, {
    count: 5,
    backoff: { initial: 1, max: 60, jitter: 0.2 },
    error_retry_span: 300,
    error_retry_count: 3,
  }),

  /**
   * Minutes to stay behind now before a window is first read (default 5, 0–1440). Rows later than this are
   * picked up by re-scans (`rescan`), so a short delay costs no requests and keeps delivery fresh.
   */
  delay: minutes(0, 1440, 5),
  /** Window size in minutes (default 5, 1–1440): one query per window, so small windows mean fresh data. */
  window: minutes(1, 1440, 5),
  /** Seconds between cycles in `run` (default 300). */
  frequency: seconds(1, 86400, 300),
  /** Where a new cursor begins: ISO time or relative ("2 hours ago"). Default now − delay − window. */
  start: z.optional(z.string()),
  max_windows_per_run: z._default(integer(1, 100000), 24),
  rescan: z._default(rescan, { horizon: 1440, every: 1 }),
  /** Persisted identities for dedupe (needed for rescan; keeps crash duplicates to zero). */
  dedupe: z._default(z.boolean(), true),
  details: z._default(z.boolean(), false),
  /** Upper bound of detail calls per window (they share the 100 requests / 5 min budget). */
  details_max_per_window: z._default(integer(0, 10000), 20),
  /** Client-side request budget (requests per running window), shared by list and detail calls. */
  request_budget: z._default(
    z.strictObject({
      limit: z._default(integer(1, 100000), 100),
      window_seconds: seconds(1, 86400, 300),
    }),
    { limit: 100, window_seconds: 300 },
  ),

  /** Record body: o365 (our own o365.message.*, default), ecs (Elastic Common Schema), ocsf (Email Activity). */
  schema: z._default(
    z.strictObject({
      profile: z._default(z.enum(["o365", "ecs", "ocsf"]), "o365"),
      /** Add the API item as received (JSON text): event.original, raw_data or o365.message.original. */
      preserve_original: z._default(z.boolean(), false),
    }),
    { profile: "o365", preserve_original: false },
  ),
  /** Drop records whose (normalised) status is listed, before they are sent; counted in metrics. */
  drop_status: z._default(
    z.array(
      z.string().check(
        z.refine((s) => STATUSES.some((x) => x.toLowerCase() === s.toLowerCase()), {
          message: `a delivery status: one of ${STATUSES.join(", ")} (any casing)`,
        }),
      ),
    ),
    [],
  ),
  key_style: z._default(z.enum(["flat", "nested"]), "flat"),
  group_by: z._default(z.enum(["recipient", "message"]), "recipient"),
  local_domains: z._default(z.array(z.string().check(z.minLength(1))), []),
  /** Organization value for Graph records (RWS reports its own); default the tenant id. */
  organization: z.optional(z.string()),

  state_dir: z._default(z.string(), "./state"),
  metrics: z._default(z.strictObject({ listen: z.optional(z.string()) }), {}),
  log: z._default(
    z.strictObject({
      /** Env O365_LOG_LEVEL overrides it. */
      level: z._default(z.enum(["debug", "info", "warn", "error"]), "info"),
      /** json (one object per line) or text; default json unless stderr is a terminal. Env O365_LOG_FORMAT. */
      format: z.optional(z.enum(["json", "text"])),
      /** Request trace file: one JSON line per API request/response, secrets redacted; off when absent. */
      requests: z.optional(z.string().check(z.minLength(1))),
      /** Size at which the request trace rotates to FILE.1 (one old file kept). */
      requests_max_bytes: z._default(integer(4096, 1024 ** 3), 10 * 1024 * 1024),
    }),
    { level: "info", requests_max_bytes: 10 * 1024 * 1024 },
  ),
});

/** The `sink:` section: the chosen kind and any `sink.<kind>` sections, each validated by its sink's schema. */
export interface SinkSection {
  type: string;
  [kind: string]: unknown;
}

export type Config = z.infer<typeof coreSchema> & { source: SourceOptions; sink: SinkSection };
/** What a config file may contain, before defaults (old flat keys such as `source: graph`, `page_size` included). */
export type ConfigInput = z.input<typeof coreSchema> & {
  source?: string | Record<string, unknown>;
  sink?: Record<string, unknown>;
  [legacy: string]: unknown;
};

type Kinds = [string, ...string[]];

/**
 * The whole schema, from the registries as they are now (a source or sink registered at run time is
 * included). `source:` is already in its nested form here; config/load.ts normalises the old flat keys.
 */
export function configSchema(): z.ZodMiniType<Config> {
  const sources = sourceDescriptors();
  const sinks = sinkDescriptors();
  const sourceSchema = z.discriminatedUnion(
    "type",
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    sources.map((d) => d.schema) as any,
  );
  const sinkSections: Record<string, z.core.$ZodType> = {};
  for (const d of sinks) if (d.schema) sinkSections[d.kind] = z.optional(d.schema);
  const sinkSchema = z.prefault(
    z.strictObject({ type: z._default(z.enum(sinks.map((d) => d.kind) as Kinds), sinks[0]!.kind), ...sinkSections }),
    {},
  );
  return z.extend(coreSchema, {
    auth: z._default(authSchema(z.enum(authMethods().map((m) => m.method) as Kinds)), {
      method: "client_secret",
      redirect_uri: "http://localhost:8400/callback",
    }),
    source: z.prefault(sourceSchema, { type: sources[0]!.kind }),
    sink: sinkSchema,
  }) as unknown as z.ZodMiniType<Config>;
}
