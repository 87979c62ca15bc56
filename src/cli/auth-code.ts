// `auth-code CODE`: redeem the code from the last login-url and store the refresh token (0600) in state_dir.
import { CollectorError } from "../errors.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, requireConfigPath, setup } from "./common.js";
import { signInStore, withSignIn } from "./auth-commands.js";

export const command = defineCommand({
  name: "auth-code",
  help: `Usage: o365-message-trace auth-code --config FILE CODE|REDIRECT_URL

Redeems the code from the last login-url and stores the refresh token (0600) in state_dir; the collector
renews it from then on (Entra rotates it on every use).`,
  options: { config: { type: "string", short: "c" } },
  positionals: true,
  async run(values, positionals) {
    if (positionals.length !== 1)
      throw new CollectorError("config", "auth-code needs exactly one CODE (or the redirect URL)", {
        hint: "o365-message-trace auth-code --config FILE CODE",
      });
    const { config, logger } = setup(requireConfigPath(values.config, "auth-code"));
    const user = await withSignIn(config, logger, (p) => p.redeem(positionals[0]!));
    process.stdout.write(`signed in as ${user}; refresh token stored in ${signInStore(config)} (mode 0600)\n`);
    return EXIT_OK;
  },
});
