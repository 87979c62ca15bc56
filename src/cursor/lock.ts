// One poller per tenant+source. The lock is an exclusive advisory flock(2) on an open descriptor of the lock
// file: the kernel drops it when the holder dies, however it dies (kill -9, OOM, power loss), so there is no
// "stale lock" to judge and nothing a reused pid can fool (pid 1 in every container restart, or any pid that
// belongs to an unrelated process now). Taking the lock is one system call, so two takers racing for a lock
// left behind cannot both win. The pid written into the file is only for the "already running" message. The
// holder removes the file when it is done; a taker checks that the file it locked is still the lock file.
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { createRequire } from "node:module";

// fs-ext: native flock(2) binding (Node has none). Loaded lazily through require: it is a CommonJS addon.
const require = createRequire(import.meta.url);
let flockSync: ((fd: number, flags: "exnb") => void) | undefined;
function flock(fd: number, flags: "exnb"): void {
  flockSync ??= (require("fs-ext") as { flockSync: (fd: number, flags: string) => void }).flockSync;
  flockSync(fd, flags);
}

export class LockBusyError extends Error {
  constructor(
    readonly file: string,
    readonly pid: number,
  ) {
    super(`already running (${Number.isFinite(pid) ? `pid ${pid}` : "another process"} holds ${file})`);
    this.name = "LockBusyError";
  }
}

export interface Lock {
  file: string;
  release(): void;
}

function holderPid(file: string): number {
  try {
    const first = readFileSync(file, "utf8").split("\n")[0]!.trim();
    return /^\d+$/.test(first) ? Number(first) : NaN;
  } catch {
    return NaN;
  }
}

export function acquireLock(file: string): Lock {
  for (let attempt = 0; ; attempt++) {
    // O_NOFOLLOW: a symlink planted at the lock's path is refused (ELOOP), never followed. No O_TRUNC: the
    // holder's pid must stay readable until we own the lock.
    const fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    try {
      flock(fd, "exnb");
    } catch (err) {
      closeSync(fd);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EAGAIN" || code === "EWOULDBLOCK") throw new LockBusyError(file, holderPid(file));
      throw err;
    }
    // A holder removes the file on release. If it did so between our open and our flock, we locked an inode
    // that no longer is the lock file while a newcomer may hold the new one: start again on the current file.
    if (!sameFile(fd, file)) {
      closeSync(fd);
      if (attempt < 100) continue;
      throw new LockBusyError(file, NaN);
    }
    return held(file, fd);
  }
}

function sameFile(fd: number, file: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = lstatSync(file);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

function held(file: string, fd: number): Lock {
  // Ours now; whatever the file says is from a previous holder.
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    // Unlink while still holding it (see sameFile), then drop it by closing.
    try {
      unlinkSync(file);
    } catch {
      /* gone already */
    }
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  };
  process.once("exit", release);
  return {
    file,
    release: () => {
      process.removeListener("exit", release);
      release();
    },
  };
}
