// Issue 19, idle `once`: V8's optimizing compilers are off (and --optimize-for-size on) while `once`/`run`
// start, and back when the start token is in, so the data path runs optimized as before (src/heap.ts).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { afterStart, leanStart, leanStartActive, START_FLAGS_MS } from "../src/heap.js";
import { ServerClock } from "../src/net/server-clock.js";
import { acquireStartToken, type ResolvedEndpoints } from "../src/runtime.js";

const HEAP_JS = fileURLToPath(new URL("../dist/heap.js", import.meta.url));

afterEach(() => afterStart());

describe("lean start: which commands, and who decides", () => {
  it("once and run only; O365_LEAN_START=v8 or the operator's own node flag keeps V8's defaults", () => {
    for (const cmd of ["backfill", "simulate", "status", undefined]) expect(leanStart(cmd, {}, []), String(cmd)).toBe(false);
    expect(leanStart("once", { O365_LEAN_START: "v8" }, [])).toBe(false);
    expect(leanStart("once", {}, ["--no-opt"])).toBe(false);
    expect(leanStart("run", {}, ["--max_opt=2"])).toBe(false);
    expect(leanStart("once", { NODE_OPTIONS: "--jitless" }, [])).toBe(false);
    expect(leanStartActive()).toBe(false);
    expect(leanStart("once", {}, [])).toBe(true);
    expect(leanStartActive()).toBe(true);
    afterStart();
    expect(leanStartActive()).toBe(false);
    expect(leanStart("run", {}, [])).toBe(true);
  });

  it("the start token ends the lean start, whether it comes or fails", async () => {
    const endpoints = {
      source: { base: "https://graph.example", resource: "https://graph.microsoft.com" },
    } as unknown as ResolvedEndpoints;
    const serverClock = new ServerClock();
    leanStart("once", {}, []);
    await acquireStartToken({ tokens: { method: "test", getToken: async () => "not-a-jwt" }, endpoints, serverClock });
    expect(leanStartActive()).toBe(false);
    leanStart("once", {}, []);
    const failing = { method: "test", getToken: async () => Promise.reject(new Error("wrong secret")) };
    await expect(acquireStartToken({ tokens: failing, endpoints, serverClock })).rejects.toThrow("wrong secret");
    expect(leanStartActive()).toBe(false);
  });
});

describe("lean start in a real V8", () => {
  it("TurboFan does not optimize during the start, does after afterStart(), and after the timer at the latest", () => {
    // %OptimizeFunctionOnNextCall optimizes only when TurboFan is on; status bit 16 is V8's kOptimized. Each
    // function has a source of its own: V8 caches `new Function` by source, optimized code included.
    const script = `
      const { leanStart, afterStart } = await import(${JSON.stringify(HEAP_JS)});
      let n = 0;
      const optimized = () => {
        const f = new Function("x", "return x * 2 + " + n++);
        new Function("f", "%PrepareFunctionForOptimization(f); f(1); f(2); %OptimizeFunctionOnNextCall(f); f(3);")(f);
        return (new Function("f", "return %GetOptimizationStatus(f)")(f) & 16) !== 0;
      };
      const seen = { before: optimized(), lean: leanStart("once", {}, []) };
      seen.during = optimized();
      afterStart();
      seen.after = optimized();
      leanStart("run", {}, []);
      seen.during2 = optimized();
      await new Promise((r) => setTimeout(r, ${START_FLAGS_MS + 300}));
      seen.afterTimer = optimized();
      console.log(JSON.stringify(seen));
    `;
    const r = spawnSync(process.execPath, ["--allow-natives-syntax", "--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ before: true, lean: true, during: false, after: true, during2: false, afterTimer: true });
  });
});
