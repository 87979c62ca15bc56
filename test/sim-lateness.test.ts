// Simulator lateness models: the field-like mixture (most rows within minutes, a tail to 24 h) has the
// shape it claims, is deterministic per seed, and the simulator hides rows until they are visible.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lagModel, parseLateness, shareLaterThan } from "../src/sim/lateness.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";

const MIN = 60_000;
const HOUR = 60 * MIN;

describe("lagModel", () => {
  it("field: most rows within minutes, a heavy tail that reaches but never passes 24 h", () => {
    const m = lagModel({ model: "field" })!;
    expect(shareLaterThan(m, 10)).toBeGreaterThan(0.12);
    expect(shareLaterThan(m, 10)).toBeLessThan(0.25);
    expect(shareLaterThan(m, 60)).toBeGreaterThan(0.05);
    expect(shareLaterThan(m, 12 * 60)).toBeGreaterThan(0.005);
    expect(shareLaterThan(m, 20 * 60)).toBeGreaterThan(0.001);
    expect(shareLaterThan(m, 24 * 60)).toBe(0);
  });

  it("field with a lower maximum and uniform, as parsed from the command line", () => {
    expect(shareLaterThan(lagModel(parseLateness("field:360"))!, 360)).toBe(0);
    const u = lagModel(parseLateness("uniform:0.2:60"))!;
    expect(shareLaterThan(u, 0)).toBeCloseTo(0.2, 2);
    expect(lagModel(parseLateness("none"))).toBeUndefined();
    expect(() => parseLateness("pareto")).toThrow(/lateness must be/);
  });
});

describe("simulator with the field model", () => {
  let sim: Simulator;
  const T0 = Date.UTC(2026, 10, 20);
  beforeAll(async () => {
    sim = await startSimulator({ seed: 7, ratePerHour: 400, lateness: { model: "field" } });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it("rows appear over time: a share after minutes, nearly all after hours, all after 24 h", () => {
    const all = sim.truth(new Date(T0), new Date(T0 + HOUR)).length;
    const at = (ms: number) => {
      sim.setNow(ms);
      return sim.truth(new Date(T0), new Date(T0 + HOUR), { visibleOnly: true }).length / all;
    };
    expect(all).toBeGreaterThan(500);
    const v10 = at(T0 + HOUR + 10 * MIN);
    const v6h = at(T0 + 7 * HOUR);
    expect(v10).toBeGreaterThan(0.7);
    expect(v10).toBeLessThan(0.99);
    expect(v6h).toBeGreaterThan(v10);
    expect(v6h).toBeLessThan(1);
    expect(at(T0 + 25 * HOUR)).toBe(1);
  });
});
