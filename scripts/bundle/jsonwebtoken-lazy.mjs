// msal-node imports jsonwebtoken at load, but signs with it only for certificate credentials (a client
// assertion). Bundled, jsonwebtoken and its semver, jws and lodash helpers were a quarter of the code an idle
// `once` compiled. The bundled build (scripts/bundle.mjs) gives msal-node this stand-in, which loads the real
// package at the first sign, resolved from msal-node's own directory as msal-node would: not bundled.
import { createRequire } from "node:module";

let jwt;
export default {
  sign(...args) {
    if (!jwt) {
      const require = createRequire(import.meta.url);
      // A name in a variable: the bundler leaves this require to Node, at run time.
      const name = "jsonwebtoken";
      jwt = createRequire(require.resolve("@azure/msal-node"))(name);
    }
    return jwt.sign(...args);
  },
};
