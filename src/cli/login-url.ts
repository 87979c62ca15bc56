// `login-url`: print the sign-in / consent URL for auth.method auth_code (step 1 of 2, see auth-code.ts).
import { defineCommand } from "./command.js";
import { answerLogger, EXIT_OK, requireConfigPath, setup } from "./common.js";
import { withSignIn } from "./auth-commands.js";

export const command = defineCommand({
  name: "login-url",
  help: `Usage: o365-message-trace login-url --config FILE

Prints the sign-in / consent URL for auth.method auth_code. Open it as an administrator; the browser is sent
to auth.redirect_uri with ?code=…; pass that code (or the whole URL, quoted) to \`auth-code\`.`,
  options: { config: { type: "string", short: "c" } },
  async run(values) {
    const { config, logger } = setup(requireConfigPath(values.config, "login-url"));
    const url = await withSignIn(config, logger, (p) => p.loginUrl());
    process.stdout.write(url + "\n");
    answerLogger(config).info(
      `open this URL as an administrator; then run: o365-message-trace auth-code --config ${values.config ?? "$O365_CONFIG"} CODE`,
    );
    return EXIT_OK;
  },
});
