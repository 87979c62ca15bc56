// `schema.profile: ocsf` — OCSF 1.8.0 Email Activity (class_uid 4009, category Network Activity 4), activity
// Trace (4: "follow an email message as it travels through an organization", the activity OCSF names for
// Office 365 message trace). Checked by a test against a JSON Schema compiled from OCSF's published class
// definition (test/fixtures/ocsf-1.8.0-email_activity.schema.json, scripts/ocsf-fixture.mjs).
import { packageVersion } from "../../package-version.js";
import { o, recipients, str, type Profile, type SourceView } from "./table.js";

export const OCSF_VERSION = "1.8.0";
export const CLASS_UID = 4009;
export const CATEGORY_UID = 4;
export const ACTIVITY_TRACE = 4;

/** direction (from local_domains) → direction_id; `external` (neither side local) is OCSF's Other. */
const DIRECTION: Record<string, [number, string]> = {
  inbound: [1, "Inbound"],
  outbound: [2, "Outbound"],
  internal: [3, "Internal"],
  external: [99, "external"],
};

/**
 * Delivery status → [status_id, disposition_id, action_id]. status: 1 Success, 2 Failure, 0 Unknown (not final
 * yet), 99 Other (a filtering verdict, not a delivery result). disposition (security_control profile):
 * 1 Allowed, 3 Quarantined, 2 Blocked, 25 Rejected, 14 Delayed, 0 Unknown. action: 1 Allowed, 2 Denied, 0 Unknown.
 */
const STATUS: Record<string, [number, number, number]> = {
  Delivered: [1, 1, 1],
  Expanded: [1, 1, 1],
  Failed: [2, 25, 2],
  None: [99, 25, 2],
  Quarantined: [99, 3, 2],
  FilteredAsSpam: [99, 2, 2],
  Pending: [0, 14, 1],
  GettingStatus: [0, 0, 0],
  Unknown: [0, 0, 0],
};
const STATUS_CAPTION: Record<number, string> = { 0: "Unknown", 1: "Success", 2: "Failure" };
const DISPOSITION_CAPTION: Record<number, string> = {
  0: "Unknown",
  1: "Allowed",
  2: "Blocked",
  3: "Quarantined",
  14: "Delayed",
  25: "Rejected",
};
const ACTION_CAPTION: Record<number, string> = { 0: "Unknown", 1: "Allowed", 2: "Denied" };

export function statusIds(status: string | undefined): [number, number, number] {
  return (status && STATUS[status]) || [status ? 99 : 0, 0, 0];
}

