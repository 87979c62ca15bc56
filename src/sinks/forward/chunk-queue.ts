// The sink's pre-encoded chunks as @fluent-org/logger's send queue (issue 19).
//
// The library's queues take one record per `emit` and encode it (every mode keeps the record or its entry
// until the packet is built); the sink's chunks are already encoded. The client draws a chunk id for each
// write, asks its queue for the next packet with it, and keeps the ack bookkeeping (ack timeout, the ack
// matched by chunk id, rejection on shutdown): all of that stays the library's. So the client is given this
// queue instead of its own: `emit(tag, chunk)` pushes one chunk, and `nextPacket(chunkId)` writes it as one
// transport message (chunk.ts) — one emit, one write, one ack per chunk.
//
// Why not a documented option: the library has none for pre-encoded entries, and its `packEntry` hook (a
// protocol-module export, replaced before for speed) still keeps one entry per record and counts `size` per emit.
// Why not patch-package: see exact-bytes.ts (skipped by `npm ci --ignore-scripts`, hoisting, a production
// dependency). The queue is the client's `sendQueue` field in 1.0.10 (the dependency is pinned to it): `useChunkQueue`
// checks the field's shape and fails loudly if another build has none.
import { FluentError, type FluentClient } from "@fluent-org/logger";
import { CollectorError } from "../../errors.js";
import { chunkMessage, type Chunk } from "./chunk.js";

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

interface Queued {
  chunk: Chunk;
  deferred: Deferred;
}

/** The library's Queue contract (modes/queue.d.ts): what FluentClient calls on its sendQueue. */
export class ChunkQueue {
  private items: Queued[] = [];
  private head = 0;

  get queueLength(): number {
    return this.items.length - this.head;
  }

  /** Not measured (the library's ForwardQueue says the same): no size limit is configured. */
  get queueSize(): number {
    return -1;
  }

  push(_tag: string, _time: unknown, data: unknown): Promise<void> {
    if (!isChunk(data)) return Promise.reject(new FluentError.DataTypeError("forward sink: not a pre-encoded chunk"));
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.items.push({ chunk: data, deferred: { promise, resolve, reject } });
    return promise;
  }

  nextPacket(chunkId?: string): { packet: Uint8Array; deferred: Deferred } | null {
    const item = this.pop();
    if (item === null) return null;
    return { packet: chunkMessage(item.chunk, chunkId), deferred: item.deferred };
  }

  pop(): Queued | null {
    if (this.head >= this.items.length) return null;
    const item = this.items[this.head]!;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
    return item;
  }

  dropEntry(): void {
    this.pop()?.deferred.reject(new FluentError.DroppedError("Message was dropped due to limits"));
  }

  clear(): void {
    for (let item = this.pop(); item !== null; item = this.pop())
      item.deferred.reject(new FluentError.QueueShutdownError("Message dropped due to queue shutdown"));
  }
}

function isChunk(data: unknown): data is Chunk {
  const c = data as Partial<Chunk> | null;
  return typeof c === "object" && c !== null && Buffer.isBuffer(c.body) && Array.isArray(c.ids);
}

/** Give `client` a ChunkQueue as its send queue (before anything was emitted). */
export function useChunkQueue(client: FluentClient): void {
  const inner = client as unknown as { sendQueue?: { nextPacket?: unknown; push?: unknown; queueLength?: unknown } };
  const q = inner.sendQueue;
  if (typeof q?.nextPacket !== "function" || typeof q.push !== "function" || q.queueLength !== 0) {
    throw new CollectorError(
      "internal",
      "@fluent-org/logger's FluentClient has no sendQueue: this build has an unsupported version of it",
      {
        hint: "reinstall with the package-lock.json shipped with o365-message-trace (npm ci)",
      },
    );
  }
  inner.sendQueue = new ChunkQueue();
}
