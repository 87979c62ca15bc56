// The "floor" case (issue 19): what `once` must do per record, in its cheapest arrangement, so the stdout case
// can be set against an upper bound and not only against the baseline. The baseline's loop (bench/child.mjs)
// plus, for each item, the work the record contract and the delivery guarantee make mandatory — the
// type-checked row (graphItemToRow), the half-open window, the identity and its SHA-1 fingerprint in the
// dedupe set, the o365.message.* record (RecordMapper) and its JSON line in one buffer per page — and per
// page the write, its completion, and one journal line of fingerprints, fdatasync'ed. Each item's objects die
// before the next item is read: nothing of the pipeline (rows, entries, envelopes, checkpoints) lives across
// the page. The modules are dist/'s, the same code the command runs.
import { fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A page handler for child.mjs's page loop; `close()` removes the journal. */
export async function floorHandler(o) {
  const { graphItemToRow } = await import("../dist/sources/graph/graph-source.js");
  const { RecordMapper, identity } = await import("../dist/schema/mapper.js");
  const { fingerprint, SeenSet } = await import("../dist/dedupe/seen.js");
  const dir = mkdtempSync(join(tmpdir(), "o365mt-floor-"));
  const journal = openSync(join(dir, "journal"), "a");
  const mapper = new RecordMapper({ tenantId: o.tenantId, source: "graph", keyStyle: "flat", localDomains: [] });
  const seen = new SeenSet();
  const startMs = Date.parse(o.start);
  const endMs = Date.parse(o.end);
  const window = { start: new Date(startMs), end: new Date(endMs) };
  let buf = Buffer.allocUnsafeSlow(8 << 20);
  let index = 0;

  return {
    async page(items) {
      let at = 0;
      let records = 0;
      let fingerprints = "";
      for (const item of items) {
        const row = graphItemToRow(item, index++, undefined);
        if (typeof row === "string") continue;
        const t = row.receivedMs;
        if (t < startMs || t >= endMs) continue;
        const fp = fingerprint(identity(row.traceId, row.recipient, row.status));
        if (seen.hasFingerprint(fp, t)) continue;
        seen.addFingerprint(fp, Math.floor(t / 60_000));
        fingerprints += fp;
        const line = JSON.stringify(mapper.mapRow(row, window).record);
        if (buf.length - at < line.length * 3 + 1) {
          const bigger = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, at + line.length * 3 + 1));
          buf.copy(bigger, 0, 0, at);
          buf = bigger;
        }
        at += buf.write(line, at);
        buf[at++] = 10;
        records++;
      }
      // Written and handed to the OS before the page's identities are journaled (the stdout sink's order).
      if (at > 0) await new Promise((resolve, reject) => process.stdout.write(buf.subarray(0, at), (e) => (e ? reject(e) : resolve())));
      writeSync(journal, fingerprints + "\n");
      fdatasyncSync(journal);
      return records;
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
