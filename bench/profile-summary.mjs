// Summarise a .cpuprofile (node --cpu-prof): self time per function, top N. Usage: node bench/profile-summary.mjs FILE [N]
import { readFileSync } from "node:fs";

const [file, n = "25"] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file, "utf8"));
const self = new Map();
const byId = new Map(p.nodes.map((x) => [x.id, x]));
const dt = new Map();
for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
let total = 0;
for (const [id, us] of dt) {
  const cf = byId.get(id).callFrame;
  const key = `${cf.functionName || "(anonymous)"} ${cf.url.replace(/^.*\/(dist|node_modules)\//, "$1/")}:${cf.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + us);
  total += us;
}
const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(n));
console.log(`total ${(total / 1e6).toFixed(2)} s`);
for (const [k, us] of top) console.log(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${k}`);
