// getDetailsByRecipient events: derived only from the record, the seed and the clock, so they are identical
// across processes and consistent with the record's status, direction and status changes. As the real API
// (docs §5): every event's `id` is the trace id, `dateTime` has whole seconds, and two events of one
// recipient can share a second and even the event name. Only events that happened by `now` are shown, so a
// row whose status changes later gains events at the end of its list.
import { Rng, hashString } from "./prng.js";
import { processingStepMs } from "./processing.js";
import type { SimRecord } from "./traffic.js";
import type { GraphDetailItem } from "./types.js";

type Ev = [event: string, action: string, description: string];

/** The events up to submission, and those that settle the final status. GUESS: texts and mix (no public corpus). */
function eventsFor(r: SimRecord, rng: Rng): { start: Ev[]; end: Ev[] } {
  const rcpt = r.item.recipientAddress;
  const recv: Ev = [
    "Receive",
    "",
    `Message received by: ${rng.pick(["AM6PR01MB1234", "DB9PR02MB5678", "VI1PR03MB9012"])}.eurprd03.prod.outlook.com`,
  ];
  const submit: Ev = ["Submit", "", "The message was submitted."];
  const rule: Ev = ["Transport rule", "", "Transport rule 'Add external disclaimer' was applied."];
  // Two rules can fire in the same second: same event name, same second, different description.
  const rule2: Ev = ["Transport rule", "", "Transport rule 'Tag external mail' was applied."];
  const ruled = rng.chance(0.3);
  const start: Ev[] = ruled ? [recv, rule, ...(rng.chance(0.5) ? [rule2] : []), submit] : [recv, submit];
  const deliver: Ev =
    r.direction === "outbound" && r.item.toIP
      ? ["Send", "", "The message was sent to the external server."]
      : ["Deliver", "", "The message was successfully delivered."];
  switch (r.item.status) {
    case "failed":
      return { start, end: [["Fail", "", `Reason: [{LED=550 5.1.1 RESOLVER.ADR.RecipNotFound; not found}]`]] };
    case "filteredAsSpam":
      return {
        start: [recv],
        end: [
          ["Spam", "MoveToJmf", "The message was marked as spam (SCL 6)."],
          ["Deliver", "", "The message was delivered to the Junk Email folder."],
        ],
      };
    case "quarantined":
      return { start: [recv], end: [["Spam", "Quarantine", "The message was quarantined (high confidence phishing)."]] };
    case "pending":
      return { start, end: [["Defer", "", "The message delivery was deferred: 451 4.4.0 DNS query failed."]] };
    case "expanded":
      return { start: [recv], end: [["Expand", "", `The distribution group ${rcpt} was expanded.`]] };
    case "gettingStatus":
      return { start, end: [] };
    case "recalled":
      return { start, end: [deliver, ["Recall", "", "The message was recalled by the sender."]] };
    default:
      return { start, end: [deliver] };
  }
}

const escapeAttr = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const isoSeconds = (ms: number) => new Date(ms).toISOString().slice(0, 19) + "Z";

/** The detail events of `r` that happened by `now`, oldest first. */
export function detailsFor(seed: number, r: SimRecord, now: number): GraphDetailItem[] {
  const rng = new Rng(hashString(`${r.item.id}|${r.item.recipientAddress.toLowerCase()}`, seed));
  const { start, end } = eventsFor(r, rng);
  const data =
    `<root><MEP Name="ConnectorId" String="${escapeAttr(r.direction === "inbound" ? "Default Frontend" : "Outbound to Internet")}"/>` +
    `<MEP Name="ClientIP" String="${escapeAttr(r.item.fromIP ?? "")}"/><MEP Name="RecipientCount" Integer="1"/>` +
    `<MEP Name="MessageId" String="${escapeAttr(r.item.messageId)}"/></root>`;
  const timed: Array<[number, Ev]> = [];
  // Submission within a second or two of receipt: several events share a whole second.
  let t = Math.floor(r.ms / 1000) * 1000;
  for (const ev of start) {
    timed.push([t, ev]);
    if (rng.chance(0.4)) t += 1000;
  }
  const states = r.states;
  if (states) {
    // A transient `pending` state is a deferral: it shows up as its own event when it starts.
    for (const s of states.slice(1, -1))
      if (s.status === "pending") timed.push([s.at, ["Defer", "", "The message delivery was deferred: 451 4.7.500 Server busy."]]);
  }
  // The final events happen at the last processing step: the status change, or a few seconds after receipt.
  const endAt = Math.max(t, states ? states[states.length - 1]!.at : r.ms + processingStepMs(r));
  for (const ev of end) timed.push([endAt, ev]);
  return timed
    .filter(([at]) => at <= now)
    .sort((a, b) => a[0] - b[0])
    .map(([at, [event, action, description]]) => {
      return { id: r.item.id, messageId: r.item.messageId, dateTime: isoSeconds(at), event, action, description, data };
    });
}
