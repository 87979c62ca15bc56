// One benchmark case in its own process, so its peak RSS and CPU are its own. Usage:
//   node bench/child.mjs baseline '<json: {graphBase, url, tenantId, clientId, clientSecret, caFile, start, end, pageSize}>'
//   node bench/child.mjs floor '<the same json>'   (bench/floor.mjs)
//   node bench/child.mjs collector <args for the CLI, e.g. once --config FILE>
// Records go to stdout (the parent points it at /dev/null); when done, one JSON line with wall time,
// peak RSS and CPU goes to fd 3, so it never mixes with records or logs.
import { readFileSync, writeSync } from "node:fs";
import { constants, performance, PerformanceObserver } from "node:perf_hooks";

const [mode, ...rest] = process.argv.slice(2);
const t0 = performance.now();
// Main-thread GC pauses by kind: where a case's extra CPU goes when it is not its own code.
const gc = { minorMs: 0, minor: 0, majorMs: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR ? "minor" : "major";
    gc[`${kind}Ms`] += e.duration;
    gc[kind]++;
  }
}).observe({ entryTypes: ["gc"] });

function report(extra) {
  const ru = process.resourceUsage();
  const line = JSON.stringify({
    wallMs: performance.now() - t0,
    maxRssKb: ru.maxRSS,
    userCpuMs: ru.userCPUTime / 1000,
    systemCpuMs: ru.systemCPUTime / 1000,
    gc,
    ...extra,
  });
  try {
    writeSync(3, line + "\n");
  } catch {
    process.stderr.write(`bench-result ${line}\n`);
  }
}

/**
 * The API's pages for the bench window, fetched with undici (token, then page after page). `onPage(items)`
 * handles one page's `value` and returns how many records it wrote.
 */
async function readPages(o, onPage) {
  const { Agent, request } = await import("undici");
  const dispatcher = new Agent({ connect: { ca: readFileSync(o.caFile, "utf8") } });
  const tok = await request(`${o.url}/${o.tenantId}/oauth2/v2.0/token`, {
    method: "POST",
    dispatcher,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: o.clientId,
      client_secret: o.clientSecret,
      scope: "https://graph.microsoft.com/.default",
    }).toString(),
  });
  const { access_token: token } = await tok.body.json();
  if (!token) throw new Error(`no token (HTTP ${tok.statusCode})`);
  const filter = `receivedDateTime ge ${o.start} and receivedDateTime le ${o.end}`;
  let url = `${o.graphBase}/v1.0/admin/exchange/tracing/messageTraces?$filter=${encodeURIComponent(filter)}&$top=${o.pageSize}`;
  let records = 0;
  let pages = 0;
  while (url) {
    const res = await request(url, { dispatcher, headers: { authorization: `Bearer ${token}`, accept: "application/json" } });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    const page = JSON.parse(text);
    pages++;
    records += await onPage(page.value);
    url = page["@odata.nextLink"];
  }
  await new Promise((r) => process.stdout.write("", r));
  await dispatcher.close();
  return { records, pages };
}

/** The practical limit: JSON.parse each page, one JSON line per item to stdout. */
function baseline(o) {
  const startMs = Date.parse(o.start);
  const endMs = Date.parse(o.end);
  return readPages(o, async (items) => {
    let out = "";
    let records = 0;
    for (const item of items) {
      // The same half-open window the collector applies, so both count the same records.
      const t = Date.parse(item.receivedDateTime);
      if (t < startMs || t >= endMs) continue;
      out += JSON.stringify(item) + "\n";
      records++;
    }
    if (out && !process.stdout.write(out)) await new Promise((r) => process.stdout.once("drain", r));
    return records;
  });
}

/** The collector's mandatory per-record work fused per item (bench/floor.mjs), under the collector's V8 settings. */
async function floor(o) {
  const heap = await import("../dist/bundle/heap.js");
  heap.sidecarGcThreads();
  heap.sidecarV8("once");
  const { floorHandler } = await import("./floor.mjs");
  const handler = await floorHandler(o);
  try {
    return await readPages(o, (items) => handler.page(items));
  } finally {
    handler.close();
  }
}

try {
  if (mode === "baseline" || mode === "floor") {
    report(await (mode === "floor" ? floor : baseline)(JSON.parse(rest[0])));
    process.exitCode = 0;
  } else if (mode === "collector") {
    // The same bundle the command runs, loaded the same way (bin/o365-message-trace.js): V8's heap and GC-thread
    // settings first, then main.
    const heap = await import("../dist/bundle/heap.js");
    heap.sidecarGcThreads();
    heap.sidecarV8(rest[0]);
    const { main } = await import("../dist/bundle/main.js");
    const code = await main(rest);
    report({ exitCode: code });
    process.exitCode = code;
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (err) {
  process.stderr.write(`bench child failed: ${err?.stack ?? err}\n`);
  report({ error: String(err?.message ?? err) });
  process.exitCode = 1;
}
