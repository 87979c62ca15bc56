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
};
