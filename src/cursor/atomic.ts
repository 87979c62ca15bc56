// Crash-safe file replacement: write a temp file, fsync it, rename over the target, fsync the directory.
// A kill -9 at any instant leaves either the old or the new content, never a torn file.
import { closeSync, fsyncSync, openSync, renameSync, writeSync, unlinkSync, mkdirSync, chmodSync, readdirSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import { CollectorError } from "../errors.js";

/** Create the state directory (0700); a path that cannot be one is a config error naming it, not a raw errno. */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why: Record<string, string> = {
      ENOTDIR: "is not a directory (it or a parent is a file)",
      EEXIST: "exists and is not a directory",
      EACCES: "cannot be created or entered (permission denied)",
      EPERM: "cannot be created (operation not permitted)",
      EROFS: "is on a read-only file system",
    };
    if (!code || !why[code]) throw err;
    throw new CollectorError("config", `state_dir ${dir} ${why[code]}`, {
      hint: "set state_dir (or O365_STATE_DIR) to a directory this user can write, e.g. /var/lib/o365-message-trace",
      code,
    });
  }
}

/**
 * Temp files a killed writer left behind (kill -9 between write and rename). Only call this while holding the
 * state's lock: then no other process can be writing one, and each is garbage (the target is intact).
 */
export function removeStaleTemps(file: string): number {
  const prefix = `.${basename(file)}.tmp-`;
  let removed = 0;
  for (const name of readdirSync(dirname(file))) {
    if (name.startsWith(prefix) && name !== `${prefix}${process.pid}`) {
      try {
        unlinkSync(join(dirname(file), name));
        removed++;
      } catch { /* raced with nobody: we hold the lock; ignore */ }
    }
  }
  return removed;
}

/** `data` may be pieces (written in order), so a large file never has to exist as one string. */
export function writeFileAtomic(file: string, data: string | Buffer | Iterable<string>): void {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.tmp-${process.pid}`);
  const fd = openSync(tmp, "w", 0o600);
  try {
    for (const piece of typeof data === "string" || Buffer.isBuffer(data) ? [data] : data) {
      const buf = typeof piece === "string" ? Buffer.from(piece) : piece;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
  closeSync(fd);
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  try {
    const dfd = openSync(dir, "r");
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}
