// One page of look-ahead between a source and the pipeline.
/**
 * Fetch the next page while the current one is mapped and written: network wait and CPU overlap. Bounded to
 * one page ahead, and only ever the page the source would have fetched next (no extra requests).
 */
export async function* readAhead<T>(pages: AsyncIterable<T>): AsyncGenerator<T> {
  const it = pages[Symbol.asyncIterator]();
  let next = it.next();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = it.next();
      next.catch(() => {}); // surfaces at the next await; never an unhandled rejection if we stop early
      // One event-loop turn before handing the page over: the source's path to the wire (request budget,
      // token cache) needs it, and without it the next request left only at the consumer's first I/O wait,
      // after the page was mapped and written, so the API and the consumer took turns instead of overlapping.
      await new Promise<void>((resolve) => setImmediate(resolve));
      yield r.value;
    }
  } finally {
    // Stopping early (sink failure): let the source finish its in-flight page and clean up, without waiting.
    it.return?.()?.catch(() => {});
  }
}
