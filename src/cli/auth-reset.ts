// `auth-reset`: delete the stored auth_code refresh token and any pending sign-in for this tenant.
import { existsSync, rmSync } from "node:fs";
import { signInFiles } from "./auth-commands.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, requireConfigPath, setup } from "./common.js";

export const command = defineCommand({
  name: "auth-reset",
  help: `Usage: o365-message-trace auth-reset --config FILE

Deletes the stored auth_code refresh token and any pending sign-in for this tenant.`,
  options: { config: { type: "string", short: "c" } },
  async run(values) {
    const { config } = setup(requireConfigPath(values.config, "auth-reset"));
    const removed = signInFiles(config).filter((f) => existsSync(f));
    for (const f of removed) rmSync(f, { force: true });
    process.stdout.write(removed.length ? `removed ${removed.join(", ")}\n` : "no stored auth_code sign-in for this tenant\n");
    return EXIT_OK;
  },
});
