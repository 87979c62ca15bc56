// Issue 19, flat memory: undici's HTTP parser (llhttp, WebAssembly) must stay on V8's baseline compiler however
// long the read. The earlier setting, the largest tiering budget, only postponed the optimizing compile: a day's
// read of 1 M records spent the budget half-way, and compiling the parser's one large function then took
// 29.5 MB at once, most of the difference between a long read's peak RSS and a short one's (src/cli/v8-flags.ts).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { applySidecarV8Flags } from "../src/cli/v8-flags.js";

const V8_FLAGS_JS = fileURLToPath(new URL("../dist/cli/v8-flags.js", import.meta.url));
const LLHTTP_DIR = fileURLToPath(new URL("../node_modules/undici/lib/llhttp/", import.meta.url));

/**
 * A child node that sets up V8 as `setup` says, then runs undici's own llhttp module (loaded the way undici loads
 * it: SIMD build first) over `calls` responses with a 60 KB body each: enough work for V8's largest tiering budget
 * (2^31) to run out after about 55 000 calls. Returns which compilers compiled the parser's functions.
 */
function parseResponses(setup: "ours" | "v8" | "largest budget", calls: number): { tiers: string[]; stderr: string } {
  const script = `
    import { createRequire } from "node:module";
    import { setFlagsFromString } from "node:v8";
    const setup = ${JSON.stringify(setup)};
    if (setup === "ours") (await import(${JSON.stringify(V8_FLAGS_JS)})).applySidecarV8Flags([], "");
    if (setup === "largest budget") setFlagsFromString("--wasm-tiering-budget=2147483647");
    const require = createRequire(${JSON.stringify(LLHTTP_DIR)});
    let mod;
    try { mod = new WebAssembly.Module(require("./llhttp_simd-wasm.js")); } catch { mod = new WebAssembly.Module(require("./llhttp-wasm.js")); }
    const ok = () => 0;
    const names = ["url", "status", "message_begin", "header_field", "header_value", "headers_complete", "body", "message_complete"];
    const llhttp = new WebAssembly.Instance(mod, { env: Object.fromEntries(names.map((n) => ["wasm_on_" + n, ok])) }).exports;
    const parser = llhttp.llhttp_alloc(2); // a response parser
    const body = "x".repeat(60_000);
    const response = Buffer.from("HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: " + body.length + "\\r\\n\\r\\n" + body);
    const at = llhttp.malloc(response.length);
    for (let i = 0; i < ${calls}; i++) {
      new Uint8Array(llhttp.memory.buffer, at, response.length).set(response);
      const ret = llhttp.llhttp_execute(parser, at, response.length);
      if (ret !== 0) throw new Error("llhttp error " + ret + " at response " + i);
    }
    await new Promise((r) => setTimeout(r, 300)); // a tier-up compile runs on a background thread
  `;
  const r = spawnSync(process.execPath, ["--trace-wasm-compilation-times", "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 60_000,
  });
  const tiers = [...r.stdout.matchAll(/^Compiled function \S+ using (\w+)/gm)].map((m) => m[1]!);
  return { tiers, stderr: r.stderr };
}

describe("undici's parser stays on the baseline compiler", () => {
  it("over 150 000 responses: Liftoff only, where V8's own and the largest budget both optimize", () => {
    const ours = parseResponses("ours", 150_000);
    expect(ours.stderr).toBe("");
    expect(ours.tiers).toContain("Liftoff");
    expect(ours.tiers).not.toContain("TurboFan");
    // The same work is enough to optimize under V8's budget and under the largest one (the former setting):
    // the check above could fail.
    for (const setup of ["v8", "largest budget"] as const) {
      const other = parseResponses(setup, 150_000);
      expect(other.stderr, setup).toBe("");
      expect(other.tiers, setup).toContain("TurboFan");
    }
  });

  it("stays out when node was given a wasm tiering flag of the operator's", () => {
    // Where it applies, this sets --liftoff-only in the test process too: what the command runs with anyway.
    for (const flag of ["--wasm-tiering-budget=100", "--no-liftoff", "--wasm_tier_up", "--no-wasm-dynamic-tiering", "--liftoff-only"]) {
      expect(applySidecarV8Flags([flag], ""), flag).toBe(false);
    }
    expect(applySidecarV8Flags(["--max-old-space-size=100"], "--max-semi-space-size=1")).toBe(true);
  });
});
