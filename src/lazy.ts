// Components whose code is loaded only when the config picks them (cold start, docs/performance.md): the sink
// and source registries list every descriptor, and a descriptor that imported its implementation statically
// would make every `once` load @fluent-org/logger and fast-xml-parser whether or not they are used.
// `create` stays synchronous: it starts the import at once and the first call waits for it. A failure to
// load or construct is kept and thrown by every later call (close included), so it still fails the run loudly.
import type { Sink, Source, WindowSelection } from "./types.js";

function settle<T>(p: Promise<T>): Promise<T> {
  // Rejections are reported by the first call that awaits; never as an unhandled rejection meanwhile.
  p.catch(() => {});
  return p;
}

export interface LazySink extends Sink {
  /** The implementation once loaded (tests that read a sink's own counters, e.g. forward acks). */
  loaded(): Promise<Sink>;
}

/** A sink whose implementation is imported and built in the background; `name` is known at once. */
export function lazySink(name: string, load: () => Promise<Sink>): LazySink {
  const impl = settle(load());
  return {
    name,
    loaded: () => impl,
    send: async (batch) => (await impl).send(batch),
    flush: async () => (await impl).flush(),
    close: async () => (await impl).close(),
    // Registered on the implementation as soon as it is loaded: before any send can reach it, since every
    // send awaits the same promise after this reaction. Without it, per-confirmation checkpoints are lost.
    onConfirm: (listener) => {
      void impl.then(
        (s) => s.onConfirm?.(listener),
        () => {},
      );
    },
  };
}

export interface LazySource extends Source {
  /** The implementation once loaded (tests that look at a reader's own methods, e.g. its query URL). */
  loaded(): Promise<Source>;
}

/**
 * A source whose implementation is imported and built in the background. What the collector reads from a
 * source before the first window must be said up front: whether it reads per-recipient details (`details`:
 * the collector plans them by the presence of `readDetails`) and how it selects a window's rows
 * (`windowSelection`: the legacy report keeps rows outside the window; losing that loses rows).
 */
export function lazySource(
  kind: Source["kind"],
  load: () => Promise<Source>,
  { details, windowSelection }: { details: boolean; windowSelection?: WindowSelection },
): LazySource {
  const impl = settle(load());
  const source: LazySource = {
    kind,
    windowSelection,
    loaded: () => impl,
    async *readWindow(window, signal, filter) {
      yield* (await impl).readWindow(window, signal, filter);
    },
    close: async () => (await impl).close?.(),
  };
  if (details) source.readDetails = async (row, signal) => (await impl).readDetails!(row, signal);
  return source;
}
