// `schema.profile: ecs` — Elastic Common Schema. Field choices follow Elastic's own "Microsoft Exchange Online
// Message Trace" integration (its ingest pipeline) wherever it makes one, so its dashboards and the detection
// rules written against it match our records: email.from/to.address as arrays, email.local_id = trace id,
// email.attachments.file.size = message size, email.delivery_timestamp, event.start/end = query window,
// event.outcome success/failure/unknown from Delivered/Failed/other, source/destination.user.*, related.user.
// Names and types are checked against ECS 9.4.0 (elastic/ecs generated/ecs/ecs_flat.yml) by a test with a JSON
// Schema built from those definitions (test/fixtures/ecs-9.4.0-o365-profile.schema.json).
import { distinct, domainOf, localPartOf, o, recipients, str, type Profile, type ProfileField, type SourceView } from "./table.js";

export const ECS_VERSION = "9.4.0";
/** Elastic's integration dataset: its dashboards filter on it. */
export const ECS_DATASET = "microsoft_exchange_online_message_trace.log";
/** Our own values that ECS has no field for live under this custom field set, with their o365 names. */
export const ECS_CUSTOM = "o365.message";

/** `FilteredAsSpam` → `filtered-as-spam`, `Transport rule` → `transport-rule`. */
export function kebab(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/[\s_]+/g, "-")
    .toLowerCase();
}

/** Elastic's integration: Delivered → success, Failed → failure, anything else unknown. */
export function ecsOutcome(status: string | undefined): "success" | "failure" | "unknown" {
  return status === "Delivered" ? "success" : status === "Failed" ? "failure" : "unknown";
}

const sender = (v: SourceView) => str(v, "sender");
/** One recipient (per-recipient and detail records); a grouped record's many go only to the arrays. */
const oneRecipient = (v: SourceView) => (v.kind === "group" ? undefined : recipients(v)[0]);
const eventTime = (v: SourceView) => (v.kind === "detail" ? str(v, "detail.date") : undefined) ?? str(v, "received");
const custom = (name: string, type: string): ProfileField => ({
  field: `${ECS_CUSTOM}.${name}`,
  type,
  from: `o365.message.${name}`,
  value: (v) => o(v, name),
});

