// NDJSON on stdout for exec inputs (Fluent Bit, Fluentd, Vector). `flush` resolves once the last line is
// handed to the OS (pipe or file): only then may the cursor move. Backpressure: wait for 'drain'.
import type { Writable } from "node:stream";
import type { Envelope, Sink } from "../../types.js";
import { CollectorError } from "../../errors.js";

export class StdoutSink implements Sink {
  readonly name = "stdout";
  /**
   * At most 500 lines (about 400 KB) per send. The collector's slices are smaller (256 rows, SLICE in
   * window-delivery.ts), so there this bound never applies; it caps what other callers hand over at once.
   */
  readonly batchHint = 500;
  private failed?: Error;

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

  /** A buffer kept for the next batch once the write that used it has completed. */
  private spare?: Buffer;
  // No `onConfirm`: a pipe has no acknowledgements, and this sink used to report a page's writes only at its
  // flush anyway, which is exactly when the collector checkpoints a sink that reports nothing
  // (Checkpoints.settle): still one journal line per page, and nothing of a batch is kept once it is encoded
  // (issue 19: batches kept until the flush were copied and promoted by the young-generation collector).

  async send(batch: Envelope[]): Promise<void> {
    this.check();
    if (batch.length === 0) return;
    const { bytes, release } = this.encode(batch);
    const ok = this.out.write(bytes, release);
    // Nothing left queued on the process's own stdout: the write completed inside write() (a file, or a pipe that
    // took the bytes), so the buffer is free now. Its callback runs only after the collector's chain of resolved
    // awaits ends with the page; waiting for it made every batch allocate a fresh buffer, and that external
    // memory (a MB per batch) drives V8's full collections.
    if (ok && this.out === process.stdout && this.out.writableLength === 0) release();
    if (!ok) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          cleanup();
          resolve();
        };
        const onError = (err: Error) => {
          cleanup();
          reject(err);
        };
        const onClose = () => {
          cleanup();
          reject(new Error("stdout closed"));
        };
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

  /**
   * The batch's NDJSON, each line written straight into one buffer: concatenating the lines into one string and
   * converting that was the largest single cost of this sink (the rope is flattened, then the whole text — two
   * bytes per character once a subject has an accent — encoded again as UTF-8). `release` hands the buffer
   * back for reuse once the OS has the bytes.
   */
  private encode(batch: Envelope[]): { bytes: Buffer; release: () => void } {
    let buf = this.spare ?? Buffer.allocUnsafeSlow(1 << 20);
    this.spare = undefined;
    let at = 0;
    for (const e of batch) {
      const line = JSON.stringify(e.record);
      // A UTF-16 code unit takes at most 3 bytes in UTF-8 (a surrogate pair 4 for 2): room for the line and \n.
      const need = line.length * 3 + 1;
      if (buf.length - at < need) {
        const bigger = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, at + need));
        buf.copy(bigger, 0, 0, at);
        buf = bigger;
      }
      at += buf.write(line, at);
      buf[at++] = 10;
    }
    const owned = buf;
    let released = false;
    return {
      bytes: owned.subarray(0, at),
      // Once: a late callback must not hand back a buffer a later batch is using again.
      release: () => {
        if (released) return;
        released = true;
        // Only the process's own stdout (a file, pipe or terminal): its write callback means the kernel has
        // the bytes. Another stream (a PassThrough) may still hold the chunk unread. Keep one buffer of a
        // batch's size; a much larger one (a batch of huge records) is left to the GC.
        if (this.out === process.stdout && owned.length <= 16 << 20) this.spare = owned;
      },
    };
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
