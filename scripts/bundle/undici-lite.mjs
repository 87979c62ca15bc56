// What src/ takes from undici (Agent, ProxyAgent, EnvHttpProxyAgent, request), for the bundled build only
// (scripts/bundle.mjs maps `import … from "undici"` in dist/ to this file). undici's index.js loads all of
// undici — fetch, WebSocket, EventSource, cache stores, mocks, interceptors — which was a third of the code an
// idle `once` compiled. `request` is undici's own (index.js: makeDispatcher(api.request)), copied without
// changes (the same checks, the same default dispatcher).
import Dispatcher from "undici/lib/dispatcher/dispatcher.js";
import Agent from "undici/lib/dispatcher/agent.js";
import ProxyAgent from "undici/lib/dispatcher/proxy-agent.js";
import EnvHttpProxyAgent from "undici/lib/dispatcher/env-http-proxy-agent.js";
import errors from "undici/lib/core/errors.js";
import util from "undici/lib/core/util.js";
import api from "undici/lib/api/index.js";
import globals from "undici/lib/global.js";

// As index.js does: dispatchers get .request/.stream/… methods.
Object.assign(Dispatcher.prototype, api);

export function request(url, opts, handler) {
  if (typeof opts === "function") {
    handler = opts;
    opts = null;
  }
  if (!url || (typeof url !== "string" && typeof url !== "object" && !(url instanceof URL)))
    throw new errors.InvalidArgumentError("invalid url");
  if (opts != null && typeof opts !== "object") throw new errors.InvalidArgumentError("invalid opts");
  if (opts && opts.path != null) {
    if (typeof opts.path !== "string") throw new errors.InvalidArgumentError("invalid opts.path");
    const path = opts.path.startsWith("/") ? opts.path : `/${opts.path}`;
    url = new URL(util.parseOrigin(url).origin + path);
  } else {
    if (!opts) opts = typeof url === "object" ? url : {};
    url = util.parseURL(url);
  }
  const { agent, dispatcher = globals.getGlobalDispatcher() } = opts;
  if (agent) throw new errors.InvalidArgumentError("unsupported opts.agent. Did you mean opts.client?");
  return api.request.call(
    dispatcher,
    {
      ...opts,
      origin: url.origin,
      path: url.search ? `${url.pathname}${url.search}` : url.pathname,
      method: opts.method || (opts.body ? "PUT" : "GET"),
    },
    handler,
  );
}

export { Dispatcher, Agent, ProxyAgent, EnvHttpProxyAgent, errors };
