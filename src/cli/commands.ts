// Every command, one line each: name, one-line summary, and the module that defines it (loaded only when it
// runs, so `once` never pays for the simulator). A command module exports `command` (see ./command.ts).
import type { CommandMain } from "./command.js";

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<CommandMain>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "run",
    summary: "long-running collector (daemon) for forward/http sinks or streaming exec",
    load: async () => (await import("./run.js")).command,
  },
  {
    name: "once",
    summary: "one poll cycle, NDJSON on stdout (Fluent Bit / Fluentd / Vector exec)",
    load: async () => (await import("./once.js")).command,
  },
  {
    name: "demo",
    summary: "run against an embedded simulated tenant (no Microsoft account needed)",
    load: async () => (await import("./demo.js")).command,
  },
  {
    name: "simulate",
    summary: "start the simulated tenant (token endpoint, Graph, legacy reporting service)",
    load: async () => (await import("./simulate.js")).command,
  },
  {
    name: "schema",
    summary: "print the o365.message.* field table (--json for JSON Schema)",
    load: async () => (await import("./schema-cmd.js")).command,
  },
  {
    name: "auth-test",
    summary: "check sign-in, permissions and API access; one sentence on what is wrong",
    load: async () => (await import("./auth-test.js")).command,
  },
  {
    name: "get-events",
    summary: "ad-hoc query of a time span (--start/--end/--limit/--format json|table); never moves the cursor",
    load: async () => (await import("./get-events.js")).command,
  },
  {
    name: "status",
    summary: "per tenant: cursor, lag, last success, last error (from the state directories, no network)",
    load: async () => (await import("./status.js")).command,
  },
  {
    name: "backfill",
    summary: "pull a historical span (--from/--to) into the sink, resumable, with progress",
    load: async () => (await import("./backfill.js")).command,
  },
  { name: "login-url", summary: "auth_code: print the sign-in/consent URL", load: async () => (await import("./login-url.js")).command },
  {
    name: "auth-code",
    summary: "auth_code: redeem CODE and store the refresh token (0600)",
    load: async () => (await import("./auth-code.js")).command,
  },
  {
    name: "auth-reset",
    summary: "auth_code: forget the stored refresh token",
    load: async () => (await import("./auth-reset.js")).command,
  },
  {
    name: "setup",
    summary: "register the app in your tenant (device code sign-in), grant the permission, write the config",
    load: async () => (await import("../setup/command.js")).command,
  },
];
