// What a source tells the rest of the program about itself. The CLI, the collector's options, the config loader
// and the composition root ask this descriptor instead of branching on the source's name, so a new source is
// one folder (its code and descriptor) plus one line in ./registry.ts. apiOptions() is the one helper create() shares.
import type { Dispatcher } from "undici";
import type { z } from "zod/mini";
import type { TokenProvider } from "../auth/provider.js";
import type { CloudName } from "../config/clouds.js";
import type { Logger } from "../log/logger.js";
import type { RetryPolicy } from "../net/retry.js";
import type { Source } from "../types.js";
import type { ApiClientOptions, ApiHooks } from "./api-client.js";
import type { RowRejects } from "./row-rejects.js";

/** The `source:` section after validation: the kind plus the source's own options (defaults applied). */
export interface SourceOptions {
  type: string;
  [key: string]: unknown;
}

/** Where a source's API lives in the configured cloud, and the token audience for it. */
export interface SourceEndpoint {
  base: string;
  resource: string;
}

/** Everything a source needs to read: the shared HTTP stack and token provider, its own options. */
export interface SourceContext<O extends SourceOptions = SourceOptions> {
  options: O;
  /** The top-level `organization` (a value for records whose API does not report one); absent = none set. */
  organization?: string;
  endpoint: SourceEndpoint;
  dispatcher: Dispatcher;
  tokens: TokenProvider;
  logger: Logger;
  retry: RetryPolicy;
  hooks: ApiHooks;
  /** Per-request timeout in milliseconds (0 = none). */
  timeoutMs: number;
  /** Response body bound in bytes (http.max_response_mb). */
  maxBodyBytes?: number;
  /** Rows the source cannot map: counted, logged, quarantined in state_dir. */
  rejects?: RowRejects;
}

export interface SourceDescriptor<O extends SourceOptions = SourceOptions> {
  /** `source.type` in the config and `o365.message.source` in records. */
  kind: string;
  /** How messages name the API: "Graph message trace" ("… answered"). */
  displayName: string;
  /** The API's short name: "Graph" ("the Graph API keeps 90 days"). */
  shortName: string;
  /** The API the permission belongs to, as the Entra portal lists it: "Microsoft Graph". */
  permissionApi: string;
  /** The application permission (token role) the source needs. */
  permission: string;
  /** Entra directory roles the app also needs (RWS: Global Reader). */
  directoryRoles?: string[];
  /**
   * Well-known ids operators meet in error messages and set-up (service principal app ids…). `setup` reads:
   * `permission_api_app_id` (the app id of the API that defines `permission`), `service_principal_app_id`
   * (a Microsoft app whose service principal must exist in the tenant), and `<role>_role_id` for each of
   * `directoryRoles` (its Entra role template id, e.g. global_reader_role_id).
   */
  wellKnownIds?: Record<string, string>;
  /** How many days back the API keeps message trace. */
  historyDays: number;
  /** Longest span one query may cover, in minutes (Graph: 10 days); absent = no limit. */
  maxSpanMinutes?: number;
  /** Schema of the `source:` section (with `type`), strict, with defaults. */
  schema: z.core.$ZodType<O>;
  /**
   * Keys of older config forms the loader moves into `source:` when this source is chosen: dotted path in the
   * file → key in `source:` (`page_size` → `page_size`, `endpoints.graph` → `endpoint`). Dropped otherwise.
   */
  legacyKeys?: Readonly<Record<string, string>>;
  /** Option paths (inside `source:`) holding file paths, resolved against the config file's directory. */
  pathFields?: readonly string[][];
  /** Option paths (inside `source:`) holding secrets, registered for redaction. */
  secretFields?: readonly string[][];
  /** The API base URL in `cloud` (or the options' own override); throws a config error when not offered there. */
  endpoint(options: O, cloud: CloudName): string;
  /** The token audience (resource) in `cloud`; the scope is `${resource}/.default`. */
  tokenResource(options: O, cloud: CloudName): string;
  create(ctx: SourceContext<O>): Source;
}

/** For registries: a descriptor whatever its options type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySourceDescriptor = SourceDescriptor<any>;

/** The HTTP side of a source's ApiClient options (all but its classifier and scope), from its context. */
export function apiOptions(ctx: SourceContext<SourceOptions>): Omit<ApiClientOptions, "classify" | "scope"> {
  const { dispatcher, tokens, timeoutMs, maxBodyBytes, retry, logger, hooks } = ctx;
  return { dispatcher, tokens, timeoutMs, maxBodyBytes, retry, logger, hooks };
}
