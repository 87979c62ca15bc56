// Issue 12: the suite runs under a non-UTC time zone (vitest.config.ts sets TZ before the workers fork), and
// one parser reads every timestamp either API writes as the same UTC instant, whatever the host's zone.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { isoTime } from "../src/schema/mapper.js";
import { odataTime } from "../src/sources/rws/values.js";
import { apiTimeIso, parseApiTime } from "../src/window/time.js";

describe("the test configuration's time zone", () => {
  it("is in effect in this forked worker and in the processes it spawns", () => {
    expect(process.env.TZ).toBe("America/St_Johns");
    expect(Intl.DateTimeFormat().resolvedOptions().timeZone).toBe("America/St_Johns");
    // -03:30 in winter: a zone-less time read as local would be off by 210 minutes.
    expect(new Date(Date.UTC(2025, 0, 15)).getTimezoneOffset()).toBe(210);
    const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(new Date(Date.UTC(2025,0,15)).getTimezoneOffset()))"], {
      encoding: "utf8",
    });
    expect(child.stdout).toBe("210");
    // The trap this guards against: the platform parser reads a zone-less date-time as local time.
    expect(Date.parse("2022-09-05T18:10:13.490")).not.toBe(Date.UTC(2022, 8, 5, 18, 10, 13, 490));
  });
});

describe("one time parser for both APIs", () => {
  const instant = Date.UTC(2022, 8, 5, 18, 10, 13, 490);
  it("reads zone-less (UTC), 7 fraction digits, Z, +00:00, other offsets and /Date(ms)/ as the same instant", () => {
    for (const text of [
      "2022-09-05T18:10:13.4907658", // real RWS JSON light: no zone designator, 7 digits
      "2022-09-05T18:10:13.4907658Z",
      "2022-09-05T18:10:13.490Z",
      "2022-09-05T18:10:13.49+00:00",
      "2022-09-05T20:10:13.4907658+02:00",
      "2022-09-05T14:40:13.490-03:30",
      "2022-09-05T18:10:13.490+0000",
      `/Date(${instant})/`,
      `/Date(${instant}+0060)/`,
      " 2022-09-05T18:10:13.4907658 ",
    ]) {
      expect(parseApiTime(text), text).toBe(instant);
      expect(apiTimeIso(text), text).toBe("2022-09-05T18:10:13.490Z");
      expect(odataTime(text), text).toBe("2022-09-05T18:10:13.490Z");
      expect(isoTime(text), text).toBe("2022-09-05T18:10:13.490Z");
    }
    // Cut, never rounded: .9999999 stays in its millisecond (and its second, minute, window).
    expect(apiTimeIso("2025-01-01T00:14:59.9999999")).toBe("2025-01-01T00:14:59.999Z");
    expect(apiTimeIso("2025-06-13T10:30:00Z")).toBe("2025-06-13T10:30:00.000Z");
    expect(apiTimeIso("2025-06-13T10:30")).toBe("2025-06-13T10:30:00.000Z");
  });

  it("refuses what is not a timestamp", () => {
    for (const text of [
      "",
      "yesterday",
      "2025-13-01T00:00:00Z",
      "2025-02-30T00:00:00Z",
      "2025-01-01T24:00:00Z",
      "2025-01-01",
      "/Date(abc)/",
      "2025-01-01T00:00:00.12345678Z",
    ]) {
      expect(parseApiTime(text), text).toBeUndefined();
    }
  });
});
