// Issue 18: the ECS and OCSF output profiles. Records are read from the simulator through the real sources
// (Graph and the legacy report, real sockets), mapped by each profile, and validated against JSON Schemas built
// from ECS's and OCSF's own published definitions; their identities are counted against the simulator's truth.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ValidateFunction } from "ajv/dist/2020.js";
import { jsonSchema } from "../src/cli/schema-cmd.js";
import { createLogger } from "../src/log/logger.js";
import { open } from "../src/runtime.js";
import type { MapOptions } from "../src/schema/mapper.js";
import { ECS_CUSTOM, ecsProfile, kebab } from "../src/schema/profiles/ecs.js";
import { createRecordMapper, PROFILE_NAMES, type ProfileName } from "../src/schema/profiles/index.js";
import { ocsfProfile } from "../src/schema/profiles/ocsf.js";
import { startSimulator, type GraphTraceItem, type Simulator } from "../src/sim/index.js";
import type { Envelope, Source, TraceDetailRow, TraceRow, Window } from "../src/types.js";
import { compare, HOUR, simConfig, tempDir, truthIds } from "./helpers/harness.js";
import { ECS_FIXTURE, invalid, loadJson, OCSF_FIXTURE, validator, validatorOf } from "./helpers/profile-schemas.js";

type Src = "graph" | "rws";
type Rec = Record<string, any>;

let sim: Simulator;
const logger = createLogger({ level: "error", write: () => {} });
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR;
const W: Window = { start: new Date(T0), end: new Date(T0 + 2 * HOUR) };
const rows: Record<Src, TraceRow[]> = { graph: [], rws: [] };
const details: TraceDetailRow[] = [];
let truth: GraphTraceItem[];

const VALIDATORS: Record<ProfileName, ValidateFunction> = {
  o365: validatorOf(jsonSchema()),
  ecs: validator(ECS_FIXTURE),
  ocsf: validator(OCSF_FIXTURE),
};

function mapOptions(source: Src): MapOptions {
  return { tenantId: sim.tenantId, source, keyStyle: "flat", localDomains: ["contoso.com", sim.organization] };
}

function mapAll(source: Src, profile: ProfileName, preserveOriginal = true): Envelope[] {
  const m = createRecordMapper(mapOptions(source), { profile, preserveOriginal });
  return rows[source].map((r) => m.mapRow(r, W));
}

function groups(source: Src): TraceRow[][] {
  const by = new Map<string, TraceRow[]>();
  for (const r of rows[source]) by.set(r.traceId!, [...(by.get(r.traceId!) ?? []), r]);
  return [...by.values()];
}

async function readAll(source: Src, read: (s: Source) => Promise<void>): Promise<void> {
  const rt = open(simConfig(sim, tempDir(), { source }), { source: true }, { logger, caPem: sim.ca });
  try {
    await read(rt.source);
  } finally {
    await rt.close();
  }
}

beforeAll(async () => {
  sim = await startSimulator({ seed: 18, ratePerHour: 120 });
  for (const source of ["graph", "rws"] as const) {
    await readAll(source, async (s) => {
      for await (const page of s.readWindow(W)) {
        for (const r of page) {
          const t = Date.parse(r.received);
          if (t >= W.start.getTime() && t < W.end.getTime()) rows[source].push(r);
        }
      }
      if (source === "graph") for (const r of rows.graph.slice(0, 6)) details.push(...(await s.readDetails!(r)));
    });
  }
  truth = sim.truth(W.start, W.end);
});

afterAll(async () => {
  await sim?.close();
});

