// A list of components of one kind (sources, sinks), keyed by `kind`: register (replacing one of the same
// kind), list, look up with a one-line config error naming the kinds on offer. The first is the default.
import { CollectorError } from "./errors.js";

export class Registry<T extends { kind: string }> {
  constructor(
    /** How the config names the choice, for the error line: "source", "sink.type". */
    private readonly key: string,
    private readonly items: T[],
  ) {}

  register(item: T): void {
    const i = this.items.findIndex((x) => x.kind === item.kind);
    if (i >= 0) this.items[i] = item;
    else this.items.push(item);
  }

  all(): readonly T[] {
    return this.items;
  }

  get(kind: string): T {
    const found = this.items.find((x) => x.kind === kind);
    if (!found) {
      throw new CollectorError("config", `${this.key} ${kind} is not available in this build`, {
        hint: `use ${this.key}: ${this.items.map((x) => x.kind).join(", ")}`,
      });
    }
    return found;
  }
}
