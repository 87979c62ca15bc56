// Issue 18 through the configuration and the CLI: schema.profile and preserve_original in the running
// collector (in-process and the real `once` subprocess), drop_status with its metric, `schema --profile`,
// `get-events` filters, and the SIEM examples.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { loadConfig, validateConfig } from "../src/config/load.js";
import { describeError } from "../src/errors.js";
import { PromMetrics } from "../src/metrics/prometheus.js";
import { normaliseStatus } from "../src/schema/mapper.js";
import { PROFILES, profileText } from "../src/schema/profiles/index.js";
import { startSimulator, type GraphTraceItem, type Simulator } from "../src/sim/index.js";
import {
  captureRuntime,
  compare,
  HOUR,
  MIN,
  parseNdjson,
  ROOT,
  runCli,
  simConfig,
  simConfigInput,
  tempDir,
  truthIds,
  writeConfig,
  lastLogMessage,
} from "./helpers/harness.js";
import { ECS_FIXTURE, invalid, OCSF_FIXTURE, validator } from "./helpers/profile-schemas.js";

let sim: Simulator;
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR;
const ecs = validator(ECS_FIXTURE);
const ocsf = validator(OCSF_FIXTURE);
type Rec = Record<string, any>;

beforeAll(async () => {
  sim = await startSimulator({ seed: 1819, ratePerHour: 90 });
});
afterAll(async () => {
  await sim?.close();
});

/** The (trace id, recipient, status) identities the ECS/OCSF records carry, to count against the truth. */
const ecsIds = (rs: Rec[]) => rs.map((r) => JSON.parse(r.event.original) as GraphTraceItem);

describe("schema.profile in the running collector", () => {
  it("ecs + preserve_original: every truth row once, each record valid ECS carrying its API item", async () => {
    const dir = tempDir();
    const config = simConfig(sim, dir, {
      start: new Date(T0).toISOString(),
      window: 60,
      schema: { profile: "ecs", preserve_original: true },
    });
    const { rt, records } = captureRuntime(config, sim, { clock: () => T0 + 2 * HOUR });
    await rt.collector.runCycle();
    await rt.close();
    const got = records();
    expect(invalid(ecs, got)).toEqual([]);
    const truth = sim.truth(new Date(T0), new Date(T0 + 2 * HOUR));
    expect(compare(truthIds(truth), truthIds(ecsIds(got)))).toEqual({ lost: 0, duplicates: 0, extra: 0 });
  });

  it("ocsf through the real `once` subprocess: NDJSON Email Activity records, all valid", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { start: new Date(T0).toISOString(), window: 60, schema: { profile: "ocsf" } }));
    const r = await runCli(["once", "--config", file], { env: { O365MT_NOW: new Date(T0 + HOUR).toISOString() } });
    expect(r.code, r.stderr).toBe(0);
    const got = parseNdjson(r.stdout);
    const truth = sim.truth(new Date(T0), new Date(T0 + HOUR));
    expect(got).toHaveLength(truth.length);
    expect(invalid(ocsf, got)).toEqual([]);
    expect(new Set(got.map((x) => x.type_uid))).toEqual(new Set([400904]));
    expect(got.every((x) => x.raw_data === undefined)).toBe(true);
  });
});

describe("drop_status", () => {
  it("drops the listed statuses before the sink, counts them once, and a re-scan does not count them again", async () => {
    const dir = tempDir();
    const metrics = new PromMetrics({ toleranceMs: HOUR }, { defaultMetrics: false });
    const droppedTotal = async () =>
      (await metrics.registry.metrics()).match(/^o365mt_records_dropped_total\{reason="status"\} (\d+)$/m)?.[1];
    const truth = sim.truth(new Date(T0), new Date(T0 + 2 * HOUR));
    const drop = ["delivered"]; // the commonest status: a large, certain sample
    const isDropped = (t: GraphTraceItem) => normaliseStatus(t.status ?? "") === "Delivered";
    expect(truth.filter(isDropped).length).toBeGreaterThan(10);
    const input = { start: new Date(T0).toISOString(), window: 60, drop_status: drop, rescan: { horizon: 120, every: 1 } };
    const first = captureRuntime(simConfig(sim, dir, input), sim, { clock: () => T0 + 2 * HOUR, metrics });
    await first.rt.collector.runCycle();
    await first.rt.close();
    expect(
      compare(
        truthIds(truth.filter((t) => !isDropped(t))),
        truthIds(
          first.records().map(
            (r) =>
              ({
                id: r["o365.message.trace_id"],
                recipientAddress: r["o365.message.recipient"],
                status: r["o365.message.status"],
              }) as never,
          ),
        ),
      ),
    ).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    expect(await droppedTotal()).toBe(String(truth.filter(isDropped).length));
    // Next cycle re-scans both windows: nothing new is sent and nothing is counted as dropped again.
    const again = captureRuntime(simConfig(sim, dir, input), sim, { clock: () => T0 + 2 * HOUR + 5 * MIN, metrics });
    await again.rt.collector.runCycle();
    await again.rt.close();
    expect(again.records()).toEqual([]);
    expect(await droppedTotal()).toBe(String(truth.filter(isDropped).length));
  });

  it("refuses a status that does not exist, naming the key and the allowed values", () => {
    let err: unknown;
    try {
      validateConfig({ tenant_id: "contoso.onmicrosoft.com", drop_status: ["Deliverd"] }, "test.yaml");
    } catch (e) {
      err = e;
    }
    expect(describeError(err)).toMatch(/drop_status.*Delivered, Failed/s);
  });
});

