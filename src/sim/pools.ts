// Vocabulary for generated mail. Chosen to stress the collector: XML/JSON special characters, quotes,
// several scripts, emoji, zero-width characters, mixed-case addresses, IPv6, and the odd >4 KiB subject.
import type { Rng } from "./prng.js";

export const LOCAL_PARTS = [
  "adele.vance",
  "alex.wilber",
  "megan.bowen",
  "lynne.robbins",
  "diego.siciliani",
  "isaiah.langer",
  "johanna.lorenz",
  "lee.gu",
  "miriam.graham",
  "nestor.wilke",
  "patti.fernandez",
  "pradeep.gupta",
  "grady.archie",
  "henrietta.mueller",
  "joni.sherman",
  "it-helpdesk",
  "finance",
  "hr",
  "o'brien.sean",
];

export const EXTERNAL_LOCAL_PARTS = [
  "j.smith",
  "billing",
  "newsletter",
  "support",
  "no-reply",
  "maria.garcia",
  "chen.wei",
  "noreply+bounce",
  "sales",
  "k.tanaka",
  "info",
];

export const EXTERNAL_DOMAINS = [
  "fabrikam.com",
  "tailspintoys.com",
  "northwindtraders.com",
  "adatum.com",
  "gmail.com",
  "outlook.com",
  "example.org",
  "wingtiptoys.co.uk",
  "mail.litware.net",
  "relecloud.de",
];

const SUBJECTS = [
  "Quarterly report Q&A",
  'Re: "Budget" <draft> & notes',
  "Réunion d'équipe – ordre du jour",
  "会议通知：下周一 10:00",
  "🚀 Launch update 🎉",
  "Invoice #{n} from Fabrikam",
  "Über\u200bweisung be\u00adstätigt",
  "[EXTERNAL] Password expiry notice",
  "It's <b>not</b> HTML & that's \"fine\"",
  "Тестовое сообщение",
  "مرحبا بالعالم",
  "FW: RE: Contract ]]> review",
  "Tab\tseparated\tsubject",
  "Your order {n} has shipped 📦",
  "Weekly digest",
  "Meeting: Project Falcon sync",
  "",
];

export function subject(rng: Rng): string {
  if (rng.chance(0.003)) return longSubject(rng);
  const s = rng.pick(SUBJECTS);
  return s.includes("{n}") ? s.replace("{n}", String(10000 + rng.int(90000))) : s;
}

/** Over 4 KiB of UTF-8, to find buffers and fields that truncate. */
function longSubject(rng: Rng): string {
  const unit = "Long subject <&> “quoted” ünïcödé 🙂 ";
  return `#${rng.int(1000)} ` + unit.repeat(120);
}

/** Convert the Graph (camelCase) spelling to the Reporting Web Service (PascalCase) one. */
export function rwsStatus(graphStatus: string): string {
  return graphStatus.charAt(0).toUpperCase() + graphStatus.slice(1);
}

/**
 * Realistic mix: mostly delivered. Cumulative thresholds, Graph JSON spellings (docs §5): there is no `none`
 * in Graph. `recalled` is a value added after the enum was frozen: Graph shows it by name only to requests
 * that send `Prefer: include-unknown-enum-members`, else as `unknownFutureValue` (graph.ts).
 * GUESS (no public evidence): the shares, and that the legacy report spells these rows `Recalled`; the legacy
 * report's `None` (rejected or redirected) has no Graph counterpart, so the simulator generates no such rows.
 */
const STATUS_TABLE: Array<[number, string]> = [
  [0.8, "delivered"],
  [0.85, "failed"],
  [0.9, "filteredAsSpam"],
  [0.93, "quarantined"],
  [0.95, "pending"],
  [0.97, "expanded"],
  [0.99, "gettingStatus"],
  [1, "recalled"],
];

export function status(rng: Rng): string {
  const u = rng.next();
  for (const [t, s] of STATUS_TABLE) if (u < t) return s;
  return "delivered";
}

export function publicIPv4(rng: Rng): string {
  const nets = ["203.0.113", "198.51.100", "192.0.2", "40.107.22", "52.101.64"];
  return `${rng.pick(nets)}.${1 + rng.int(254)}`;
}

export function ip(rng: Rng): string {
  if (rng.chance(0.08)) return `2001:db8:${rng.int(65536).toString(16)}::${(1 + rng.int(65535)).toString(16)}`;
  return publicIPv4(rng);
}

/** Occasionally mixed case, as real senders type it; the collector lower-cases. */
export function address(rng: Rng, local: string, domain: string): string {
  const a = `${local}@${domain}`;
  if (rng.chance(0.05)) return a.replace(/(^|[.@])([a-z])/g, (_m, p: string, c: string) => p + c.toUpperCase());
  return a;
}

/** Message size in bytes, log-uniform between 2 KB and 25 MB. */
export function size(rng: Rng): number {
  const lo = Math.log(2000);
  const hi = Math.log(25_000_000);
  return Math.round(Math.exp(lo + rng.next() * (hi - lo)));
}
