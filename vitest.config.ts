import { defineConfig } from "vitest/config";

// Every test runs in a time zone that is not UTC (issue 12): message trace times are UTC, and code that reads a
// zone-less timestamp as local time must fail here, on every machine and in CI, not only on a host set to UTC.
// St. John's: a negative, half-hour offset with daylight saving time. Set before the pool forks, so workers
// and the CLI subprocesses they spawn inherit it (test/timezone.test.ts checks that it took effect).
const TEST_TZ = "America/St_Johns";
process.env.TZ = TEST_TZ;

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests start real servers and child processes; two cores, so keep the pool small.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // CI also writes a JSON report, from which .ci/run prints the plain "N passed, N failed" line.
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: "test-results.json" },
  },
});
