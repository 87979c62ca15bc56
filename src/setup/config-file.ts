// The config file `setup` writes: a new one with a short header, or an existing one updated in place (only
// the keys setup owns; comments and every other key are kept). Unchanged content is not rewritten.
import { existsSync, readFileSync } from "node:fs";
import { isMap, isScalar, parseDocument, Document } from "yaml";
import { writeFileAtomic } from "../cursor/atomic.js";
import { CollectorError } from "../errors.js";

export interface ConfigValues {
  tenant_id: string;
  /** Source kind; written as `source: { type: KIND }` unless the file already names that kind. */
  source: string;
  cloud?: string;
  auth: {
    method: "client_secret" | "certificate";
    client_id: string;
    certificate?: { private_key_file: string; certificate_file: string };
  };
  endpoints?: { login?: string; graph?: string; rws?: string };
  ca_file?: string;
}

export function readConfigDocument(file: string): Document | undefined {
  if (!existsSync(file)) return undefined;
  const doc = parseDocument(readFileSync(file, "utf8"));
  if (doc.errors.length > 0) {
    throw new CollectorError("config", `${file} is not valid YAML (${doc.errors[0]!.message.split("\n")[0]})`, {
      hint: "fix it or choose another --config-out",
    });
  }
  return doc;
}

/** A string value at `path` of an existing config, if any. */
export function configValue(doc: Document | undefined, path: string[]): string | undefined {
  const v = doc?.getIn(path);
  return typeof v === "string" ? v : undefined;
}

/** The new file text, or undefined when the file already says all of this. */
export function renderConfig(file: string, v: ConfigValues, secretFile?: string): { text: string; changed: boolean } {
  const existing = readConfigDocument(file);
  const doc = existing ?? new Document({});
  if (!existing) {
    doc.commentBefore =
      ` Written by \`o365-message-trace setup\` for tenant ${v.tenant_id}.` +
      (v.auth.method === "client_secret"
        ? `\n The client secret is not in this file: load ${secretFile ?? "the env file"} (O365_CLIENT_SECRET) into the collector's environment.`
        : "");
  }
  doc.setIn(["tenant_id"], v.tenant_id);
  const source = doc.get("source", true);
  const kind = isMap(source) ? source.get("type") : isScalar(source) ? source.value : undefined;
  // The old flat form (`source: graph`) naming the same kind is left as the user wrote it.
  if (kind !== v.source) doc.set("source", doc.createNode({ type: v.source }));
  if (v.cloud) doc.setIn(["cloud"], v.cloud);
  doc.setIn(["auth", "method"], v.auth.method);
  doc.setIn(["auth", "client_id"], v.auth.client_id);
  if (v.auth.certificate) {
    doc.setIn(["auth", "certificate", "private_key_file"], v.auth.certificate.private_key_file);
    doc.setIn(["auth", "certificate", "certificate_file"], v.auth.certificate.certificate_file);
  }
  // The login host under `endpoints:`, the source's own API host in its section (`source.endpoint`; an old
  // `endpoints.<kind>` of that source is replaced). Setup's Graph host for a non-Graph source is its own business.
  if (v.endpoints?.login) doc.setIn(["endpoints", "login"], v.endpoints.login);
  const own = (v.endpoints as Record<string, string | undefined> | undefined)?.[v.source];
  if (own) {
    if (!isMap(doc.get("source", true))) doc.set("source", doc.createNode({ type: v.source }));
    doc.setIn(["source", "endpoint"], own);
    doc.deleteIn(["endpoints", v.source]);
  }
  if (v.ca_file) doc.setIn(["http", "ca_file"], v.ca_file);
  const text = doc.toString();
  const before = existsSync(file) ? readFileSync(file, "utf8") : undefined;
  return { text, changed: before !== text };
}

export function writeConfig(file: string, text: string): void {
  writeFileAtomic(file, text);
}