describe("every profile, from the simulator's truth", () => {
  it("reads a realistic sample: both APIs, every truth row, several statuses", () => {
    expect(truth.length).toBeGreaterThan(150);
    for (const s of ["graph", "rws"] as const)
      expect(
        compare(
          truthIds(truth),
          mapAll(s, "o365", false).map((e) => e.id),
        ),
      ).toEqual({ lost: 0, duplicates: 0, extra: 0 });
    expect(new Set(truth.map((t) => t.status?.toLowerCase())).size).toBeGreaterThan(2);
    expect(details.length).toBeGreaterThan(6);
  });

  for (const source of ["graph", "rws"] as const) {
    for (const profile of PROFILE_NAMES) {
      it(`${source} → ${profile}: every record validates, one per truth row, identities unchanged`, () => {
        const env = mapAll(source, profile);
        expect(
          compare(
            truthIds(truth),
            env.map((e) => e.id),
          ),
        ).toEqual({ lost: 0, duplicates: 0, extra: 0 });
        expect(
          invalid(
            VALIDATORS[profile],
            env.map((e) => e.record),
          ),
        ).toEqual([]);
      });
    }

    it(`${source}: grouped records (group_by: message) validate in every profile and list every recipient`, () => {
      const gs = groups(source);
      const big = gs.find((g) => g.length > 1)!;
      expect(big).toBeDefined();
      for (const profile of PROFILE_NAMES) {
        const m = createRecordMapper(mapOptions(source), { profile, preserveOriginal: true });
        expect(
          invalid(
            VALIDATORS[profile],
            gs.map((g) => m.mapGroup(g, W).record),
          ),
          profile,
        ).toEqual([]);
      }
      const want = big.map((r) => r.recipient!.toLowerCase()).sort();
      const e = createRecordMapper(mapOptions(source), { profile: "ecs", preserveOriginal: true }).mapGroup(big, W).record as Rec;
      expect([...e.email.to.address].sort()).toEqual(want);
      expect(JSON.parse(e.event.original)).toHaveLength(big.length);
      const o = createRecordMapper(mapOptions(source), { profile: "ocsf", preserveOriginal: false }).mapGroup(big, W).record as Rec;
      expect([...o.email.to].sort()).toEqual(want);
      expect(o.raw_data).toBeUndefined();
    });
  }

  it("detail events validate in every profile; their time and event are the detail's own", () => {
    for (const profile of PROFILE_NAMES) {
      const m = createRecordMapper(mapOptions("graph"), { profile, preserveOriginal: true });
      expect(
        invalid(
          VALIDATORS[profile],
          details.map((d) => m.mapDetail(d, W).record),
        ),
        profile,
      ).toEqual([]);
    }
    const d = details[0]!;
    const e = createRecordMapper(mapOptions("graph"), { profile: "ecs", preserveOriginal: true }).mapDetail(d, W).record as Rec;
    expect(Date.parse(e["@timestamp"])).toBe(Date.parse(d.date));
    expect(e.event.action).toBe(kebab(d.event!));
    expect(JSON.parse(e.event.original)).toMatchObject({ dateTime: d.date, event: d.event });
    const o = createRecordMapper(mapOptions("graph"), { profile: "ocsf", preserveOriginal: false }).mapDetail(d, W).record as Rec;
    expect(o.time).toBe(Date.parse(d.date));
    expect(o.message_trace_uid).toBe(d.parent.traceId);
  });
});

describe("values land where the SIEMs look for them", () => {
  const byKey = (items: GraphTraceItem[]) => new Map(items.map((t) => [`${t.id}|${t.recipientAddress.toLowerCase()}`, t]));

  it("ECS: Elastic's integration's fields carry the truth's values; event.original is the item as sent", () => {
    const want = byKey(truth);
    for (const env of mapAll("graph", "ecs")) {
      const r = env.record as Rec;
      const t = want.get(`${r.email.local_id}|${r.email.to.address[0]}`)!;
      expect(t).toBeDefined();
      expect(r.email.from.address).toEqual([t.senderAddress.toLowerCase()]);
      expect(r.email.message_id).toBe(t.messageId || undefined);
      expect(r.email.subject).toBe(t.subject || undefined); // absent values are left out, never ""
      expect(r.email.attachments.file.size).toBe(t.size);
      expect(Date.parse(r["@timestamp"])).toBe(Date.parse(t.receivedDateTime));
      expect(r.source?.ip).toBe(t.fromIP || undefined);
      expect(r.event.outcome).toBe(
        { delivered: "success", failed: "failure" }[String(r[ECS_CUSTOM.split(".")[0]!].message.status).toLowerCase()] ?? "unknown",
      );
      expect(r.event.dataset).toBe("microsoft_exchange_online_message_trace.log");
      expect(r.related.user).toContain(t.senderAddress.toLowerCase());
      expect(JSON.parse(r.event.original)).toMatchObject({ id: t.id, recipientAddress: t.recipientAddress, messageId: t.messageId });
      if (r.email.direction) expect(["inbound", "outbound", "internal", "external"]).toContain(r.email.direction);
    }
  });

  it("legacy report: event.original keeps the service's own property names", () => {
    const r = mapAll("rws", "ecs")[0]!.record as Rec;
    const raw = JSON.parse(r.event.original);
    expect(Object.keys(raw)).toEqual(expect.arrayContaining(["MessageTraceId", "RecipientAddress", "SenderAddress", "Received"]));
    expect(raw.MessageTraceId).toBe(r.email.local_id);
  });

  it("OCSF: class, activity and type ids, time in epoch ms, status and disposition from the delivery status", () => {
    const want = byKey(truth);
    const seen = new Set<string>();
    for (const env of mapAll("graph", "ocsf")) {
      const r = env.record as Rec;
      expect(r).toMatchObject({
        class_uid: 4009,
        category_uid: 4,
        activity_id: 4,
        type_uid: 400904,
        metadata: { version: "1.8.0", product: { name: "Exchange Online", vendor_name: "Microsoft" } },
      });
      const t = want.get(`${r.message_trace_uid}|${r.email.to[0]}`)!;
      expect(r.time).toBe(Date.parse(t.receivedDateTime));
      expect(r.email.from).toBe(t.senderAddress.toLowerCase());
      expect(r.src_endpoint?.ip).toBe(t.fromIP || undefined);
      const status = String(r.status_detail);
      seen.add(status);
      if (status === "Delivered") expect(r).toMatchObject({ status_id: 1, disposition_id: 1, action_id: 1 });
      if (status === "Failed") expect(r).toMatchObject({ status_id: 2, disposition_id: 25, action_id: 2 });
      if (status === "Quarantined") expect(r).toMatchObject({ status_id: 99, status: "Quarantined", disposition_id: 3 });
      expect(r.metadata.loggers[0].name).toBe("o365-message-trace");
    }
    expect(seen.size).toBeGreaterThan(2);
  });

  it("the o365 profile without preserve_original is the plain mapper's output, byte for byte", () => {
    const plain = mapAll("graph", "o365", false).map((e) => JSON.stringify(e.record));
    const m = createRecordMapper(mapOptions("graph"), { profile: "o365", preserveOriginal: true });
    const withOriginal = rows.graph.map((r) => m.mapRow(r, W).record);
    expect(
      withOriginal.map((r) => {
        const { ["o365.message.original"]: orig, ...rest } = r;
        expect(typeof orig).toBe("string");
        return JSON.stringify(rest);
      }),
    ).toEqual(plain);
  });
});