describe("schema --profile", () => {
  for (const name of ["ecs", "ocsf"] as const) {
    it(`prints the ${name} table the mapper applies`, async () => {
      const r = await runCli(["schema", "--profile", name]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(profileText(PROFILES[name]));
      const j = await runCli(["schema", "--profile", name, "--json"]);
      expect(JSON.parse(j.stdout).fields.map((f: { field: string }) => f.field)).toEqual(PROFILES[name].fields.map((f) => f.field));
    });
  }

  it("o365 is the default table; an unknown profile is one clear line and exit 2", async () => {
    const plain = await runCli(["schema"]);
    expect((await runCli(["schema", "--profile", "o365"])).stdout).toBe(plain.stdout);
    expect(plain.stdout).toContain("o365.message.original");
    const bad = await runCli(["schema", "--profile", "cef"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/--profile cef is not an output profile.*o365, ecs, ocsf/);
  });
});

describe("get-events filters", () => {
  const NOW = T0 + 3 * HOUR;
  const span = ["--start", new Date(T0).toISOString(), "--end", new Date(T0 + 2 * HOUR).toISOString(), "--limit", "0"];

  it("--sender and --status select exactly the matching truth rows (any casing)", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir));
    const truth = sim.truth(new Date(T0), new Date(T0 + 2 * HOUR));
    const sender = truth[0]!.senderAddress;
    const r = await runCli(["get-events", "--config", file, ...span, "--sender", sender.toUpperCase(), "--status", "DELIVERED"], {
      env: { O365MT_NOW: new Date(NOW).toISOString() },
    });
    expect(r.code, r.stderr).toBe(0);
    const want = truth.filter(
      (t) => t.senderAddress.toLowerCase() === sender.toLowerCase() && normaliseStatus(t.status ?? "") === "Delivered",
    );
    const got = parseNdjson(r.stdout);
    expect(got.map((x) => `${x["o365.message.trace_id"]}|${x["o365.message.recipient"]}`).sort()).toEqual(
      want.map((t) => `${t.id}|${t.recipientAddress.toLowerCase()}`).sort(),
    );
  });

  it("--trace-id on the legacy source, in the configured ecs profile", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir, { source: "rws", schema: { profile: "ecs" } }));
    const truth = sim.truth(new Date(T0), new Date(T0 + 2 * HOUR));
    const id = truth[truth.length - 1]!.id;
    const r = await runCli(["get-events", "--config", file, ...span, "--trace-id", id.toUpperCase()], {
      env: { O365MT_NOW: new Date(NOW).toISOString() },
    });
    expect(r.code, r.stderr).toBe(0);
    const got = parseNdjson(r.stdout);
    expect(got).toHaveLength(truth.filter((t) => t.id === id).length);
    expect(got.every((x: Rec) => x.email.local_id.toLowerCase() === id.toLowerCase())).toBe(true);
    expect(invalid(ecs, got)).toEqual([]);
  });

  it("a quote in a value matches nothing (exit 0), and a malformed trace id is one clear error", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, simConfigInput(sim, dir));
    const inj = await runCli(["get-events", "--config", file, ...span, "--sender", "x' or senderAddress ne 'y"], {
      env: { O365MT_NOW: new Date(NOW).toISOString() },
    });
    expect(inj.code, inj.stderr).toBe(0);
    expect(inj.stdout).toBe("");
    expect(inj.stderr).toContain("0 record(s)");
    const bad = await runCli(["get-events", "--config", file, ...span, "--trace-id", "not-a-guid"]);
    expect(bad.code).toBe(2);
    expect(lastLogMessage(bad.stderr)).toMatch(/--trace-id "not-a-guid" is not a message trace id/);
  });
});

describe("examples/siem", () => {
  const dir = join(ROOT, "examples/siem");
  const fluentBit = (file: string) =>
    parse(readFileSync(join(dir, file), "utf8")) as { pipeline: { inputs: Rec[]; filters?: Rec[]; outputs: Rec[] } };

  for (const [folder, profile, outputs] of [
    ["elasticsearch", "ecs", { "fluent-bit.yaml": "es", "fluent-bit-opensearch.yaml": "opensearch" }],
    ["splunk-hec", "o365", { "fluent-bit.yaml": "splunk" }],
  ] as const) {
    it(`${folder}: the collector config loads with profile ${profile}; Fluent Bit listens where it sends`, () => {
      const config = loadConfig(join(dir, folder, "o365-message-trace.yaml"), { env: {} });
      expect(config.schema.profile).toBe(profile);
      expect(config.sink.type).toBe("forward");
      for (const [file, name] of Object.entries(outputs)) {
        const fb = fluentBit(join(folder, file));
        const input = fb.pipeline.inputs.find((i) => i.name === "forward")!;
        const forward = config.sink.forward as { port: number; tag: string };
        expect(Number(input.port)).toBe(forward.port);
        const out = fb.pipeline.outputs.find((o) => o.name === name)!;
        expect(out.match).toBe(forward.tag);
        // Credentials come from the environment, never from the file.
        for (const key of ["http_passwd", "splunk_token"]) if (out[key] !== undefined) expect(out[key]).toMatch(/^\$\{[A-Z_]+\}$/);
        if (profile === "ecs") {
          // es/opensearch write @timestamp themselves: ours is removed first, or the document has it twice.
          expect(fb.pipeline.filters?.some((f) => f.name === "modify" && f.remove === "@timestamp" && f.match === out.match)).toBe(true);
        }
      }
    });
  }
});