export const ecsProfile: Profile = {
  name: "ecs",
  title: "Elastic Common Schema",
  schemaVersion: ECS_VERSION,
  notes: [
    'Records are nested objects (`{"email":{"from":{"address":[…]}}}`); `key_style` applies to the o365 profile only.',
    "Grouped records (`group_by: message`): `email.to.address` and `related.user` list every recipient; `destination.user.*` is left out.",
    "Detail events: `@timestamp` is the event's time, `event.action` its event (`receive`, `deliver`, `transport-rule`…), `message` its description, the rest of it under `o365.message.detail.*`; the message fields are the parent's.",
    "`email.attachments.file.size` holds the message size, as Elastic's integration does (ECS has no message-size field).",
  ],
  fields: [
    { field: "@timestamp", type: "date", from: "o365.message.received (detail events: detail.date)", value: eventTime },
    { field: "ecs.version", type: "keyword", from: `"${ECS_VERSION}"`, value: () => ECS_VERSION },
    { field: "event.kind", type: "keyword", from: '"event"', value: () => "event" },
    { field: "event.category", type: "keyword[]", from: '["email"]', value: () => ["email"] },
    { field: "event.type", type: "keyword[]", from: '["info"] (the type ECS expects with category email)', value: () => ["info"] },
    {
      field: "event.action",
      type: "keyword",
      from: "status, kebab-case (detail events: detail.event)",
      value: (v) => {
        const a = v.kind === "detail" ? str(v, "detail.event") : str(v, "status");
        return a && kebab(a);
      },
    },
    {
      field: "event.outcome",
      type: "keyword",
      from: "status: Delivered → success, Failed → failure, else unknown",
      value: (v) => ecsOutcome(str(v, "status")),
    },
    { field: "event.dataset", type: "keyword", from: `"${ECS_DATASET}"`, value: () => ECS_DATASET },
    { field: "event.provider", type: "keyword", from: "o365.message.source (graph | rws)", value: (v) => str(v, "source") },
    { field: "event.start", type: "date", from: "o365.message.window_start", value: (v) => str(v, "window_start") },
    { field: "event.end", type: "date", from: "o365.message.window_end", value: (v) => str(v, "window_end") },
    {
      field: "event.original",
      type: "keyword",
      from: "the API item as received, JSON (preserve_original: true)",
      value: (v) => v.original,
    },
    {
      field: "message",
      type: "match_only_text",
      from: "detail.description (detail events)",
      value: (v) => (v.kind === "detail" ? str(v, "detail.description") : undefined),
    },
    { field: "email.from.address", type: "keyword[]", from: "[o365.message.sender]", value: (v) => distinct([sender(v)]) },
    {
      field: "email.to.address",
      type: "keyword[]",
      from: "o365.message.recipient (all of them when grouped)",
      value: (v) => recipients(v),
    },
    { field: "email.subject", type: "keyword", from: "o365.message.subject", value: (v) => str(v, "subject") },
    { field: "email.message_id", type: "wildcard", from: "o365.message.id", value: (v) => str(v, "id") },
    { field: "email.local_id", type: "keyword", from: "o365.message.trace_id", value: (v) => str(v, "trace_id") },
    { field: "email.direction", type: "keyword", from: "o365.message.direction (needs local_domains)", value: (v) => str(v, "direction") },
    { field: "email.delivery_timestamp", type: "date", from: "o365.message.received", value: (v) => str(v, "received") },
    { field: "email.attachments.file.size", type: "long", from: "o365.message.size", value: (v) => o(v, "size") },
    { field: "source.ip", type: "ip", from: "o365.message.from_ip", value: (v) => str(v, "from_ip") },
    { field: "source.domain", type: "keyword", from: "domain of o365.message.sender", value: (v) => domainOf(sender(v)) },
    { field: "source.user.email", type: "keyword", from: "o365.message.sender", value: sender },
    { field: "source.user.id", type: "keyword", from: "o365.message.sender", value: sender },
    { field: "source.user.name", type: "keyword", from: "local part of o365.message.sender", value: (v) => localPartOf(sender(v)) },
    { field: "source.user.domain", type: "keyword", from: "domain of o365.message.sender", value: (v) => domainOf(sender(v)) },
    { field: "destination.ip", type: "ip", from: "o365.message.to_ip", value: (v) => str(v, "to_ip") },
    { field: "destination.domain", type: "keyword", from: "domain of o365.message.recipient", value: (v) => domainOf(oneRecipient(v)) },
    { field: "destination.user.email", type: "keyword", from: "o365.message.recipient", value: oneRecipient },
    { field: "destination.user.id", type: "keyword", from: "o365.message.recipient", value: oneRecipient },
    {
      field: "destination.user.name",
      type: "keyword",
      from: "local part of o365.message.recipient",
      value: (v) => localPartOf(oneRecipient(v)),
    },
    {
      field: "destination.user.domain",
      type: "keyword",
      from: "domain of o365.message.recipient",
      value: (v) => domainOf(oneRecipient(v)),
    },
    {
      field: "related.user",
      type: "keyword[]",
      from: "recipient(s), sender, and their local parts",
      value: (v) => {
        const rs = recipients(v);
        return distinct([...rs, sender(v), ...rs.map(localPartOf), localPartOf(sender(v))]);
      },
    },
    {
      field: "related.ip",
      type: "ip[]",
      from: "o365.message.from_ip, to_ip",
      value: (v) => distinct([str(v, "from_ip"), str(v, "to_ip")]),
    },
    custom("status", "keyword"),
    custom("size", "long"),
    custom("index", "long"),
    custom("organization", "keyword"),
    custom("tenant_id", "keyword"),
    custom("recipient_count", "long"),
    custom("detail.event", "keyword"),
    custom("detail.action", "keyword"),
    custom("detail.data", "keyword"),
  ],
};
