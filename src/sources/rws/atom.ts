// Atom XML reader for the MessageTrace feed (the service's default format, docs §2). Namespaces are
// resolved from the xmlns declarations, not from the conventional `d:`/`m:` prefixes, so a feed that binds
// other prefixes (or declares them on each entry) reads the same. Values are typed by `m:type`; `m:null`
// is null. Any deviation from a well-formed feed is a garbled page: the caller retries it, never half-reads.
// An entry of a well-formed feed that cannot be read (no m:properties, a value that does not fit its m:type)
// is an UnreadableEntry at its position: that row is rejected and quarantined, the page's others delivered.
import { XMLParser } from "fast-xml-parser";
import { EntryProblem, garbled, typedValue, UnreadableEntry, type RwsEntry, type RwsPage, type RwsValue } from "./values.js";

export const NS_ATOM = "http://www.w3.org/2005/Atom";
export const NS_D = "http://schemas.microsoft.com/ado/2007/08/dataservices";
export const NS_M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata";
const NS_XML = "http://www.w3.org/XML/1998/namespace";

// Every element becomes an array of objects with its text under "#text" and attributes under "@_…":
// one uniform shape to walk, whatever the feed's layout. Tag values stay strings; `m:type` decides.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Numeric character references (&#233; &#x1F680;) in subjects; the five XML entities are always decoded.
  htmlEntities: true,
  alwaysCreateTextNode: true,
  isArray: (_name: string, _path: unknown, _leaf: boolean, isAttribute: boolean) => !isAttribute,
});

type El = Record<string, unknown>;
type Ns = ReadonlyMap<string, string>;

/** The namespace scope inside `el`: the parent's plus el's own xmlns declarations. */
function scope(el: El, parent: Ns): Ns {
  let out: Map<string, string> | undefined;
  for (const key of Object.keys(el)) {
    if (key !== "@_xmlns" && !key.startsWith("@_xmlns:")) continue;
    out ??= new Map(parent);
    out.set(key === "@_xmlns" ? "" : key.slice(8), String(el[key]));
  }
  return out ?? parent;
}

/** [namespace URI, local name] of a prefixed name; attributes without a prefix have no namespace. */
function resolve(name: string, ns: Ns, attribute = false): [string, string] {
  const colon = name.indexOf(":");
  if (colon < 0) return [attribute ? "" : (ns.get("") ?? ""), name];
  const prefix = name.slice(0, colon);
  return [prefix === "xml" ? NS_XML : (ns.get(prefix) ?? `?${prefix}`), name.slice(colon + 1)];
}

/** Child elements of `el` named {uri}local, each with its own namespace scope. */
function children(el: El, ns: Ns, uri: string, local: string): Array<[El, Ns]> {
  const out: Array<[El, Ns]> = [];
  for (const [key, value] of Object.entries(el)) {
    if (key.startsWith("@_") || key.startsWith("#") || key.startsWith("?") || !Array.isArray(value)) continue;
    for (const child of value as El[]) {
      const childNs = scope(child, ns);
      const [u, l] = resolve(key, childNs);
      if (u === uri && l === local) out.push([child, childNs]);
    }
  }
  return out;
}

/** The value of attribute {uri}local on `el`. */
function attr(el: El, ns: Ns, uri: string, local: string): string | undefined {
  for (const [key, value] of Object.entries(el)) {
    if (!key.startsWith("@_")) continue;
    const [u, l] = resolve(key.slice(2), ns, true);
    if (u === uri && l === local) return String(value);
  }
  return undefined;
}

function text(el: El): string {
  const t = el["#text"];
  return t === undefined || t === null ? "" : String(t);
}

/** The typed properties of one `m:properties` element, names lower-cased (`raw` keeps the service's names). */
function properties(props: El, ns: Ns, raw: Record<string, RwsValue>): RwsEntry {
  const entry: RwsEntry = {};
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith("@_") || key.startsWith("#") || !Array.isArray(value)) continue;
    for (const el of value as El[]) {
      const elNs = scope(el, ns);
      const [u, local] = resolve(key, elNs);
      if (u !== NS_D) continue;
      let v: RwsValue;
      raw[local] = text(el); // as received, for the quarantine file should it not fit its type
      if (attr(el, elNs, NS_M, "null") === "true") v = null;
      else v = typedValue(local, attr(el, elNs, NS_M, "type"), text(el));
      entry[local.toLowerCase()] = v;
      raw[local] = v;
    }
  }
  return entry;
}

/** Parse one Atom page. `pageUrl` resolves a relative next link (after the feed's xml:base). */
export function parseAtom(body: string, pageUrl: string): RwsPage {
  // The service never sends a DTD; refusing one also rules out entity-expansion tricks.
  if (/<!DOCTYPE/i.test(body.slice(0, 2048))) throw garbled("a document with a DOCTYPE, not an Atom feed");
  let doc: El;
  try {
    doc = parser.parse(body, true) as El;
  } catch (e) {
    throw garbled(`XML that does not parse: ${(e as Error).message.slice(0, 120)}`);
  }
  const root = Object.keys(doc).filter((k) => !k.startsWith("?") && !k.startsWith("#"));
  const feeds = root.length === 1 ? children(doc, new Map(), NS_ATOM, "feed") : [];
  if (feeds.length !== 1) throw garbled(`XML whose root is <${root.join(", ") || "nothing"}>, not an Atom <feed>`);
  const [feed, ns] = feeds[0]!;

  const entries: RwsPage["entries"] = [];
  const raws: Array<Record<string, RwsValue>> = [];
  for (const [entry, entryNs] of children(feed, ns, NS_ATOM, "entry")) {
    // Properties live in <content>, or directly in <entry> for media-link entries.
    const holders: Array<[El, Ns]> = [...children(entry, entryNs, NS_ATOM, "content"), [entry, entryNs]];
    const props = holders.flatMap(([el, elNs]) => children(el, elNs, NS_M, "properties"));
    const raw: Record<string, RwsValue> = {};
    raws.push(raw);
    if (props.length !== 1) {
      entries.push(new UnreadableEntry(`an <entry> with ${props.length} m:properties elements`));
      continue;
    }
    try {
      entries.push(properties(props[0]![0], props[0]![1], raw));
    } catch (e) {
      if (!(e instanceof EntryProblem)) throw e;
      entries.push(new UnreadableEntry(e.message));
    }
  }

  let next: string | undefined;
  for (const [link, linkNs] of children(feed, ns, NS_ATOM, "link")) {
    if (attr(link, linkNs, "", "rel") !== "next") continue;
    const href = attr(link, linkNs, "", "href");
    if (!href) throw garbled('a <link rel="next"> without href');
    const base = attr(feed, ns, NS_XML, "base");
    try {
      next = new URL(href, base ? new URL(base, pageUrl) : pageUrl).toString();
    } catch {
      throw garbled(`a next link that is not a URL (${JSON.stringify(href.slice(0, 80))})`);
    }
  }
  return { entries, next, raws: raws.length > 0 ? raws : undefined };
}
