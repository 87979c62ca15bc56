// Issue 17: health of many tenants — per tenant the single-tenant rule, for the process `any` or `all`.
import { describe, expect, it } from "vitest";
import { FleetMetrics } from "../src/metrics/fleet-metrics.js";

describe("FleetMetrics health", () => {
  const setup = (mode: "any" | "all") => {
    let now = 1_000_000;
    const m = new FleetMetrics(mode, () => now);
    const a = m.forTenant("a", 10_000);
    const b = m.forTenant("b", 10_000);
    return { m, a, b, advance: (ms: number) => (now += ms) };
  };

  it("any: healthy while one tenant is; a tenant turns unhealthy after its tolerance without success", () => {
    const { m, a, b, advance } = setup("any");
    expect(m.healthy()!.ok).toBe(true); // within the tolerance of the start
    a.cycle(true, 0);
    b.cycle(false, 0);
    advance(11_000);
    b.cycle(false, 0);
    expect(m.healthy("a")!.ok).toBe(true);
    expect(m.healthy("b")!.ok).toBe(false);
    expect(m.healthy()).toMatchObject({ ok: true, detail: { healthy: 1, unhealthy_tenants: ["b"] } });
    a.cycle(false, 0);
    advance(11_000);
    expect(m.healthy()!.ok).toBe(false);
    expect(m.healthy("nope")).toBeUndefined();
  });

  it("all: unhealthy as soon as one tenant is", () => {
    const { m, a, b, advance } = setup("all");
    a.cycle(true, 0);
    b.cycle(false, 0);
    advance(11_000);
    expect(m.healthy()).toMatchObject({ ok: false, detail: { mode: "all", unhealthy_tenants: ["b"] } });
    b.cycle(true, 0);
    expect(m.healthy()!.ok).toBe(true);
  });

  it("every series carries the tenant label", async () => {
    const { m, a } = setup("any");
    a.recordsEmitted(5);
    a.apiResponse("graph", 200);
    const text = await m.registry.metrics();
    expect(text).toMatch(/o365mt_records_emitted_total\{tenant="a"\} 5/);
    expect(text).toMatch(/o365mt_api_requests_total\{tenant="a",route="graph",status="200"\} 1/);
    expect(text).toMatch(/o365mt_tenant_healthy\{tenant="b"\} 1/);
  });

  it("lateness and delivery latency per tenant, as the single-tenant series (issue 14)", async () => {
    const { m, a, b } = setup("any");
    a.rowsFound("new", [30, 400], 0);
    a.rowsFound("rescan_1", [5000], 2);
    a.deliveryLatency([90, 700, 700]);
    a.requestsSpent("rescan", 3);
    a.rescanCoverage(3600, 7200);
    b.deliveryLatency([10]);
    const text = await m.registry.metrics();
    expect(text).toMatch(/o365mt_found_lateness_seconds_count\{tenant="a",tier="new"\} 2/);
    expect(text).toMatch(/o365mt_found_lateness_seconds_bucket\{le="60",tenant="a",tier="new"\} 1/);
    expect(text).toMatch(/o365mt_status_changes_found_total\{tenant="a",tier="rescan_1"\} 2/);
    expect(text).toMatch(/o365mt_delivery_latency_seconds_count\{tenant="a"\} 3/);
    expect(text).toMatch(/o365mt_delivery_latency_seconds_sum\{tenant="a"\} 1490/);
    expect(text).toMatch(/o365mt_delivery_latency_seconds_count\{tenant="b"\} 1/);
    expect(text).toMatch(/o365mt_list_requests_total\{tenant="a",kind="rescan"\} 3/);
    expect(text).toMatch(/o365mt_list_requests_total\{tenant="b",kind="new"\} 0/);
    expect(text).toMatch(/o365mt_rescan_covered_horizon_seconds\{tenant="a"\} 3600/);
    expect(text).toMatch(/o365mt_rescan_horizon_seconds\{tenant="a"\} 7200/);
  });
});
