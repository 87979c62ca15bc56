// `get-events`: an ad-hoc query for debugging. Reads [start, end) straight from the API, prints the
// o365.message.* records (NDJSON) or a table, and never reads or moves the cursor.
import type { Config } from "../config/schema.js";
import { CollectorError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { open, recordMapperFor } from "../runtime.js";
import { sourceDescriptor } from "../sources/registry.js";
import { PREFIX } from "../schema/fields.js";
import { checkTraceFilter, hasFilter, matchesFilter } from "../sources/trace-filter.js";
import type { OutRecord, TraceFilter, Window } from "../types.js";
import { clampToPresent, parseTime, wholeSecond } from "../window/time.js";
import { defineCommand } from "./command.js";
import { answerLogger, clockFromEnv, EXIT_OK, requireConfigPath, setupTenant } from "./common.js";

export const GET_EVENTS_HELP = `Usage: o365-message-trace get-events --config FILE [--tenant NAME|ID] [--start TIME] [--end TIME] [--limit N] [--format json|table]
                                   [--sender A] [--recipient A] [--status S] [--trace-id GUID] [--message-id ID]

Queries the configured API for messages received in [start, end) and prints them; for debugging.
The cursor and state are never read or changed, and records go to stdout, not to the configured sink.
  --start TIME     ISO 8601 (2025-01-01T10:00:00Z) or relative ("2 hours ago", "10 minutes ago"); default "1 hour ago"
  --end TIME       same forms, or "now" (default)
  --limit N        stop after N records (default 100; 0 = no limit)
  --format F       json (NDJSON records in the configured schema.profile, default) or table
Filters (combined with and; sent to the API as $filter clauses and checked again on every row):
  --sender A       sender address            --recipient A   recipient address
  --status S       delivery status (Delivered, Failed, Pending, FilteredAsSpam, Quarantined, …; any casing)
  --trace-id GUID  o365.message.trace_id     --message-id ID the Internet Message-ID, e.g. "<abc@contoso.com>"`;

/** Spans longer than the source allows in one query (its descriptor's maxSpanMinutes: Graph 10 days) are split. */
export function splitSpan(start: Date, end: Date, maxMs = Infinity): Window[] {
  const out: Window[] = [];
  for (let s = start.getTime(); s < end.getTime(); s += maxMs)
    out.push({ start: new Date(s), end: new Date(Math.min(s + maxMs, end.getTime())) });
  return out;
}

const COLUMNS: Array<[string, string, number]> = [
  ["received", "received", 24],
  ["status", "status", 14],
  ["sender", "sender", 30],
  ["recipient", "recipient", 30],
  ["size", "size", 8],
  ["subject", "subject", 40],
];

function cell(v: unknown, width: number): string {
  const s = v === undefined || v === null ? "" : String(v).replace(/\s+/g, " ");
  return s.length > width ? s.slice(0, width - 1) + "…" : s.padEnd(width);
}

export function tableLine(r: OutRecord): string {
  return COLUMNS.map(([k, , w]) => cell(r[PREFIX + k], w))
    .join(" ")
    .trimEnd();
}

export function tableHeader(): string {
  return [
    COLUMNS.map(([, h, w]) => cell(h, w))
      .join(" ")
      .trimEnd(),
    COLUMNS.map(([, , w]) => "-".repeat(w)).join(" "),
  ].join("\n");
}

export async function queryEvents(
  config: Config,
  span: Window,
  limit: number,
  logger: Logger,
  emit: (r: OutRecord) => void,
  filter?: TraceFilter,
  profile: Config["schema"]["profile"] = config.schema.profile,
): Promise<number> {
  // Flat keys whatever the config says: the table reads them, and NDJSON here is for eyes and grep.
  const mapper = recordMapperFor(config, "flat", profile);
  const wanted = hasFilter(filter) ? filter : undefined;
  const rt = open(config, { source: true }, { logger });
  const maxSpan = sourceDescriptor(config.source).maxSpanMinutes;
  let n = 0;
  try {
    for (const w of splitSpan(span.start, span.end, maxSpan === undefined ? Infinity : maxSpan * 60_000)) {
      for await (const page of rt.source.readWindow(w, undefined, wanted)) {
        for (const row of page) {
          const t = Date.parse(row.received);
          if (!(t >= w.start.getTime() && t < w.end.getTime())) continue;
          // Client-side too: what an API cannot filter (Graph has no status None) or filters differently.
          if (wanted && !matchesFilter(row, wanted)) continue;
          emit(mapper.mapRow(row, w).record);
          if (++n === limit) return n;
        }
      }
    }
    return n;
  } finally {
    await rt.close();
  }
}

export const command = defineCommand({
  name: "get-events",
  help: GET_EVENTS_HELP,
  options: {
    config: { type: "string", short: "c" },
    tenant: { type: "string" },
    start: { type: "string" },
    end: { type: "string" },
    limit: { type: "string" },
    format: { type: "string" },
    sender: { type: "string" },
    recipient: { type: "string" },
    status: { type: "string" },
    "trace-id": { type: "string" },
    "message-id": { type: "string" },
  },
  async run(values) {
    const format = values.format ?? "json";
    if (format !== "json" && format !== "table")
      throw new CollectorError("config", `--format ${format} is not json or table`, { hint: "use --format json or --format table" });
    const limit = values.limit === undefined ? 100 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 0)
      throw new CollectorError("config", `--limit ${values.limit} is not a whole number ≥ 0`, { hint: "e.g. --limit 50 (0 = no limit)" });
    const file = requireConfigPath(values.config, "get-events");
    const now = (clockFromEnv() ?? Date.now)();
    // From a whole second: Graph shows whole seconds, so rows of the start's second are shown before a start inside it.
    const start = wholeSecond(parseTime(values.start ?? "1 hour ago", now, "--start").getTime());
    // Never an end in the future: Graph refuses it (docs §5), and nothing was received after now.
    const end = new Date(clampToPresent(parseTime(values.end ?? "now", now, "--end").getTime(), now));
    if (start >= end)
      throw new CollectorError("config", `--start ${start.toISOString()} is not before --end ${end.toISOString()}`, {
        hint: "give a start earlier than the end",
      });
    const filter = checkTraceFilter({
      sender: values.sender,
      recipient: values.recipient,
      status: values.status,
      traceId: values["trace-id"],
      messageId: values["message-id"],
    });
    const { config, logger } = setupTenant(file, values.tenant, "get-events");
    if (format === "table") process.stdout.write(tableHeader() + "\n");
    const emit =
      format === "table"
        ? (r: OutRecord) => process.stdout.write(tableLine(r) + "\n")
        : (r: OutRecord) => process.stdout.write(JSON.stringify(r) + "\n");
    // The table reads o365.message.* columns; NDJSON shows records as the configured profile shapes them.
    const n = await queryEvents(config, { start, end }, limit, logger, emit, filter, format === "table" ? "o365" : config.schema.profile);
    const stopped = limit > 0 && n >= limit ? ` (stopped at --limit ${limit})` : "";
    answerLogger(config).info(`${n} record(s) received in [${start.toISOString()}, ${end.toISOString()})${stopped}`);
    return EXIT_OK;
  },
});
