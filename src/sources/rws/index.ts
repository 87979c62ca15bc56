// The legacy Reporting Web Service source as a component: its permission and directory role, its 10 days of
// history, its `source:` options (response format), and how to build it.
import * as z from "zod/mini";
import { CLOUDS } from "../../config/clouds.js";
import { apiOptions, type SourceDescriptor } from "../descriptor.js";
import { lazySource } from "../../lazy.js";
import { RWS_WINDOW_SELECTION } from "./window-selection.js";

export const RWS_PERMISSION = "ReportingWebService.Read.All";

export const rwsOptionsSchema = z.strictObject({
  type: z.literal("rws"),
  /** Response format asked for; either answer is read. */
  format: z._default(z.enum(["json", "xml"]), "json"),
  /** Report base URL (…/reporting.svc) when not the cloud's (formerly `endpoints.rws`). */
  endpoint: z.optional(z.url()),
});

export const rwsSource: SourceDescriptor<z.infer<typeof rwsOptionsSchema>> = {
  kind: "rws",
  displayName: "the reporting web service",
  shortName: "reporting web service",
  permissionApi: "Office 365 Exchange Online",
  permission: RWS_PERMISSION,
  directoryRoles: ["Global Reader"],
  wellKnownIds: {
    permission_api_app_id: "00000002-0000-0ff1-ce00-000000000000", // Office 365 Exchange Online
    global_reader_role_id: "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
  },
  historyDays: 10,
  // The report itself takes any span within its 10 days of history; windows stay as configured.
  maxSpanMinutes: 10 * 24 * 60,
  schema: rwsOptionsSchema,
  legacyKeys: { format: "format", "endpoints.rws": "endpoint" },
  endpoint: (options, cloud) => options.endpoint ?? CLOUDS[cloud].rws,
  tokenResource: (_options, cloud) => CLOUDS[cloud].rwsResource,
  // No page size: the report pages itself (2000 rows), and OData $top would cap the whole result.
  // The reader and its XML parser (fast-xml-parser) load only when this source is configured.
  create: (ctx) => {
    new URL(ctx.endpoint.base); // a bad endpoint fails at start, not at the first window
    const opts = {
      ...apiOptions(ctx),
      rwsBase: ctx.endpoint.base,
      resource: ctx.endpoint.resource,
      format: ctx.options.format,
      rejects: ctx.rejects,
    };
    return lazySource("rws", async () => new (await import("./rws-source.js")).RwsSource(opts), {
      details: false,
      windowSelection: RWS_WINDOW_SELECTION,
    });
  },
};
