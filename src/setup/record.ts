// What `setup` remembers beside the config (CONFIG.setup.json, no secrets): which app it set up, where the
// secret file is, and since when it has been waiting for provisioning, so `--resume` and `--rotate-secret`
// need no flags repeated.
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../cursor/atomic.js";

export interface SetupRecord {
  tenant: string;
  source: string;
  client_id: string;
  credential: "secret" | "certificate";
  secret_file?: string;
  /** ISO time the auth check started waiting; absent once it passed. */
  waiting_since?: string;
  waiting_for?: string;
}

export function recordFile(configFile: string): string {
  return `${configFile}.setup.json`;
}

export function readRecord(configFile: string): SetupRecord | undefined {
  const f = recordFile(configFile);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, "utf8")) as SetupRecord;
  } catch {
    return undefined;
  }
}

export function writeRecord(configFile: string, r: SetupRecord): void {
  writeFileAtomic(recordFile(configFile), JSON.stringify(r, null, 2) + "\n");
}
