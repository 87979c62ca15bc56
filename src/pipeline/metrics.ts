// What the pipeline reports as it works. The Prometheus implementation lives in src/metrics; the default
// does nothing, so the data path never depends on whether metrics are enabled.
export interface PipelineMetrics {
  recordsEmitted(n: number): void;
  duplicatesDropped(n: number): void;
  /** Rows not sent on purpose (`drop_status`). */
  recordsDropped(reason: "status", n: number): void;
  windowDone(kind: "new" | "rescan"): void;
  apiResponse(route: string, status: number): void;
  retry(route: string): void;
  cursor(cursorMs: number, nowMs: number): void;
  cycle(ok: boolean, nowMs: number): void;
  /**
   * Rows first delivered by a read of `tier` ("new" for new windows, "rescan_1".. for re-scan bands): how long
   * after their receivedDateTime they were found, and how many of them were status changes.
   */
  rowsFound(tier: string, lateSeconds: Iterable<number>, statusChanges: number): void;
  /** API requests (pages) spent reading new windows vs re-scans. */
  requestsSpent(kind: "new" | "rescan", n: number): void;
  /** Re-scan horizon actually guaranteed under the request budget, and the configured one (seconds). */
  rescanCoverage(coveredSeconds: number, horizonSeconds: number): void;
  /** End-to-end latency of delivered records: sink confirmation time − receivedDateTime (seconds). */
  deliveryLatency(seconds: readonly number[]): void;
}

export const noopMetrics: PipelineMetrics = {
  recordsEmitted: () => {},
  duplicatesDropped: () => {},
  recordsDropped: () => {},
  windowDone: () => {},
  apiResponse: () => {},
  retry: () => {},
  cursor: () => {},
  cycle: () => {},
  rowsFound: () => {},
  requestsSpent: () => {},
  rescanCoverage: () => {},
  deliveryLatency: () => {},
};
