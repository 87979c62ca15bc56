// One poller per tenant+source: an exclusive lock file holding our pid. Fluent Bit may start `once` again
// while the previous run still works; the second run must notice and step aside quietly. A lock left by a
// killed process (pid no longer alive) is taken over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";

export class LockBusyError extends Error {
  constructor(readonly file: string, readonly pid: number) {
    super(`already running (pid ${pid} holds ${file})`);
    this.name = "LockBusyError";
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface Lock {
  file: string;
  release(): void;
}

export function acquireLock(file: string): Lock {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(file, "utf8").trim() === String(process.pid)) unlinkSync(file);
        } catch { /* gone already */ }
      };
      process.once("exit", release);
      return { file, release: () => { process.removeListener("exit", release); release(); } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let pid: number;
      try { pid = Number(readFileSync(file, "utf8").trim()); } catch { continue; }
      if (pid === process.pid) throw new LockBusyError(file, pid);
      if (alive(pid)) throw new LockBusyError(file, pid);
      // Stale: the holder died without cleaning up (kill -9, power loss).
      try { unlinkSync(file); } catch { /* raced with another taker */ }
    }
  }
  throw new LockBusyError(file, NaN);
}
