// The configuration contract (YAML, snake_case). Every shared key, default and range lives here, so validation
// messages can name the key, the bad value and what is allowed; a component's own options (`source:`,
// `sink.<kind>`) live beside its code and are joined in from the registries by configSchema().
// Documented in conf/o365-message-trace.yaml.
import { z } from "zod";
import { authSchema } from "../auth/options.js";
import { authMethods } from "../auth/registry.js";
import type { SourceOptions } from "../sources/descriptor.js";
import { sourceDescriptors } from "../sources/registry.js";
import { sinkDescriptors } from "../sinks/registry.js";
import { STATUSES } from "../schema/fields.js";
import { durationMinutes, durationSeconds } from "./duration.js";

// Duration keys: a number in the key's unit or a string with a unit ("15m", "1h", "300s"), see duration.ts.
const minutes = durationMinutes;
const seconds = durationSeconds;

/**
 * The login host when not the cloud's. A source's own endpoint is in `source:` (the old `endpoints.graph`,
 * `.rws`, `.graph_version` are moved there by config/load.ts).
 */
const endpoints = z
  .object({
    login: z.string().url().optional(),
  })
  .strict();

const http = z
  .object({
    /** Per-request timeout in seconds; 0 = none. */
    timeout: seconds(0, 3600, 120),
    ca_file: z.string().optional(),
    /** Largest response body accepted from Microsoft (MiB); a larger one fails the page. */
    max_response_mb: z.number().min(1).max(4096).default(64),
    /** Disable TLS verification (loud warning). Never in production. */
    insecure: z.boolean().default(false),
    proxy: z
      .object({
        url: z.string().url().optional(),
        username: z.string().optional(),
        /** Prefer env O365_PROXY_PASSWORD. */
        password: z.string().optional(),
        no_proxy: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const retry = z
  .object({
    /** Attempts after the first for one request. */
    count: z.number().int().min(0).max(100).default(5),
    backoff: z
      .object({
        initial: seconds(0, 600, 1),
        max: seconds(0, 3600, 60),
        /** Fraction of random jitter (0–1). */
        jitter: z.number().min(0).max(1).default(0.2),
      })
      .strict()
      .default({ initial: 1, max: 60, jitter: 0.2 }),
    /** After error_retry_count failed cycles in a row, wait this many seconds before the next (circuit). */
    error_retry_span: seconds(0, 86400, 300),
    error_retry_count: z.number().int().min(1).max(1000).default(3),
  })
  .strict();

const rescan = z
  .object({
    /**
     * Guarantee (minutes) for late-arriving records: a record that becomes visible up to `horizon` after it
     * was received is still delivered (0 = off). Re-scans are planned inside the request budget, young
     * history often and old history rarely (src/window/rescan-tiers.ts); dedupe drops repeats.
     */
    horizon: minutes(0, 1440 * 10, 1440),
    /** Re-scan only every N-th cycle (1: the planner decides). */
    every: z.number().int().min(1).max(10000).default(1),
  })
  .strict();

const coreSchema = z
  .object({
    /** Tenant id (GUID) or verified domain, e.g. contoso.onmicrosoft.com. */
    tenant_id: z.string().min(1, "tenant_id is required"),
    cloud: z.enum(["global", "gcc", "gcc-high", "dod", "china"]).default("global"),
    endpoints: endpoints.default({}),
    auth: authSchema(z.string()).default({ method: "client_secret", redirect_uri: "http://localhost:8400/callback" }),
    http: http.default({ timeout: 120, insecure: false, max_response_mb: 64 }),
    retry: retry.default({
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
    start: z.string().optional(),
    max_windows_per_run: z.number().int().min(1).max(100000).default(24),
    rescan: rescan.default({ horizon: 1440, every: 1 }),
    /** Persisted identities for dedupe (needed for rescan; keeps crash duplicates to zero). */
    dedupe: z.boolean().default(true),
    details: z.boolean().default(false),
    /** Upper bound of detail calls per window (they share the 100 requests / 5 min budget). */
    details_max_per_window: z.number().int().min(0).max(10000).default(20),
    /** Client-side request budget (requests per running window), shared by list and detail calls. */
    request_budget: z
      .object({
        limit: z.number().int().min(1).max(100000).default(100),
        window_seconds: seconds(1, 86400, 300),
      })
      .strict()
      .default({ limit: 100, window_seconds: 300 }),

    /** Record body: o365 (our own o365.message.*, default), ecs (Elastic Common Schema), ocsf (Email Activity). */
    schema: z
      .object({
        profile: z.enum(["o365", "ecs", "ocsf"]).default("o365"),
        /** Add the API item as received (JSON text): event.original, raw_data or o365.message.original. */
        preserve_original: z.boolean().default(false),
      })
      .strict()
      .default({ profile: "o365", preserve_original: false }),
    /** Drop records whose (normalised) status is listed, before they are sent; counted in metrics. */
    drop_status: z
      .array(
        z.string().refine((s) => STATUSES.some((x) => x.toLowerCase() === s.toLowerCase()), {
          message: `a delivery status: one of ${STATUSES.join(", ")} (any casing)`,
        }),
      )
      .default([]),
    key_style: z.enum(["flat", "nested"]).default("flat"),
    group_by: z.enum(["recipient", "message"]).default("recipient"),
    local_domains: z.array(z.string().min(1)).default([]),
    /** Organization value for Graph records (RWS reports its own); default the tenant id. */
    organization: z.string().optional(),

    state_dir: z.string().default("./state"),
    metrics: z.object({ listen: z.string().optional() }).strict().default({}),
    log: z
      .object({
        /** Env O365_LOG_LEVEL overrides it. */
        level: z.enum(["debug", "info", "warn", "error"]).default("info"),
        /** json (one object per line) or text; default json unless stderr is a terminal. Env O365_LOG_FORMAT. */
        format: z.enum(["json", "text"]).optional(),
        /** Request trace file: one JSON line per API request/response, secrets redacted; off when absent. */
        requests: z.string().min(1).optional(),
        /** Size at which the request trace rotates to FILE.1 (one old file kept). */
        requests_max_bytes: z
          .number()
          .int()
          .min(4096)
          .max(1024 ** 3)
          .default(10 * 1024 * 1024),
      })
      .strict()
      .default({ level: "info", requests_max_bytes: 10 * 1024 * 1024 }),
  })
  .strict();

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
export function configSchema(): z.ZodType<Config> {
  const sources = sourceDescriptors();
  const sinks = sinkDescriptors();
  const sourceSchema = z.discriminatedUnion(
    "type",
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    sources.map((d) => d.schema) as any,
  );
  const sinkSections: Record<string, z.ZodType> = {};
  for (const d of sinks) if (d.schema) sinkSections[d.kind] = d.schema.optional();
  const sinkSchema = z
    .object({ type: z.enum(sinks.map((d) => d.kind) as Kinds).default(sinks[0]!.kind), ...sinkSections })
    .strict()
    .prefault({});
  return coreSchema.extend({
    auth: authSchema(z.enum(authMethods().map((m) => m.method) as Kinds)).default({
      method: "client_secret",
      redirect_uri: "http://localhost:8400/callback",
    }),
    source: sourceSchema.prefault({ type: sources[0]!.kind }),
    sink: sinkSchema,
  }) as unknown as z.ZodType<Config>;
}
