// npm 11.16+ lists dependencies whose install scripts `allowScripts` (package.json) does not cover, and npm 12
// will not run them: fs-ext (the flock lock, a native addon built by its install script) would then be
// missing at run time. Every package of the lockfile that has an install script is decided in package.json,
// and the production install (a global install, which reads no project package.json) allows fs-ext itself.
// A clean `npm ci` was checked by hand with npm 11.19 (no warning, fs-ext built) and npm 10.9 (which ignores
// the field: same install).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/harness.js";

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { allowScripts?: Record<string, boolean> };
const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, { hasInstallScript?: boolean }>;
};

describe("install scripts (npm allowScripts)", () => {
  it("every dependency with an install script is allowed or denied in package.json, fs-ext allowed", () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([path, p]) => path !== "" && p.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length));
    expect(withScripts).toContain("fs-ext");
    const policy = pkg.allowScripts ?? {};
    expect(
      withScripts.filter((name) => typeof policy[name] !== "boolean" && !Object.keys(policy).some((k) => k.startsWith(`${name}@`))),
    ).toEqual([]);
    expect(policy["fs-ext"]).toBe(true);
  });

  it("the production install (global: no project package.json is read) allows fs-ext's build on the command line", () => {
    const script = readFileSync(join(ROOT, "scripts/production-install.sh"), "utf8");
    expect(script).toMatch(/npm install --global [^\n]*--allow-scripts=fs-ext/);
  });
});
