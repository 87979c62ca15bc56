// Issue 4: the shipped forward/http examples are valid configurations for this build.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.js";
import { createSink } from "../src/runtime.js";
import { silentLogger } from "../src/log/logger.js";
import { ROOT } from "./helpers/harness.js";

describe("examples", () => {
  for (const kind of ["forward", "http"] as const) {
    it(`examples/${kind}: the collector config loads and builds a ${kind} sink; every receiver is covered`, async () => {
      const dir = join(ROOT, "examples", kind);
      const files = readdirSync(dir);
      expect(files).toEqual(expect.arrayContaining(["o365-message-trace.yaml", "fluent-bit.conf", "fluentd.conf", "vector.toml"]));
      const config = loadConfig(join(dir, "o365-message-trace.yaml"), { env: {} });
      expect(config.sink.type).toBe(kind);
      const sink = createSink(config, { logger: silentLogger, env: {} });
      expect(sink.name).toBe(kind);
      await sink.close();
      // Each receiver config listens where the collector config points.
      const port =
        kind === "forward"
          ? String((config.sink.forward as { port: number }).port)
          : new URL((config.sink.http as { url: string }).url).port;
      expect(readFileSync(join(dir, "fluent-bit.conf"), "utf8")).toContain(port);
      expect(readFileSync(join(dir, "fluentd.conf"), "utf8")).toContain(port);
    });
  }
});
