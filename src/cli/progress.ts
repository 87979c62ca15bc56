// Progress on stderr for long commands (backfill): a redrawn bar with ETA on a terminal, plain lines at most
// every `intervalMs` otherwise (shipper logs, CI), so a piped run is still readable and never floods.

export interface ProgressOptions {
  /** Total amount of work (milliseconds of time span for backfill). */
  total: number;
  /** Already done when starting (a resumed backfill). */
  done?: number;
  out?: { write(s: string): unknown; isTTY?: boolean };
  /** Minimum time between plain lines (non-TTY); 0 = a line per update. */
  intervalMs?: number;
  now?: () => number;
  label?: string;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, "0")}m`;
}

export class Progress {
  private readonly out: NonNullable<ProgressOptions["out"]>;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly started: number;
  private readonly startDone: number;
  private done: number;
  private records = 0;
  private lastLine = -Infinity;
  private drawn = false;

  constructor(private readonly opts: ProgressOptions) {
    this.out = opts.out ?? process.stderr;
    this.tty = !!this.out.isTTY;
    this.now = opts.now ?? Date.now;
    this.started = this.now();
    this.done = this.startDone = opts.done ?? 0;
  }

  /** ETA from the rate of this run only (a resumed run's earlier work says nothing about current speed). */
  eta(): number {
    const elapsed = this.now() - this.started;
    const doneHere = this.done - this.startDone;
    if (doneHere <= 0) return NaN;
    return ((this.opts.total - this.done) * elapsed) / doneHere;
  }

  text(): string {
    const pct = this.opts.total > 0 ? Math.min(100, (100 * this.done) / this.opts.total) : 100;
    const label = this.opts.label ? `${this.opts.label} ` : "";
    const rest = this.done >= this.opts.total ? "done" : `ETA ${formatDuration(this.eta())}`;
    return `${label}${pct.toFixed(1)}% ${this.records} records, ${formatDuration(this.now() - this.started)} elapsed, ${rest}`;
  }

  update(doneNow: number, newRecords: number, detail = ""): void {
    this.done = doneNow;
    this.records += newRecords;
    const t = this.now();
    if (this.tty) {
      const width = 30;
      const filled = this.opts.total > 0 ? Math.round((width * Math.min(this.done, this.opts.total)) / this.opts.total) : width;
      this.out.write(`\r\x1b[2K[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${this.text()}`);
      this.drawn = true;
      return;
    }
    if (t - this.lastLine >= (this.opts.intervalMs ?? 10_000) || this.done >= this.opts.total) {
      this.lastLine = t;
      this.out.write(`o365-message-trace: ${this.text()}${detail ? ` (${detail})` : ""}\n`);
    }
  }

  /** End the redrawn line so later output starts on a fresh one. */
  finish(): void {
    if (this.tty && this.drawn) this.out.write("\n");
  }
}
