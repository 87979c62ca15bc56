// Progress for long commands (backfill). On a terminal: a cli-progress bar redrawn on a timer (so it keeps
// moving through request-budget waits) with records, rate, windows done and ETA; log lines are printed
// above it, never into it. Off a terminal (shipper logs, CI): a JSON progress line through the logger at
// most every `intervalMs` (and always the last), so every stderr line stays one JSON object.
import cliProgress from "cli-progress";
import { processLogger, setLogOutput, type Logger } from "../log/logger.js";

export interface ProgressOptions {
  /** Total amount of work (milliseconds of time span for backfill). */
  total: number;
  /** Already done when starting (a resumed backfill). */
  done?: number;
  /** Windows in the whole span and already done, when known. */
  windows?: { total: number; done: number };
  out?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Minimum time between JSON lines (non-TTY); 0 = a line per update. Also the heartbeat while nothing moves. */
  intervalMs?: number;
  /** How often the terminal bar is redrawn (elapsed, rate and ETA move even while no window finishes). */
  redrawMs?: number;
  now?: () => number;
  label?: string;
  logger?: Logger;
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

export interface ProgressSnapshot {
  percent: number;
  records: number;
  rate_per_s: number;
  windows_done?: number;
  windows_total?: number;
  elapsed_s: number;
  eta_s: number | null;
  done: boolean;
}

export class Progress {
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly started: number;
  private readonly startDone: number;
  private done: number;
  private windowsDone: number;
  private records = 0;
  private lastLine = -Infinity;
  private detail = "";
  private bars?: cliProgress.MultiBar;
  private bar?: cliProgress.SingleBar;
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: ProgressOptions) {
    const out = opts.out ?? process.stderr;
    this.tty = !!out.isTTY;
    this.now = opts.now ?? Date.now;
    this.started = this.now();
    this.done = this.startDone = opts.done ?? 0;
    this.windowsDone = opts.windows?.done ?? 0;
    if (this.tty) {
      this.bars = new cliProgress.MultiBar(
        {
          stream: out,
          format: `${opts.label ? opts.label + " " : ""}[{bar}] {percentage}% | {records} records | {rate}/s | windows {windows} | {since} elapsed | {remaining}`,
          barsize: 30,
          hideCursor: false,
          fps: 5,
          autopadding: true,
        },
        cliProgress.Presets.legacy,
      );
      this.bar = this.bars.create(opts.total, this.done, this.payload());
      // Logs go above the bar while it is drawn.
      setLogOutput((line) => this.bars?.log(line));
    }
    const every = this.tty ? (opts.redrawMs ?? 1000) : (opts.intervalMs ?? 10_000);
    if (every > 0) {
      this.timer = setInterval(() => this.tick(), every);
      this.timer.unref();
    }
  }

  /** ETA from the rate of this run only (a resumed run's earlier work says nothing about current speed). */
  eta(): number {
    const elapsed = this.now() - this.started;
    const doneHere = this.done - this.startDone;
    if (doneHere <= 0) return NaN;
    return ((this.opts.total - this.done) * elapsed) / doneHere;
  }

  snapshot(): ProgressSnapshot {
    const elapsed = this.now() - this.started;
    const finished = this.done >= this.opts.total;
    const eta = finished ? 0 : this.eta();
    const snap: ProgressSnapshot = {
      percent: Number((this.opts.total > 0 ? Math.min(100, (100 * this.done) / this.opts.total) : 100).toFixed(1)),
      records: this.records,
      rate_per_s: elapsed > 0 ? Math.round((this.records * 1000 * 10) / elapsed) / 10 : 0,
      elapsed_s: Math.round(elapsed / 1000),
      eta_s: Number.isFinite(eta) ? Math.round(eta / 1000) : null,
      done: finished,
    };
    if (this.opts.windows) {
      snap.windows_done = this.windowsDone;
      snap.windows_total = this.opts.windows.total;
    }
    return snap;
  }

  private payload(): Record<string, string | number> {
    const s = this.snapshot();
    return {
      records: s.records,
      rate: s.rate_per_s,
      windows: s.windows_total !== undefined ? `${s.windows_done}/${s.windows_total}` : "?",
      since: formatDuration(s.elapsed_s * 1000),
      remaining: s.done ? "done" : `ETA ${formatDuration(s.eta_s === null ? NaN : s.eta_s * 1000)}`,
    };
  }

  /** One finished window: work done so far, records it delivered, and what it covered. */
  update(doneNow: number, newRecords: number, detail = ""): void {
    this.done = doneNow;
    this.records += newRecords;
    this.windowsDone++;
    this.detail = detail;
    if (this.bar) {
      this.bar.update(Math.min(this.done, this.opts.total), this.payload());
      return;
    }
    const t = this.now();
    if (t - this.lastLine >= (this.opts.intervalMs ?? 10_000) || this.done >= this.opts.total) this.line(t);
  }

  private line(t: number): void {
    this.lastLine = t;
    const log = this.opts.logger ?? processLogger();
    log.info(`${this.opts.label ?? "progress"} ${this.snapshot().percent.toFixed(1)}%`, {
      progress: this.snapshot(),
      ...(this.detail ? { position: this.detail } : {}),
    });
  }

  /** Timer: redraw the bar, or a heartbeat line when nothing was printed for a whole interval (budget waits). */
  private tick(): void {
    if (this.bar) {
      this.bar.update(this.payload());
      return;
    }
    const t = this.now();
    if (t - this.lastLine >= (this.opts.intervalMs ?? 10_000)) this.line(t);
  }

  /** Stop redrawing; flush logs queued above the bar and end the bar's line. */
  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.bars) {
      this.bars.update();
      this.bars.stop();
      this.bars = undefined;
      this.bar = undefined;
      setLogOutput(undefined);
    }
  }
}
