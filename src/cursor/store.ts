// The state file: the end of the last fully delivered window per tenant+source, plus the dedupe identities.
// Written atomically (temp+fsync+rename, 0600). Between window commits, identities delivered so far are
// appended to a journal (one fdatasynced line per delivered page), so a crash mid-window re-sends at most
// the page that was in flight, and with dedupe on, nothing at all that the journal recorded. The store takes
// the state's lock (one writer per state) and holds it until close().
import { existsSync, openSync, closeSync, fdatasync, fstatSync, readFileSync, readSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { CollectorError } from "../errors.js";
import { SeenSet, fingerprint } from "../dedupe/seen.js";
import { ensurePrivateDir, removeStaleTemps, writeFileAtomic } from "./atomic.js";
import { acquireLock, type Lock } from "./lock.js";

export interface State {
  version: 1;
  tenant_id: string;
  source: string;
  /** End of the last fully delivered window (ISO). Absent: nothing delivered yet. */
  cursor?: string;
  /** Start of the first window this state delivered: the floor of every re-scan. Absent in old states (no floor). */
  origin?: string;
  updated?: string;
  windows_done: number;
  records_delivered: number;
  /** Cycles run, for `rescan.every`. */
  cycles: number;
  /** Free-form per-command data (backfill range…), never secrets. */
  extra?: Record<string, unknown>;
}

/** What the collector and the delivery ledger use of a store (an in-memory one in unit tests). */
export type StateBackend = Pick<StateStore, "load" | "journal" | "commit">;

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, "_");
}

export class StateStore {
  readonly file: string;
  readonly lockFile: string;
  readonly journalFile: string;

  constructor(
    readonly dir: string,
    readonly tenantId: string,
    readonly source: string,
    readonly name = "state",
  ) {
    const base = join(dir, `${safeName(tenantId)}.${source}.${name}`);
    this.file = `${base}.json`;
    this.lockFile = `${base}.lock`;
    this.journalFile = `${base}.journal`;
  }

  private dirReady = false;

  private ensureDir(): void {
    if (!this.dirReady) ensurePrivateDir(this.dir);
    this.dirReady = true;
  }

  private held?: Lock;

  /** Take the state's lock (one writer per state); the store keeps it until close() or unlock(). */
  lock(): Lock {
    this.ensureDir();
    const lock = acquireLock(this.lockFile);
    this.held = lock;
    removeStaleTemps(this.file);
    return lock;
  }

  /** Release the lock if this store holds it (also safe from a signal handler: idempotent). */
  unlock(): void {
    const lock = this.held;
    this.held = undefined;
    lock?.release();
  }

  load(): { state: State; seen: SeenSet } {
    const fresh: State = { version: 1, tenant_id: this.tenantId, source: this.source, windows_done: 0, records_delivered: 0, cycles: 0 };
    if (!existsSync(this.file)) return { state: fresh, seen: this.replayJournal(new SeenSet()) };
    let parsed: State & { seen?: unknown };
    try {
      parsed = JSON.parse(readFileSync(this.file, "utf8"));
      if (parsed.version !== 1 || (parsed.cursor !== undefined && !Number.isFinite(Date.parse(parsed.cursor)))) throw new Error("unexpected content");
    } catch (err) {
      throw new CollectorError("state", `state file ${this.file} cannot be read: ${(err as Error).message}`, {
        hint: "restore it from backup, or move it away to start again from `start` (records may repeat)",
      });
    }
    const { seen, ...state } = parsed;
    return { state: { ...fresh, ...state }, seen: this.replayJournal(SeenSet.fromJSON(seen)) };
  }

  /** Identities from pages delivered after the last commit. A torn last line (crash mid-append) is ignored. */
  private replayJournal(seen: SeenSet): SeenSet {
    if (!existsSync(this.journalFile)) return seen;
    const lines = readFileSync(this.journalFile, "utf8").split("\n");
    lines.pop(); // complete lines end with \n; whatever follows the last \n is torn or empty
    for (const line of lines) {
      const m = /^(-?\d+) ([A-Za-z0-9_-]*)$/.exec(line);
      if (!m || m[2]!.length % 12 !== 0) continue;
      for (let i = 0; i < m[2]!.length; i += 12) seen.addFingerprint(m[2]!.slice(i, i + 12), Number(m[1]));
    }
    return seen;
  }

