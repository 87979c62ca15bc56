// Registration point for operator commands that live in their own modules.
import { registerCommand } from "./main.js";

// Operator commands (issue 6). Loaded lazily: only the command that runs is imported.
registerCommand("auth-test", "check sign-in, permissions and API access; one sentence on what is wrong", async () => (await import("./auth-test.js")).authTestCommand);
registerCommand("get-events", "ad-hoc query of a time span (--start/--end/--limit/--format json|table); never moves the cursor", async () => (await import("./get-events.js")).getEventsCommand);
registerCommand("backfill", "pull a historical span (--from/--to) into the sink, resumable, with progress", async () => (await import("./backfill.js")).backfillCommand);
registerCommand("login-url", "auth_code: print the sign-in/consent URL", async () => (await import("./auth-commands.js")).loginUrlCommand);
registerCommand("auth-code", "auth_code: redeem CODE and store the refresh token (0600)", async () => (await import("./auth-commands.js")).authCodeCommand);
registerCommand("auth-reset", "auth_code: forget the stored refresh token", async () => (await import("./auth-commands.js")).authResetCommand);

export {};
