// A third source, written the way a real one is added: this folder (its code and its descriptor) and one
// registry registration (test/third-source.test.ts). It reads a fixed list of rows from its own options.
import * as z from "zod/mini";
import type { SourceDescriptor } from "../../src/sources/descriptor.js";
import type { Source, TraceRow, Window } from "../../src/types.js";

export const fakeOptionsSchema = z.strictObject({
  type: z.literal("fake"),
  /** Rows as [ISO received time, trace id, recipient]. */
  rows: z._default(z.array(z.tuple([z.string(), z.string(), z.string()])), []),
  page_size: z._default(z.number().check(z.int(), z.minimum(1)), 2),
});

type FakeOptions = z.infer<typeof fakeOptionsSchema>;

class ListSource implements Source {
  readonly kind = "fake";
  constructor(private readonly opts: FakeOptions) {}

  async *readWindow(w: Window): AsyncIterable<TraceRow[]> {
    const rows = this.opts.rows
      .map(([received, traceId, recipient]): TraceRow => ({
        received,
        traceId,
        recipient,
        sender: "sender@example.com",
        status: "Delivered",
      }))
      .filter((r) => Date.parse(r.received) >= w.start.getTime() && Date.parse(r.received) <= w.end.getTime());
    for (let i = 0; i < rows.length; i += this.opts.page_size) yield rows.slice(i, i + this.opts.page_size);
  }
}

export const fakeSource: SourceDescriptor<FakeOptions> = {
  kind: "fake",
  displayName: "the fake list",
  shortName: "fake",
  permissionApi: "none",
  permission: "Fake.Read",
  historyDays: 30,
  maxSpanMinutes: 24 * 60,
  schema: fakeOptionsSchema,
  endpoint: () => "https://fake.invalid",
  tokenResource: () => "https://fake.invalid",
  create: (ctx) => new ListSource(ctx.options),
};
