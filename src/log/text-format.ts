// `log.format: text`: one readable line per JSON log line, for a person at a terminal:
//   2026-11-24T00:00:00.000Z INFO  window delivered tenant=contoso.onmicrosoft.com source=graph records=112
// Values with spaces or quotes are JSON-quoted, objects are JSON, so a line is still greppable and unambiguous.

function show(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value === null || typeof value !== "object") return String(value);
  return JSON.stringify(value);
}

export function renderText(jsonLine: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine;
  }
  const { time, level, msg, ...rest } = entry;
  const head = `${String(time ?? "")} ${String(level ?? "")
    .toUpperCase()
    .padEnd(5)} ${String(msg ?? "")}`;
  const tail = Object.entries(rest).map(([k, v]) => `${k}=${show(v)}`);
  return tail.length ? `${head} ${tail.join(" ")}` : head;
}
