// A strict parser for the Prometheus text exposition format (0.0.4): every line must be a comment
// (# HELP / # TYPE) or `name{labels} value`; anything else throws, so "parses as Prometheus text" can fail.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Parsed {
  samples: Sample[];
  types: Map<string, string>;
  /** The value of the one sample with exactly these labels (undefined if absent). */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)/y;

export function parsePrometheus(text: string): Parsed {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  text.split("\n").forEach((line, i) => {
    if (line === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (!m) throw new Error(`line ${i + 1}: bad comment: ${line}`);
      if (m[1] === "TYPE") {
        if (!/^(counter|gauge|histogram|summary|untyped)$/.test(m[3]!)) throw new Error(`line ${i + 1}: bad type ${m[3]}`);
        types.set(m[2]!, m[3]!);
      }
      return;
    }
    const nm = NAME.exec(line);
    if (!nm) throw new Error(`line ${i + 1}: no metric name: ${line}`);
    let rest = line.slice(nm[0].length);
    const labels: Record<string, string> = {};
    if (rest.startsWith("{")) {
      const close = rest.indexOf("}");
      if (close < 0) throw new Error(`line ${i + 1}: unclosed labels`);
      const body = rest.slice(1, close);
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < body.length) {
        const lm = LABEL.exec(body);
        if (!lm) throw new Error(`line ${i + 1}: bad labels: ${body}`);
        labels[lm[1]!] = lm[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
      }
      rest = rest.slice(close + 1);
    }
    const vm = /^ (\S+)( -?\d+)?$/.exec(rest);
    if (!vm) throw new Error(`line ${i + 1}: bad value: ${line}`);
    const value = vm[1] === "+Inf" ? Infinity : vm[1] === "-Inf" ? -Infinity : vm[1] === "NaN" ? NaN : Number(vm[1]);
    if (Number.isNaN(value) && vm[1] !== "NaN") throw new Error(`line ${i + 1}: not a number: ${vm[1]}`);
    samples.push({ name: nm[0], labels, value });
  });
  return {
    samples,
    types,
    value(name, want = {}) {
      const keys = Object.keys(want);
      const s = samples.find(
        (x) => x.name === name && Object.keys(x.labels).length === keys.length && keys.every((k) => x.labels[k] === want[k]),
      );
      return s?.value;
    },
  };
}
