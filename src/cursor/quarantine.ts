// The quarantine file: rows a source had to skip, one JSON line each, in state_dir beside the state (0600,
// never through a symlink). Bounded: past `maxBytes` further rows are only counted and logged, so a source
// that sends nothing but garbage cannot fill the disk. Each row is cut to `maxRowBytes`.
import { closeSync, fstatSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../log/logger.js";
import type { RejectedRow, RowRejects } from "../sources/row-rejects.js";
import type { SourceKind, Window } from "../types.js";
import { ensurePrivateDir, openPrivateAppend } from "./atomic.js";

export const QUARANTINE_MAX_BYTES = 4 * 1024 * 1024;
const MAX_ROW_BYTES = 8 * 1024;

export class Quarantine implements RowRejects {
  readonly file: string;
  /** Rows rejected by this process so far (written or not). */
  total = 0;
  private full = false;

  constructor(
    private readonly dir: string,
    tenantId: string,
    source: string,
    private readonly logger: Logger,
    private readonly maxBytes = QUARANTINE_MAX_BYTES,
  ) {
    this.file = join(dir, `${tenantId.replace(/[^A-Za-z0-9._-]/g, "_")}.${source}.quarantine.jsonl`);
  }

  reject(source: SourceKind, window: Window, rows: RejectedRow[]): void {
    if (rows.length === 0) return;
    this.total += rows.length;
    const kept = this.write(source, window, rows);
    // One line per page: how many, where, why (never the row's content: addresses and subjects stay out of logs).
    this.logger.warn("rows that cannot be mapped were skipped and quarantined", {
      source,
      window_start: window.start.toISOString(),
      rejected: rows.length,
      quarantined: kept,
      first: rows.slice(0, 5).map((r) => `page ${r.page} row ${r.position}: ${r.reason}`),
      quarantine_file: this.file,
      rejected_total: this.total,
    });
  }

  private write(source: SourceKind, window: Window, rows: RejectedRow[]): number {
    if (this.full) return 0;
    let fd: number;
    try {
      ensurePrivateDir(this.dir);
      fd = openPrivateAppend(this.file);
    } catch (err) {
      this.logger.error("cannot write the quarantine file", { file: this.file, error: (err as Error).message });
      return 0;
    }
    let kept = 0;
    try {
      let size = fstatSync(fd).size;
      for (const r of rows) {
        let raw = JSON.stringify(r.raw) ?? "null";
        if (raw.length > MAX_ROW_BYTES) raw = JSON.stringify(raw.slice(0, MAX_ROW_BYTES) + "…(cut)");
        const line = Buffer.from(
          `{"time":"${new Date().toISOString()}","source":"${source}","window_start":"${window.start.toISOString()}","page":${r.page},"position":${r.position},"reason":${JSON.stringify(r.reason)},"row":${raw}}\n`,
        );
        if (size + line.length > this.maxBytes) {
          this.full = true;
          this.logger.error("the quarantine file is full; further rejected rows are only counted", {
            file: this.file,
            max_bytes: this.maxBytes,
          });
          break;
        }
        for (let off = 0; off < line.length;) off += writeSync(fd, line, off, line.length - off);
        size += line.length;
        kept++;
      }
    } finally {
      closeSync(fd);
    }
    return kept;
  }
}
