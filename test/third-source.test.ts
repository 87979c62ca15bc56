// Done-when of the architecture issue: a third source needs only its folder (test/fake-source/) and one
// registry registration; the config loader, the composition root and the real collector take it from there.
import { PassThrough } from "node:stream";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../src/config/load.js";
import { silentLogger } from "../src/log/logger.js";
import { EVERYTHING, open } from "../src/runtime.js";
import { registerSource } from "../src/sources/registry.js";
import { fakeSource } from "./fake-source/index.js";
import { tempDir } from "./helpers/harness.js";

registerSource(fakeSource);

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

describe("a third source from a folder and one registry line", () => {
  it("is configured, opened and read through the real collector to the sink", async () => {
    const dir = tempDir();
    const config = validateConfig({
      tenant_id: "contoso.onmicrosoft.com",
      auth: { client_id: "00000000-0000-0000-0000-000000000001", client_secret: "unused" },
      source: {
        type: "fake",
        rows: [
          [iso(1), "m1", "a@contoso.com"],
          [iso(1), "m1", "b@contoso.com"],
          [iso(20), "m2", "a@contoso.com"],
          [iso(30), "m3", "c@contoso.com"],
          [iso(31), "m4", "d@contoso.com"],
        ],
      },
      start: iso(0),
      window: 15,
      delay: 0,
      state_dir: join(dir, "state"),
    });
    expect(config.source).toMatchObject({ type: "fake", page_size: 2 });
    const out = new PassThrough();
    let text = "";
    out.on("data", (c: Buffer) => (text += c.toString()));
    const rt = open(config, EVERYTHING, { logger: silentLogger, stdout: out, clock: () => T0 + 30 * 60_000 });
    try {
      const r = await rt.collector.runCycle();
      expect(r).toMatchObject({ windows: 2, records: 3, cursor: iso(30) });
    } finally {
      await rt.close();
    }
    const records = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => [r["o365.message.trace_id"], r["o365.message.recipient"], r["o365.message.source"]])).toEqual([
      ["m1", "a@contoso.com", "fake"],
      ["m1", "b@contoso.com", "fake"],
      ["m2", "a@contoso.com", "fake"],
    ]);
    // The state is the fake source's own: <tenant>.fake.state.json.
    expect(rt.store.file).toMatch(/contoso\.onmicrosoft\.com\.fake\.state\.json$/);
  });

  it("answers the questions the CLI asks of a source from its descriptor", () => {
    expect(() => validateConfig({ tenant_id: "t", source: { type: "fake", rowz: [] } })).toThrow(
      /unknown key\(s\) "rowz" \(did you mean "rows"\?\)/,
    );
    expect(validateConfig({ tenant_id: "t", source: "fake" }).source).toEqual({ type: "fake", rows: [], page_size: 2 });
  });
});
