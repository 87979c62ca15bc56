// The composition root: open() builds only what a command asks for, the state store owns its lock, and one
// close releases everything (also when building fails half-way).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../src/config/load.js";
import { LockBusyError } from "../src/cursor/lock.js";
import { silentLogger } from "../src/log/logger.js";
import { open } from "../src/runtime.js";
import { tempDir } from "./helpers/harness.js";

const config = () =>
  validateConfig({
    tenant_id: "contoso.onmicrosoft.com",
    auth: { client_id: "00000000-0000-0000-0000-000000000001", client_secret: "s" },
    state_dir: join(tempDir(), "state"),
  });

describe("open(config, needs)", () => {
  it("the store takes its lock and close releases it; a second taker is refused meanwhile", async () => {
    const c = config();
    const first = open(c, { store: "state", lock: true }, { logger: silentLogger });
    expect(() => open(c, { store: "state", lock: true }, { logger: silentLogger })).toThrow(LockBusyError);
    await first.close();
    const again = open(c, { store: "state", lock: true }, { logger: silentLogger });
    await again.close();
  });

  it("builds only what is asked for", async () => {
    const rt = open(config(), { sink: true }, { logger: silentLogger });
    expect(Object.keys(rt).sort()).toEqual(["close", "config", "sink"]);
    await rt.close();
  });

  it("a failure while building releases the lock it already took", async () => {
    const c = validateConfig({ ...config(), sink: { type: "http" } });
    expect(() => open(c, { store: "state", lock: true, sink: true }, { logger: silentLogger })).toThrow(/sink\.http\.url is not set/);
    const again = open(c, { store: "state", lock: true }, { logger: silentLogger });
    await again.close();
  });
});
