// Crash-safe file replacement: write a temp file, fsync it, rename over the target, fsync the directory.
// A kill -9 at any instant leaves either the old or the new content, never a torn file.
//
// The state directory is trusted only if nobody else can write into it: a directory another user (or group)
// can write lets them plant a symlink where our state, journal or temp file goes and have us overwrite or
// disclose another file. So the directory must be ours and not group/world-writable, every file in it is
// opened with O_NOFOLLOW, temp names are unpredictable and created with O_EXCL, and a file that is not ours
// is refused without ever printing what it contains.
import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  fsync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeSync,
  unlinkSync,
  mkdirSync,
  readdirSync,
  statSync,
} from "node:fs";
import { dirname, basename, join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { CollectorError } from "../errors.js";

const { O_NOFOLLOW, O_CREAT, O_EXCL, O_WRONLY, O_RDONLY } = constants;

function modeText(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

/** Create the state directory (0700); a path that cannot be one is a config error naming it, not a raw errno. */
function makeDir(dir: string): void {
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

/** Create the directory (0700) if needed, then refuse it unless it is ours and only we can write to it. */
export function ensurePrivateDir(dir: string): void {
  makeDir(dir);
  const st = statSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory())
    throw new CollectorError("state", `state_dir ${dir} is not a directory`, { hint: "point state_dir at a directory" });
  if (uid !== undefined && st.uid !== uid) {
    throw new CollectorError("state", `state_dir ${dir} belongs to uid ${st.uid}, not to us (uid ${uid})`, {
      hint: `use a directory of our own (chown ${uid} ${dir}, mode 0700)`,
    });
  }
  if (st.mode & 0o022) {
    throw new CollectorError(
      "state",
      `state_dir ${dir} is writable by ${st.mode & 0o002 ? "everyone" : "its group"} (mode ${modeText(st.mode)}); another user could replace the cursor`,
      { hint: `chmod 700 ${dir}` },
    );
  }
}

/**
 * A state-dir file opened for reading, or undefined when it does not exist. Refuses (without printing what is
 * in it) a symlink, anything that is not a regular file, a file of another user and a file others can write.
 */
function openPrivateRead(file: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(file, O_RDONLY | O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw notOurs(file, "is a symbolic link");
    throw err;
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile()) throw notOurs(file, "is not a regular file");
    if (uid !== undefined && st.uid !== uid) throw notOurs(file, `belongs to uid ${st.uid}`);
    if (st.mode & 0o022) throw notOurs(file, `is writable by others (mode ${modeText(st.mode)})`);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** The content of a state-dir file, or undefined when it does not exist (checked as `openPrivateRead` says). */
export function readPrivateFile(file: string): string | undefined {
  const fd = openPrivateRead(file);
  if (fd === undefined) return undefined;
  try {
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

/**
 * Each complete line of a state-dir file (without its "\n"), read a piece at a time: a journal can hold a
 * whole window's identities (60 MB for 5 M rows), which need never exist as one string. Whatever follows the
 * last "\n" (a torn append) is left out. False when the file does not exist.
 */
export function forEachPrivateLine(file: string, onLine: (line: string) => void, pieceBytes = 1 << 20): boolean {
  const fd = openPrivateRead(file);
  if (fd === undefined) return false;
  try {
    const buf = Buffer.allocUnsafe(pieceBytes);
    const decoder = new StringDecoder("utf8");
    let rest = "";
    for (let n; (n = readSync(fd, buf, 0, pieceBytes, null)) > 0;) {
      const text = rest + decoder.write(buf.subarray(0, n));
      let from = 0;
      for (let nl; (nl = text.indexOf("\n", from)) >= 0; from = nl + 1) onLine(text.slice(from, nl));
      rest = text.slice(from);
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

function notOurs(file: string, why: string): CollectorError {
  return new CollectorError("state", `${file} ${why}; refusing to use it`, {
    hint: "move it away; the state directory must hold only our own 0600 files",
  });
}

/** Open a state-dir file for appending, never through a symlink. */
export function openPrivateAppend(file: string): number {
  try {
    return openSync(file, constants.O_RDWR | constants.O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOOP") throw notOurs(file, "is a symbolic link");
    throw err;
  }
}

const tempPrefix = (file: string) => `.${basename(file)}.tmp-`;

/**
 * Temp files a killed writer left behind (kill -9 between write and rename). Only call this while holding the
 * state's lock: then no other process can be writing one, and each is garbage (the target is intact).
 */
export function removeStaleTemps(file: string): number {
  const prefix = tempPrefix(file);
  let removed = 0;
  for (const name of readdirSync(dirname(file))) {
    if (name.startsWith(prefix) && !name.startsWith(`${prefix}${process.pid}-`)) {
      try {
        unlinkSync(join(dirname(file), name)); // unlink removes a symlink itself, never its target
        removed++;
      } catch {
        /* raced with nobody: we hold the lock; ignore */
      }
    }
  }
  return removed;
}

/**
 * A temp file beside `file` with `data` written into it, still open (the caller flushes, closes and renames).
 * Unpredictable name, created exclusively, never through a symlink: nothing planted in advance can be
 * written through. Writing into the page cache is quick, so it is done here, in order, synchronously.
 */
function writeTemp(file: string, data: string | Buffer | Iterable<string>): { fd: number; tmp: string } {
  const tmp = join(dirname(file), `${tempPrefix(file)}${process.pid}-${randomBytes(6).toString("hex")}`);
  const fd = openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    for (const piece of typeof data === "string" || Buffer.isBuffer(data) ? [data] : data) {
      const buf = typeof piece === "string" ? Buffer.from(piece) : piece;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    }
  } catch (err) {
    discardTemp(fd, tmp);
    throw err;
  }
  return { fd, tmp };
}

function discardTemp(fd: number, tmp: string): void {
  closeSync(fd);
  try {
    unlinkSync(tmp);
  } catch {
    /* already gone */
  }
}

/**
 * `writeFileAtomic` with the fsyncs in the thread pool, so the event loop never waits for a disk flush. Many
 * tenants in one process commit many times a second: synchronous fsyncs there serialise every tenant behind
 * the slowest flush (each hop to the pool costs a wake-up, so only the flushes go there). `durable: false`
 * skips both fsyncs (still atomic: readers see the old or the new file) for files that only report, like a
 * tenant's status.
 */
export async function writeFileAtomicAsync(
  file: string,
  data: string | Buffer | Iterable<string>,
  opts: { durable?: boolean } = {},
): Promise<void> {
  const durable = opts.durable !== false;
  const { fd, tmp } = writeTemp(file, data);
  if (durable) {
    try {
      await new Promise<void>((ok, fail) => fsync(fd, (err) => (err ? fail(err) : ok())));
    } catch (err) {
      discardTemp(fd, tmp);
      throw err;
    }
  }
  closeSync(fd);
  renameSync(tmp, file);
  if (!durable) return;
  try {
    const dfd = openSync(dirname(file), "r");
    try {
      await new Promise<void>((ok, fail) => fsync(dfd, (err) => (err ? fail(err) : ok())));
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}

/** `data` may be pieces (written in order), so a large file never has to exist as one string. */
export function writeFileAtomic(file: string, data: string | Buffer | Iterable<string>): void {
  const { fd, tmp } = writeTemp(file, data);
  try {
    fsyncSync(fd);
  } catch (err) {
    discardTemp(fd, tmp);
    throw err;
  }
  closeSync(fd);
  // rename replaces whatever is at `file` (a symlink included) and never writes through it.
  renameSync(tmp, file);
  try {
    const dfd = openSync(dirname(file), "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}
