// NDJSON on stdout for exec inputs (Fluent Bit, Fluentd, Vector). `flush` resolves once the last line is
// handed to the OS (pipe or file): only then may the cursor move. Backpressure: wait for 'drain'.
import type { Writable } from "node:stream";
import type { ConfirmListener, Envelope, Sink } from "../../types.js";
import { CollectorError } from "../../errors.js";

export class StdoutSink implements Sink {
  readonly name = "stdout";
  private failed?: Error;
  private listener?: ConfirmListener;

  constructor(private readonly out: Writable = process.stdout) {
    out.on("error", (err: NodeJS.ErrnoException) => {
      this.failed = err;
    });
  }

  private check(): void {
    if (this.failed) {
      const epipe = (this.failed as NodeJS.ErrnoException).code === "EPIPE";
      throw new CollectorError("sink", `cannot write to stdout: ${this.failed.message}`, {
        // What is true: a pipe has no acknowledgements. Lines not yet written are sent again (the window is not
        // committed), but lines already in the pipe's buffer when the reader went away were counted as delivered.
        hint: epipe
          ? "the shipper closed our stdout: records not yet written are sent again by the next run, but up to one pipe buffer of records (64 KiB on Linux) that it had not read before closing cannot be recovered; restart the shipper, or use sink.type forward (acknowledged) where that matters"
          : "check the consumer of our output",
      });
    }
  }

  /** A batch is confirmed once its write has been handed to the OS (the write's callback). */
  onConfirm(listener: ConfirmListener): void {
    this.listener = listener;
  }

  async send(batch: Envelope[]): Promise<void> {
    this.check();
    if (batch.length === 0) return;
    let text = "";
    for (const e of batch) text += JSON.stringify(e.record) + "\n";
    const listener = this.listener;
    if (!this.out.write(text, listener ? (err) => !err && listener(batch) : undefined)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => { cleanup(); resolve(); };
        const onError = (err: Error) => { cleanup(); reject(err); };
        const onClose = () => { cleanup(); reject(new Error("stdout closed")); };
        const cleanup = () => {
          this.out.off("drain", onDrain);
          this.out.off("error", onError);
          this.out.off("close", onClose);
        };
        this.out.on("drain", onDrain);
        this.out.on("error", onError);
        this.out.on("close", onClose);
      }).catch((err) => {
        this.failed = err;
        this.check();
      });
    }
  }

  async flush(): Promise<void> {
    this.check();
    // An empty write's callback fires after everything queued before it has been written.
    await new Promise<void>((resolve, reject) => this.out.write("", (err) => (err ? reject(err) : resolve()))).catch((err) => {
      this.failed = err;
      this.check();
    });
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
