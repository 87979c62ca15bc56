// The package's version (`--version`, the producer named in OCSF records). The bundled build
// (scripts/bundle.mjs) defines __O365MT_VERSION__ at build time; the plain tsc build reads package.json the
// first time the version is asked for, never at import (a cold start should not pay for what it does not use).
import { readFileSync } from "node:fs";

declare const __O365MT_VERSION__: string | undefined;
let version: string | undefined;

export function packageVersion(): string {
  version ??=
    typeof __O365MT_VERSION__ === "string"
      ? __O365MT_VERSION__
      : (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
  return version;
}
