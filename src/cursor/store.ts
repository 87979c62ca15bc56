// The state file: the end of the last fully delivered window per tenant+source, plus the dedupe identities.
// Written atomically (temp+fsync+rename, 0600). Between window commits, identities delivered so far are
// appended to a journal (one fdatasynced line per delivered page), so a crash mid-window re-sends at most
// the page that was in flight, and with dedupe on, nothing at all that the journal recorded. The store takes
// the state's lock (one writer per state) and holds it until close().
import { existsSync, closeSync, fdatasync, fstatSync, ftruncateSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { CollectorError } from "../errors.js";
import { SeenSet, fingerprint } from "../dedupe/seen.js";
import {
  ensurePrivateDir,
  forEachPrivateLine,
  openPrivateAppend,
  readPrivateFile,
  removeStaleTemps,
  writeFileAtomic,
  writeFileAtomicAsync,
} from "./atomic.js";
import { acquireLock, type Lock } from "./lock.js";

/** The state file's format version; a file of any other version is refused, never guessed at. */
export const STATE_FORMAT = 1;

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
  /** Re-scan schedule and measured rates (src/window/rescan-schedule.ts); validated when read. */
  rescan?: unknown;
  /**
   * A backfill of this tenant+source (src/cli/backfill.ts): its range and how far it is done. Backfill and
   * the live collector share this state and its identities; a state may lack a cursor while it has one.
   */
  backfill?: { from: string; to: string; cursor: string };
  /** Spans earlier backfills delivered completely (src/cursor/coverage.ts). */
  covered?: Array<{ from: string; to: string }>;
  /** Every identity delivered from this time on is still in the state (older ones were forgotten). */
  seen_from?: string;
  /** Free-form per-command data, never secrets. */
  extra?: Record<string, unknown>;
}

/** A state's backfill record, when it is a well-formed one. */
function validBackfill(b: unknown): boolean {
  if (!b || typeof b !== "object") return false;
  const r = b as Record<string, unknown>;
  return ["from", "to", "cursor"].every((k) => typeof r[k] === "string" && Number.isFinite(Date.parse(r[k] as string)));
}

