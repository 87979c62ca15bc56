// The `o365.message.*` field table (contract: ../shared/docs/schema.md). Used by the mapper's tests,
// the `schema` command and its JSON Schema output.

export interface FieldSpec {
  name: string;
  type: "string" | "integer" | "time" | "string|string[]";
  graph: string;
  rws: string;
  notes: string;
}

export const PREFIX = "o365.message.";

export const FIELDS: FieldSpec[] = [
  { name: "id", type: "string", graph: "messageId", rws: "MessageId", notes: "Internet Message-ID header; not unique across messages" },
  {
    name: "trace_id",
    type: "string",
    graph: "id",
    rws: "MessageTraceId",
    notes: "the API's trace id (GUID); same for all recipients of one message",
  },
  { name: "received", type: "time", graph: "receivedDateTime", rws: "Received", notes: "event time; forward-protocol EventTime" },
  { name: "sender", type: "string", graph: "senderAddress", rws: "SenderAddress", notes: "lower-cased" },
  {
    name: "recipient",
    type: "string|string[]",
    graph: "recipientAddress",
    rws: "RecipientAddress",
    notes: "lower-cased; array when grouped by message",
  },
  { name: "subject", type: "string", graph: "subject", rws: "Subject", notes: "" },
  { name: "size", type: "integer", graph: "size", rws: "Size", notes: "bytes" },
  {
    name: "status",
    type: "string",
    graph: "status",
    rws: "Status",
    notes:
      "Delivered, Failed, Pending, Expanded, Quarantined, FilteredAsSpam, GettingStatus, None, Unknown, Recalled; unknown values pass through; a changed status is a new record",
  },
  { name: "from_ip", type: "string", graph: "fromIP", rws: "FromIP", notes: "" },
  { name: "to_ip", type: "string", graph: "toIP", rws: "ToIP", notes: "" },
  { name: "index", type: "integer", graph: "position in the query result", rws: "Index", notes: "" },
  { name: "organization", type: "string", graph: "configured organization or tenant", rws: "Organization", notes: "" },
  { name: "tenant_id", type: "string", graph: "configured tenant", rws: "configured tenant", notes: "" },
  { name: "source", type: "string", graph: "graph", rws: "rws", notes: "which API produced it" },
  { name: "window_start", type: "time", graph: "query window", rws: "StartDate", notes: "window the record was fetched in" },
  { name: "window_end", type: "time", graph: "query window", rws: "EndDate", notes: "window the record was fetched in" },
  {
    name: "direction",
    type: "string",
    graph: "derived",
    rws: "derived",
    notes: "inbound, outbound, internal, external from local_domains; omitted when none configured",
  },
  { name: "recipient_count", type: "integer", graph: "", rws: "", notes: "only when grouped by message" },
  { name: "detail.date", type: "time", graph: "dateTime", rws: "", notes: "detail records only" },
  { name: "detail.event", type: "string", graph: "event", rws: "", notes: "detail records only" },
  { name: "detail.action", type: "string", graph: "action", rws: "", notes: "detail records only" },
  { name: "detail.description", type: "string", graph: "description", rws: "", notes: "detail records only" },
  { name: "detail.data", type: "string", graph: "data", rws: "", notes: "detail records only" },
  {
    name: "original",
    type: "string",
    graph: "the item as received, JSON",
    rws: "the entry as received, JSON",
    notes: "only with schema.preserve_original: true",
  },
];

// `Recalled`: added by Microsoft after Graph froze the enum; Graph sends `recalled` (we ask for it with
// `Prefer: include-unknown-enum-members`), the legacy report its PascalCase form. One spelling for both.
export const STATUSES = [
  "Delivered",
  "Failed",
  "Pending",
  "Expanded",
  "Quarantined",
  "FilteredAsSpam",
  "GettingStatus",
  "None",
  "Unknown",
  "Recalled",
];
