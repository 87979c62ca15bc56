// The Graph source as a component: what it needs (permission, service principal), what it allows (90 days
// of history, 10 days per query), its `source:` options, and how to build it.
import * as z from "zod/mini";
import { CLOUDS } from "../../config/clouds.js";
import { CollectorError } from "../../errors.js";
import { apiOptions, type SourceDescriptor } from "../descriptor.js";
import { GRAPH_PERMISSION, MESSAGE_TRACE_SP_APP_ID } from "./classify.js";
import { GraphSource } from "./graph-source.js";

export const graphOptionsSchema = z.strictObject({
  type: z.literal("graph"),
  /** $top: rows per page, 1–5000. */
  page_size: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(5000)), 5000),
  /** Graph base URL when not the cloud's (formerly `endpoints.graph`). */
  endpoint: z.optional(z.url()),
  /** API version (formerly `endpoints.graph_version`). */
  graph_version: z._default(z.enum(["v1.0", "beta"]), "v1.0"),
});

export const graphSource: SourceDescriptor<z.infer<typeof graphOptionsSchema>> = {
  kind: "graph",
  displayName: "Graph message trace",
  shortName: "Graph",
  permissionApi: "Microsoft Graph",
  permission: GRAPH_PERMISSION,
  wellKnownIds: {
    message_trace_app_id: MESSAGE_TRACE_SP_APP_ID,
    service_principal_app_id: MESSAGE_TRACE_SP_APP_ID,
    permission_api_app_id: "00000003-0000-0000-c000-000000000000", // Microsoft Graph
  },
  historyDays: 90,
  maxSpanMinutes: 10 * 24 * 60,
  schema: graphOptionsSchema,
  legacyKeys: { page_size: "page_size", "endpoints.graph": "endpoint", "endpoints.graph_version": "graph_version" },
  endpoint(options, cloudName) {
    const cloud = CLOUDS[cloudName];
    if (!cloud.graphMessageTrace && !options.endpoint) {
      throw new CollectorError(
        "config",
        `source graph is not offered in cloud ${cloudName}: Graph message trace exists only in the global service`,
        {
          hint: "use source: rws for this cloud (or set source.endpoint if Microsoft has since added it)",
        },
      );
    }
    return options.endpoint ?? cloud.graph;
  },
  tokenResource: (_options, cloud) => CLOUDS[cloud].graphResource,
  create: (ctx) =>
    new GraphSource({
      ...apiOptions(ctx),
      graphBase: ctx.endpoint.base,
      resource: ctx.endpoint.resource,
      version: ctx.options.graph_version,
      pageSize: ctx.options.page_size,
      organization: ctx.organization,
      rejects: ctx.rejects,
    }),
};