/** What the collector and the delivery ledger use of a store (an in-memory one in unit tests). */
export type StateBackend = Pick<StateStore, "load" | "journal" | "commit" | "commitAsync">;

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

  /**
   * The state and identities. A file that is not exactly ours is refused with one line, never reset (that
   * would re-send history) and never jumped over (that would lose it): unreadable, another format version,
   * another tenant or source, or no cursor (and no backfill). We never write such a state (see Collector).
   * `makeSeen`: the empty identity set to fill (src/dedupe/spill.ts passes one that spills to disk).
   */
  load(makeSeen: () => SeenSet = () => new SeenSet()): { state: State; seen: SeenSet } {
    const fresh: State = { version: 1, tenant_id: this.tenantId, source: this.source, windows_done: 0, records_delivered: 0, cycles: 0 };
    if (existsSync(this.dir)) this.ensureDir();
    const text = readPrivateFile(this.file);
    if (text === undefined) return { state: fresh, seen: this.replayJournal(makeSeen()) };
    let parsed: State & { seen?: unknown };
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not the parser's message: it quotes the file's content.
      throw this.refuse(
        "is not valid JSON (cut off or edited by hand)",
        "restore it from backup, or move it away to start again from `start` (records may repeat)",
      );
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
      throw this.refuse("is not a state object", "restore it from backup, or move it away");
    if (parsed.version !== STATE_FORMAT) {
      throw this.refuse(
        `has format version ${JSON.stringify(parsed.version)}, this build reads version ${STATE_FORMAT}`,
        "use the release that wrote it, or move it away to start again from `start`",
      );
    }
    if (
      typeof parsed.tenant_id !== "string" ||
      parsed.tenant_id.toLowerCase() !== this.tenantId.toLowerCase() ||
      parsed.source !== this.source
    ) {
      throw this.refuse(
        `belongs to tenant ${JSON.stringify(parsed.tenant_id)} source ${JSON.stringify(parsed.source)}, not to tenant ${this.tenantId} source ${this.source}`,
        "check tenant_id/source and state_dir; never copy one tenant's state file to another",
      );
    }
    if (parsed.backfill !== undefined && !validBackfill(parsed.backfill)) {
      throw this.refuse(
        "has a backfill record that is not a range with a cursor",
        "restore it from backup, or move it away (records may repeat)",
      );
    }
    // Without a cursor only while a backfill is recorded: the live collector has not started yet.
    const liveNotStarted = parsed.cursor === undefined && parsed.backfill !== undefined;
    if (!liveNotStarted && (typeof parsed.cursor !== "string" || !Number.isFinite(Date.parse(parsed.cursor)))) {
      throw this.refuse(
        parsed.cursor === undefined ? "has no cursor" : "has a cursor that is not a time",
        "restore it from backup, or move it away to start again from `start` (records may repeat)",
      );
    }
    const { seen, ...state } = parsed;
    let set: SeenSet;
    try {
      set = SeenSet.fromJSON(seen, makeSeen());
    } catch {
      throw this.refuse("has an unreadable identity table", "restore it from backup, or move it away (records may repeat)");
    }
    return { state: { ...fresh, ...state }, seen: this.replayJournal(set) };
  }

  private refuse(why: string, hint: string): CollectorError {
    return new CollectorError("state", `state file ${this.file} ${why}`, { hint });
  }

  /**
   * Identities from pages delivered after the last commit. A torn last line (crash mid-append) is ignored.
   * Read line by line, with the set's memory bound held as it fills: after a crash late in a large window the
   * journal holds most of that window's identities (see SeenSet.trim).
   */
  private replayJournal(seen: SeenSet): SeenSet {
    let lines = 0;
    forEachPrivateLine(this.journalFile, (line) => {
      const m = /^(-?\d+) ([A-Za-z0-9_-]*)$/.exec(line);
      if (!m || m[2]!.length % 12 !== 0) return;
      const minute = Number(m[1]);
      for (let i = 0; i < m[2]!.length; i += 12) seen.addFingerprint(m[2]!, minute, i);
      if (++lines % 64 === 0) seen.trim();
    });
    seen.trim();
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
    const fd = (this.journalFd ??= openPrivateAppend(this.journalFile));
    try {
      // After a torn append (power loss mid-write, or a write that failed half-way) start on a fresh line,
      // or this page would be glued to the torn one and dropped on replay too.
      const size = fstatSync(fd).size;
      const last = Buffer.alloc(1);
      if (size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a) text = "\n" + text;
      // writeSync may write less than asked (e.g. a nearly full disk): finish the line or fail.
      const buf = Buffer.from(text);
      for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
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
    const close = () => {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    };
    if (this.syncing) void this.syncing.then(close, close);
    else close();
  }

  /** Atomically persist state + identities, then empty the journal (its content is now in the state). */
  commit(state: State, seen?: SeenSet): void {
    const head = this.headOf(state);
    // The same JSON as stringifying {…state, seen}, written piece by piece: with millions of identities one
    // string (and its UTF-8 copy) would be the process's largest allocation.
    writeFileAtomic(this.file, seen ? stateChunks(head, seen) : head + "\n");
    this.emptyJournal();
  }

  /**
   * `commit` with the writes and fsyncs in the thread pool: the collector's path, so that many tenants in
   * one process never wait for each other's disk flushes. Nothing may change `seen` until it resolves.
   */
  async commitAsync(state: State, seen?: SeenSet): Promise<void> {
    const head = this.headOf(state);
    await writeFileAtomicAsync(this.file, seen ? stateChunks(head, seen) : head + "\n");
    this.emptyJournal();
  }

  /** The state's JSON without the identities, once it is known to be writable. */
  private headOf(state: State): string {
    // load() refuses a state without a cursor (unless a backfill is recorded), so never write one.
    if (state.cursor === undefined && state.backfill === undefined)
      throw new CollectorError("internal", `refusing to write state file ${this.file} without a cursor`);
    this.ensureDir();
    return JSON.stringify({ ...state, updated: new Date().toISOString() });
  }

  /** After a commit: the journal's content is in the state file now. */
  private emptyJournal(): void {
    // Through our own descriptor (O_NOFOLLOW), never truncate(path): that would follow a planted symlink.
    const open = this.journalFd;
    const fd = open ?? (existsSync(this.journalFile) ? openPrivateAppend(this.journalFile) : undefined);
    if (fd === undefined) return;
    ftruncateSync(fd, 0);
    if (open === undefined) closeSync(fd);
    else this.closeJournal();
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
