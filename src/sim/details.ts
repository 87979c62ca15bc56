// getDetailsByRecipient events: 2–5 per record, derived only from the record and the seed so they are
// identical across processes and consistent with the record's status and direction.
import { Rng, guid, hashString } from "./prng.js";
import type { SimRecord } from "./traffic.js";
import type { GraphDetailItem } from "./types.js";

type Ev = [event: string, action: string, description: string];

function eventsFor(r: SimRecord, rng: Rng): Ev[] {
  const rcpt = r.item.recipientAddress;
  const recv: Ev = ["Receive", "", `Message received by: ${rng.pick(["AM6PR01MB1234", "DB9PR02MB5678", "VI1PR03MB9012"])}.eurprd03.prod.outlook.com`];
  const submit: Ev = ["Submit", "", "The message was submitted."];
  const rule: Ev = ["Transport rule", "", "Transport rule 'Add external disclaimer' was applied."];
  const withRule = (evs: Ev[]) => (rng.chance(0.3) && evs.length < 5 ? [evs[0]!, rule, ...evs.slice(1)] : evs);
  switch (r.item.status) {
    case "failed":
      return withRule([recv, submit, ["Fail", "", `Reason: [{LED=550 5.1.1 RESOLVER.ADR.RecipNotFound; not found}]`]]);
    case "filteredAsSpam":
      return [recv, ["Spam", "MoveToJmf", "The message was marked as spam (SCL 6)."], ["Deliver", "", "The message was delivered to the Junk Email folder."]];
    case "quarantined":
      return [recv, ["Spam", "Quarantine", "The message was quarantined (high confidence phishing)."]];
    case "pending":
      return [recv, submit, ["Defer", "", "The message delivery was deferred: 451 4.4.0 DNS query failed."]];
    case "expanded":
      return [recv, ["Expand", "", `The distribution group ${rcpt} was expanded.`]];
    case "gettingStatus":
      return [recv, submit];
    case "none":
      return [recv, ["Drop", "", "The message was dropped by a transport rule."]];
    default:
      return withRule([
        recv,
        submit,
        r.direction === "outbound" && r.item.toIP ? ["Send", "", "The message was sent to the external server."] : ["Deliver", "", "The message was successfully delivered."],
      ]);
  }
}

const escapeAttr = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function detailsFor(seed: number, r: SimRecord): GraphDetailItem[] {
  const rng = new Rng(hashString(`${r.item.id}|${r.item.recipientAddress.toLowerCase()}`, seed));
  const evs = eventsFor(r, rng);
  let t = r.ms;
  return evs.map(([event, action, description], k) => {
    if (k > 0) t += 50 + rng.int(5000);
    const data =
      `<root><MEP Name="ConnectorId" String="${escapeAttr(r.direction === "inbound" ? "Default Frontend" : "Outbound to Internet")}"/>` +
      `<MEP Name="ClientIP" String="${escapeAttr(r.item.fromIP ?? "")}"/><MEP Name="RecipientCount" Integer="1"/>` +
      `<MEP Name="MessageId" String="${escapeAttr(r.item.messageId)}"/></root>`;
    return { id: guid(rng), messageId: r.item.messageId, dateTime: new Date(t).toISOString(), event, action, description, data };
  });
}
