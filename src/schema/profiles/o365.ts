// The default profile: our own `o365.message.*` contract (shared/docs/schema.md), unchanged. Its table is the
// field list of ../fields.ts (`o365.message.original` only when `preserve_original` is on).
import { FIELDS, PREFIX } from "../fields.js";
import { o, type Profile } from "./table.js";

export const O365_ORIGINAL = PREFIX + "original";

export const o365Profile: Profile = {
  name: "o365",
  title: "o365.message.* (default)",
  schemaVersion: "o365-message-trace record contract",
  notes: [
    "Keys are flat (`o365.message.subject`) or nested (`{o365:{message:{subject}}}`) as `key_style` says.",
    "Grouped records (`group_by: message`) carry `recipient` as an array and `recipient_count`; detail events add `detail.*`.",
  ],
  fields: FIELDS.map((f) => ({
    field: PREFIX + f.name,
    type: f.type,
    from: [f.graph && `Graph ${f.graph}`, f.rws && `RWS ${f.rws}`, f.notes].filter(Boolean).join("; "),
    value: f.name === "original" ? (v) => v.original : (v) => o(v, f.name),
  })),
};