/** OCSF's email_t: local@domain.tld. Anything else (the empty reverse path `<>`, an X.500 address) is left out. */
const EMAIL = /^[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$/;
const address = (a: string | undefined) => (a && EMAIL.test(a) ? a : undefined);

const ms = (iso: string | undefined) => {
  const t = iso === undefined ? NaN : Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
};
const eventTime = (v: SourceView) => (v.kind === "detail" ? str(v, "detail.date") : undefined) ?? str(v, "received");
const statusOf = (v: SourceView) => str(v, "status");
const unmapped = (name: string) => ({
  field: `unmapped.o365.message.${name}`,
  type: "unmapped",
  from: `o365.message.${name}`,
  value: (v: SourceView) => o(v, name),
});

export const ocsfProfile: Profile = {
  name: "ocsf",
  title: "OCSF Email Activity",
  schemaVersion: OCSF_VERSION,
  notes: [
    "Every record is Email Activity (4009), activity Trace (4), type_uid 400904; metadata.profiles lists security_control (disposition_id, action_id).",
    "Grouped records (`group_by: message`): `email.to` lists every recipient; status and disposition are the first row's.",
    "Detail events: `time` is the event's time, `message` its description, the event, action and data under `unmapped.o365.message.detail.*`; the email fields are the parent's.",
    "Values OCSF has no attribute for are kept under `unmapped.o365.message.*` with their o365 names.",
  ],
  fields: [
    { field: "class_uid", type: "integer_t", from: String(CLASS_UID), value: () => CLASS_UID },
    { field: "class_name", type: "string_t", from: '"Email Activity"', value: () => "Email Activity" },
    { field: "category_uid", type: "integer_t", from: String(CATEGORY_UID), value: () => CATEGORY_UID },
    { field: "category_name", type: "string_t", from: '"Network Activity"', value: () => "Network Activity" },
    { field: "activity_id", type: "integer_t", from: `${ACTIVITY_TRACE} (Trace)`, value: () => ACTIVITY_TRACE },
    { field: "activity_name", type: "string_t", from: '"Trace"', value: () => "Trace" },
    { field: "type_uid", type: "long_t", from: "class_uid * 100 + activity_id", value: () => CLASS_UID * 100 + ACTIVITY_TRACE },
    { field: "type_name", type: "string_t", from: '"Email Activity: Trace"', value: () => "Email Activity: Trace" },
    { field: "severity_id", type: "integer_t", from: "1 (Informational)", value: () => 1 },
    { field: "severity", type: "string_t", from: '"Informational"', value: () => "Informational" },
    {
      field: "time",
      type: "timestamp_t",
      from: "o365.message.received, epoch ms (detail events: detail.date)",
      value: (v) => ms(eventTime(v)),
    },
    { field: "start_time", type: "timestamp_t", from: "o365.message.window_start, epoch ms", value: (v) => ms(str(v, "window_start")) },
    { field: "end_time", type: "timestamp_t", from: "o365.message.window_end, epoch ms", value: (v) => ms(str(v, "window_end")) },
    {
      field: "message",
      type: "string_t",
      from: "detail.description (detail events)",
      value: (v) => (v.kind === "detail" ? str(v, "detail.description") : undefined),
    },
    {
      field: "direction_id",
      type: "integer_t",
      from: "direction: inbound 1, outbound 2, internal 3, external 99, none 0",
      value: (v) => DIRECTION[str(v, "direction") ?? ""]?.[0] ?? 0,
    },
    {
      field: "direction",
      type: "string_t",
      from: "caption of direction_id",
      value: (v) => DIRECTION[str(v, "direction") ?? ""]?.[1] ?? "Unknown",
    },
    {
      field: "status_id",
      type: "integer_t",
      from: "status: Delivered/Expanded 1, Failed 2, Pending/GettingStatus/Unknown 0, others 99",
      value: (v) => statusIds(statusOf(v))[0],
    },
    {
      field: "status",
      type: "string_t",
      from: "caption of status_id; the delivery status when 99 (Other)",
      value: (v) => {
        const id = statusIds(statusOf(v))[0];
        return id === 99 ? statusOf(v) : STATUS_CAPTION[id];
      },
    },
    { field: "status_detail", type: "string_t", from: "o365.message.status", value: statusOf },
    {
      field: "disposition_id",
      type: "integer_t",
      from: "status: Delivered/Expanded 1, Quarantined 3, FilteredAsSpam 2, Failed/None 25, Pending 14, else 0",
      value: (v) => statusIds(statusOf(v))[1],
    },
    {
      field: "disposition",
      type: "string_t",
      from: "caption of disposition_id",
      value: (v) => DISPOSITION_CAPTION[statusIds(statusOf(v))[1]],
    },
    {
      field: "action_id",
      type: "integer_t",
      from: "Allowed 1 (delivered, pending), Denied 2 (failed, rejected, quarantined, spam), else 0",
      value: (v) => statusIds(statusOf(v))[2],
    },
    { field: "action", type: "string_t", from: "caption of action_id", value: (v) => ACTION_CAPTION[statusIds(statusOf(v))[2]] },
    { field: "message_trace_uid", type: "string_t", from: "o365.message.trace_id", value: (v) => str(v, "trace_id") },
    { field: "email.from", type: "email_t", from: "o365.message.sender", value: (v) => address(str(v, "sender")) },
    {
      field: "email.to",
      type: "email_t[]",
      from: "o365.message.recipient (all of them when grouped)",
      value: (v) => recipients(v).map(address).filter(Boolean),
    },
    { field: "email.message_uid", type: "string_t", from: "o365.message.id", value: (v) => str(v, "id") },
    { field: "email.subject", type: "string_t", from: "o365.message.subject", value: (v) => str(v, "subject") },
    { field: "email.size", type: "long_t", from: "o365.message.size", value: (v) => o(v, "size") },
    { field: "src_endpoint.ip", type: "ip_t", from: "o365.message.from_ip", value: (v) => str(v, "from_ip") },
    { field: "dst_endpoint.ip", type: "ip_t", from: "o365.message.to_ip", value: (v) => str(v, "to_ip") },
    { field: "metadata.version", type: "string_t", from: `"${OCSF_VERSION}"`, value: () => OCSF_VERSION },
    { field: "metadata.profiles", type: "string_t[]", from: '["security_control"]', value: () => ["security_control"] },
    { field: "metadata.product.name", type: "string_t", from: '"Exchange Online"', value: () => "Exchange Online" },
    { field: "metadata.product.vendor_name", type: "string_t", from: '"Microsoft"', value: () => "Microsoft" },
    { field: "metadata.product.feature.name", type: "string_t", from: '"Message Trace"', value: () => "Message Trace" },
    { field: "metadata.log_provider", type: "string_t", from: "o365.message.source (graph | rws)", value: (v) => str(v, "source") },
    { field: "metadata.tenant_uid", type: "string_t", from: "o365.message.tenant_id", value: (v) => str(v, "tenant_id") },
    {
      field: "metadata.loggers",
      type: "logger[]",
      from: "this collector: name and version",
      value: () => [
        { name: "o365-message-trace", product: { name: "o365-message-trace", version: packageVersion() }, version: packageVersion() },
      ],
    },
    { field: "raw_data", type: "string_t", from: "the API item as received, JSON (preserve_original: true)", value: (v) => v.original },
    {
      field: "unmapped.o365.message.sender",
      type: "unmapped",
      from: "o365.message.sender when it is no email_t address",
      value: (v) => {
        const a = str(v, "sender");
        return address(a) ? undefined : a;
      },
    },
    {
      field: "unmapped.o365.message.recipient",
      type: "unmapped",
      from: "recipients that are no email_t address",
      value: (v) => recipients(v).filter((r) => !address(r)),
    },
    unmapped("organization"),
    unmapped("index"),
    unmapped("recipient_count"),
    unmapped("detail.event"),
    unmapped("detail.action"),
    unmapped("detail.data"),
  ],
};