describe("the schemas are real checks", () => {
  const good = () => mapAll("graph", "ecs")[0]!.record as Rec;
  const goodOcsf = () => mapAll("graph", "ocsf")[0]!.record as Rec;

  it("ECS: a misspelt field, a bad IP, a non-array email.to.address or an unknown event.outcome fail", () => {
    expect(VALIDATORS.ecs(good())).toBe(true);
    const typo = good();
    typo.email.form = { address: ["x@y.z"] };
    const ip = good();
    ip.source = { ip: "203.0.113" };
    const scalar = good();
    scalar.email.to.address = "a@b.c";
    const outcome = good();
    outcome.event.outcome = "delivered";
    for (const r of [typo, ip, scalar, outcome]) expect(VALIDATORS.ecs(r)).toBe(false);
  });

  it("OCSF: a wrong class, a type_uid of another class, a missing severity or a bad address fail", () => {
    expect(VALIDATORS.ocsf(goodOcsf())).toBe(true);
    const cls = goodOcsf();
    cls.class_uid = 4010;
    const type = goodOcsf();
    type.type_uid = 401004;
    const sev = goodOcsf();
    delete sev.severity_id;
    const addr = goodOcsf();
    addr.email.from = "not an address";
    const extra = goodOcsf();
    extra.o365 = {};
    for (const r of [cls, type, sev, addr, extra]) expect(VALIDATORS.ocsf(r)).toBe(false);
  });

  it("every ECS field of the table is an ECS 9.4.0 field of the same type (the custom set aside)", () => {
    const fixture = loadJson(ECS_FIXTURE) as { "x-ecs-types": Record<string, string>; "x-ecs-version": string };
    expect(fixture["x-ecs-version"]).toBe("9.4.0");
    for (const f of ecsProfile.fields) {
      if (f.field.startsWith(ECS_CUSTOM + ".")) continue;
      expect(fixture["x-ecs-types"][f.field], f.field).toBe(f.type);
    }
  });

  it("every OCSF path of the table exists in the Email Activity class (unmapped aside)", () => {
    const schema = loadJson(OCSF_FIXTURE) as Rec;
    const resolve = (s: Rec): Rec => (s.$ref ? schema.$defs[s.$ref.split("/").pop()] : s.type === "array" ? resolve(s.items) : s);
    for (const f of ocsfProfile.fields) {
      if (f.field.startsWith("unmapped.")) continue;
      let cur: Rec = schema;
      for (const part of f.field.split(".")) {
        cur = resolve(cur).properties?.[part];
        expect(cur, f.field).toBeDefined();
      }
    }
  });
});