  /** Open for appends between commits: one open per window instead of one per page. */
  private journalFd?: number;
  /** The last append's fdatasync, while it runs in the thread pool. */
  private syncing?: Promise<void>;

  /**
   * Append the identities of a delivered page. The line is written before this returns (a later load in
   * this process sees it); the promise resolves once it is durable. Callers await it before anything that
   * depends on that durability (sending the next page, committing), so a crash still re-sends at most the
   * page in flight, and meanwhile the sync overlaps with preparing the next page.
   */
  journal(entries: Array<{ id: string; time: number; fp?: string }>): Promise<void> {
    if (entries.length === 0) return this.syncing ?? Promise.resolve();
    const byMinute = new Map<number, string>();
    for (const e of entries) {
      const minute = Math.floor(e.time / 60_000);
      byMinute.set(minute, (byMinute.get(minute) ?? "") + (e.fp ?? fingerprint(e.id)));
    }
    let text = "";
    for (const [minute, fps] of byMinute) text += `${minute} ${fps}\n`;
    this.ensureDir();
    const fd = (this.journalFd ??= openSync(this.journalFile, "a+", 0o600));
    try {
      // After a torn append (power loss mid-write, or a write that failed half-way) start on a fresh line,
      // or this page would be glued to the torn one and dropped on replay too.
      const size = fstatSync(fd).size;
      const last = Buffer.alloc(1);
      if (size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a) text = "\n" + text;
      // writeSync may write less than asked (e.g. a nearly full disk): finish the line or fail.
      const buf = Buffer.from(text);
      for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      this.closeJournal();
      throw err;
    }
    // fdatasync and not fsync: an append changes the file size, and fdatasync(2) also flushes the metadata
    // needed to read the data back (the size); it skips only timestamps. Still durable for a journal.
    const prev = this.syncing ?? Promise.resolve();
    const sync = prev.then(() => new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))));
    this.syncing = sync;
    void sync.then(
      () => {
        if (this.syncing === sync) this.syncing = undefined;
      },
      () => {
        if (this.syncing === sync) this.syncing = undefined;
      },
    );
    return sync;
  }

  /** Close the journal's descriptor, after any sync still running on it. */
  private closeJournal(): void {
    const fd = this.journalFd;
    if (fd === undefined) return;
    this.journalFd = undefined;
    const close = () => { try { closeSync(fd); } catch { /* already closed */ } };
    if (this.syncing) void this.syncing.then(close, close);
    else close();
  }

  /** Atomically persist state + identities, then empty the journal (its content is now in the state). */
  commit(state: State, seen?: SeenSet): void {
    this.ensureDir();
    const head = JSON.stringify({ ...state, updated: new Date().toISOString() });
    // The same JSON as stringifying {…state, seen}, written piece by piece: with millions of identities one
    // string (and its UTF-8 copy) would be the process's largest allocation.
    writeFileAtomic(this.file, seen ? stateChunks(head, seen) : head + "\n");
    this.closeJournal();
    if (existsSync(this.journalFile)) truncateSync(this.journalFile, 0);
  }

  /** Release the journal descriptor and the lock (end of a run). Appends after this reopen the journal. */
  close(): void {
    this.closeJournal();
    this.unlock();
  }

  /** Whether a state file has been written. */
  exists(): boolean {
    return existsSync(this.file);
  }
}


function* stateChunks(head: string, seen: SeenSet): Generator<string> {
  yield head.slice(0, -1) + ',"seen":{';
  let first = true;
  for (const member of seen.jsonMembers()) {
    yield first ? member : "," + member;
    first = false;
  }
  yield "}}\n";
}
