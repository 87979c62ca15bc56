// Output profiles (`schema.profile`): o365 (default), ecs, ocsf. The mapper builds the normalised o365 record
// first (identity, event time and dedupe never depend on the profile); a profile then reshapes its body.
import type { Envelope, TraceDetailRow, TraceRow, Window } from "../../types.js";
import { nest, RecordMapper, type MapOptions } from "../mapper.js";
import { ecsProfile } from "./ecs.js";
import { O365_ORIGINAL, o365Profile } from "./o365.js";
import { ocsfProfile } from "./ocsf.js";
import { applyTable, type Profile, type RecordKind } from "./table.js";

export type ProfileName = Profile["name"];
export const PROFILES: Record<ProfileName, Profile> = { o365: o365Profile, ecs: ecsProfile, ocsf: ocsfProfile };
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

export interface ProfileOptions {
  profile: ProfileName;
  /** Add the API item as received (JSON text): event.original (ecs), raw_data (ocsf), o365.message.original. */
  preserveOriginal: boolean;
}

/** The API item(s) behind a record, as JSON text; undefined when the source did not keep them. */
function originalOf(raws: unknown[]): string | undefined {
  const kept = raws.filter((r) => r !== undefined);
  if (kept.length === 0) return undefined;
  return JSON.stringify(kept.length === 1 ? kept[0] : kept);
}

/**
 * The record mapper for a non-default profile or preserve_original. The plain RecordMapper stays the mapper
 * for the default (o365 without the original), so the default path costs nothing extra.
 */
export class ProfileRecordMapper extends RecordMapper {
  private readonly profile: Profile;
  private readonly keyStyle: MapOptions["keyStyle"];

  constructor(
    opts: MapOptions,
    private readonly p: ProfileOptions,
  ) {
    super({ ...opts, keyStyle: "flat" });
    this.profile = PROFILES[p.profile];
    this.keyStyle = opts.keyStyle;
  }

  override mapRow(row: TraceRow, window: Window): Envelope {
    return this.shape(super.mapRow(row, window), "message", [row.raw]);
  }

  override mapGroup(rows: TraceRow[], window: Window): Envelope {
    return this.shape(
      super.mapGroup(rows, window),
      "group",
      rows.map((r) => r.raw),
    );
  }

  // Whatever else the base takes (e.g. which of several identical events this is) passes through unchanged.
  override mapDetail(detail: TraceDetailRow, window: Window, ...rest: number[]): Envelope {
    const base = super.mapDetail as (this: RecordMapper, d: TraceDetailRow, w: Window, ...r: number[]) => Envelope;
    return this.shape(base.call(this, detail, window, ...rest), "detail", [detail.raw]);
  }

  private shape(e: Envelope, kind: RecordKind, raws: unknown[]): Envelope {
    const original = this.p.preserveOriginal ? originalOf(raws) : undefined;
    if (this.profile.name === "o365") {
      if (original !== undefined) e.record[O365_ORIGINAL] = original;
      if (this.keyStyle === "nested") e.record = nest(e.record);
      return e;
    }
    e.record = applyTable(this.profile.fields, { kind, o: e.record, original });
    return e;
  }
}

/** The mapper a configuration asks for. */
export function createRecordMapper(opts: MapOptions, p: ProfileOptions): RecordMapper {
  if (p.profile === "o365" && !p.preserveOriginal) return new RecordMapper(opts);
  return new ProfileRecordMapper(opts, p);
}

/** Plain-text table for `schema --profile P`. */
export function profileText(profile: Profile): string {
  const head = ["field", "type", "from"];
  const rows = profile.fields.map((f) => [f.field, f.type, f.from]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const title = `${profile.title} (schema.profile: ${profile.name}; ${profile.schemaVersion})`;
  return (
    [title, "", line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line), "", ...profile.notes.map((n) => `- ${n}`)].join(
      "\n",
    ) + "\n"
  );
}

/** Markdown section for docs/profiles.md (checked by test/profiles-docs.test.ts against the table). */
export function profileMarkdown(profile: Profile): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  return [
    `Checked against: ${profile.schemaVersion}.`,
    "",
    "| field | type | from |",
    "|---|---|---|",
    ...profile.fields.map((f) => `| \`${f.field}\` | ${esc(f.type)} | ${esc(f.from)} |`),
    "",
    ...profile.notes.map((n) => `- ${n}`),
  ].join("\n");
}
