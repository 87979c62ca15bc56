// The bench's two printed tables: every measured row, then issue 19's targets, each next to the measured figure.
// With --rounds N the throughput cases ran N times in alternation (baseline, floor, stdout, forward, then again),
// so a target's figure is the median over the rounds with its range: on shared cores one run's figure swings by
// ±10 %, and a target within that of its bound is not decided by a single run. Ratios are taken within a round
// (each case against the baseline that ran minutes before it), then summarised.

/** Median and range of the defined numbers in `xs` (the lower middle for an even count, like the cold start's). */
export function summary(xs) {
  const v = xs.filter((x) => x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  return { median: v[(v.length - 1) >> 1], min: v[0], max: v[v.length - 1], n: v.length };
}

const fixed = (n, d) => (n === undefined || Number.isNaN(n) ? "not run" : n.toFixed(d));

/** "0.47" for one round, "0.47 (0.44–0.51, 5 runs)" for several. */
export function describe(s, d = 0, unit = "") {
  if (!s) return "not run";
  const one = `${fixed(s.median, d)}${unit}`;
  return s.n === 1 ? one : `${one} (${fixed(s.min, d)}–${fixed(s.max, d)}${unit}, ${s.n} runs)`;
}

/** Issue 19's targets, each next to the measured figure (ratios per CPU-second: see run.mjs's header). */
export function printTargets(rs) {
  const measured = rs.filter((r) => !r.pending);
  const rounds = [...new Set(measured.map((r) => r.round ?? 1))];
  const inRound = (round, prefix) => measured.find((r) => (r.round ?? 1) === round && r.case.startsWith(prefix));
  const all = (prefix, f) => summary(rounds.map((round) => inRound(round, prefix)).map((r) => (r ? f(r) : undefined)));
  const per = (a, b) => summary(rounds.map((round) => cpuRatio(inRound(round, a), inRound(round, b))));
  const rss = (r) => r.peakRssMB;
  const [base, out, fwd] = ["baseline", "collector once, stdout → ", "collector once, forward"];
  const peak = all(out, rss);
  const small = all("collector once, stdout, first", rss);
  const stdoutRatio = per(out, base);
  const forwardRatio = per(fwd, out);
  const cold = measured.find((r) => r.case.startsWith("once, nothing due"));
  const floors = `${describe(per("floor: mandatory", base), 2)} (${describe(per("floor: the same", base), 2)})`;
  const t = [
    ["peak RSS, stdout, whole day in one window", describe(peak, 0, " MB"), "≤ 160 MB", peak && peak.median <= 160],
    [
      "peak RSS, the same with a tenth of the window (flat: ≈ the above)",
      small ? `${describe(small, 0, " MB")} (${fixed(peak && peak.median - small.median, 0)} MB less)` : "not run",
      "≤ 160 MB, flat",
      small && peak && small.median <= 160 && peak.median - small.median <= 20,
    ],
    [
      "records per CPU-second, stdout (dedupe on) ÷ baseline's",
      describe(stdoutRatio, 2),
      "≥ 0.7 ×",
      stdoutRatio && stdoutRatio.median >= 0.7,
    ],
    ["  the same for the floor (bench/floor.mjs; V8's own settings)", floors, "(upper bound)", undefined],
    ["records per CPU-second, forward + acks ÷ stdout's", describe(forwardRatio, 2), "≥ 0.9 ×", forwardRatio && forwardRatio.median >= 0.9],
    [
      "once with nothing due: CPU (median)",
      cold ? `${fixed(cold.cpuSeconds, 2)} s` : "not run",
      "≤ 0.25 s",
      cold && cold.cpuSeconds <= 0.25,
    ],
    [
      "once with nothing due: peak RSS (median)",
      cold ? `${fixed(cold.peakRssMB, 0)} MB` : "not run",
      "≤ 60 MB",
      cold && cold.peakRssMB <= 60,
    ],
  ];
  console.log("");
  if (rounds.length > 1) console.log(`targets: the median of ${rounds.length} rounds, with the range`);
  const w = [Math.max(...t.map((x) => x[0].length)), Math.max(...t.map((x) => x[1].length)), 16];
  console.log(`| ${"target".padEnd(w[0])} | ${"measured".padEnd(w[1])} | ${"target".padEnd(w[2])} | met |`);
  for (const [what, got, want, ok] of t)
    console.log(
      `| ${what.padEnd(w[0])} | ${got.padEnd(w[1])} | ${want.padEnd(w[2])} | ${got.startsWith("not run") || ok === undefined ? "" : ok ? "yes" : "no"} |`,
    );
  console.log("");
}

function cpuRatio(a, b) {
  return a?.recordsPerCpuSecond && b?.recordsPerCpuSecond ? a.recordsPerCpuSecond / b.recordsPerCpuSecond : undefined;
}

export function printTable(rs) {
  const f = (n, d = 0) =>
    n === undefined || Number.isNaN(n) ? "" : Number(n).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  const several = rs.some((r) => (r.round ?? 1) > 1);
  const head = [
    "case",
    "records",
    "wall s",
    "records/s",
    "× baseline",
    "records/CPU-s (× baseline)",
    "sim busy",
    "peak RSS MB",
    "GC pause s (minor/major)",
    "requests",
    "notes",
  ];
  const name = (r) => (several && r.round !== undefined ? `${r.case} [round ${r.round}]` : r.case);
  const body = rs.map((r) =>
    r.pending
      ? [r.case, "", "", "", "", "", "", "", "", "", `pending: ${r.pending}`]
      : [
          name(r),
          f(r.records),
          f(r.wallSeconds, 2),
          f(r.recordsPerSecond),
          f(r.ratioToBaseline, 2),
          r.coldStart ? `${f(r.cpuSeconds, 2)} CPU-s` : `${f(r.recordsPerCpuSecond)} (${f(r.cpuRatioToBaseline, 2)} ×)`,
          r.simulatorBusy === undefined ? "" : `${f(r.simulatorBusy * 100)} %`,
          f(r.peakRssMB),
          r.gcMinorSeconds === undefined ? "" : `${f(r.gcMinorSeconds, 2)} / ${f(r.gcMajorSeconds, 2)}`,
          r.expectedRequests !== undefined
            ? `${r.apiRequests}${r.apiRequests === r.expectedRequests ? "" : ` (≠ ${r.expectedRequests})`}`
            : f(r.apiRequests),
          [
            r.error,
            r.note,
            r.efficiency !== undefined
              ? `${f(r.recordsPerHour)} rec/h vs ceiling ${f(r.ceilingRecordsPerHour)}; ${f(r.efficiency * 100, 1)} % of ideal ${f(r.idealSeconds)} s; 429s: ${r.responses429}`
              : "",
          ]
            .filter(Boolean)
            .join("; "),
        ],
  );
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) => "| " + cells.map((c, i) => String(c).padEnd(w[i])).join(" | ") + " |";
  console.log(line(head));
  console.log("|" + w.map((n) => "-".repeat(n + 2)).join("|") + "|");
  for (const b of body) console.log(line(b));
}
