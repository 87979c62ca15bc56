// Entry of the simulated directory: one Directory per simulator, and the routes it adds (Graph directory
// endpoints, device authorization, the verification page, the device_code grant). The router calls
// `routeDirectory` first; everything else stays with the existing handlers.
import type { Ctx } from "./context.js";
import { deviceAuthorization, deviceCodeToken, deviceLogin, isDeviceCodeGrant } from "./device-code.js";
import { DIRECTORY_RE, directoryGraph } from "./directory-graph.js";
import { Directory, type DirectoryOptions } from "./directory-store.js";
import type { SimRequest, SimResponse } from "./responses.js";

export type { DirectoryOptions };

const directories = new WeakMap<Ctx, Directory>();
/** Weak, so closed simulators are collected; only tests look simulators up by URL. */
const contexts = new Set<WeakRef<Ctx>>();

export function attachDirectory(ctx: Ctx, opts?: DirectoryOptions): Directory {
  const d = new Directory(ctx, opts);
  directories.set(ctx, d);
  contexts.add(new WeakRef(ctx));
  return d;
}

export function directoryOf(ctx: Ctx): Directory {
  return directories.get(ctx) ?? attachDirectory(ctx);
}

/** In-process tests: the directory of the simulator at `url` (to seed half-done tenants, change admin roles). */
export function directoryAt(url: string): Directory {
  for (const ref of contexts) {
    const ctx = ref.deref();
    if (!ctx) contexts.delete(ref);
    else if (ctx.url === url) return directoryOf(ctx);
  }
  throw new Error(`no simulator at ${url}`);
}

const DEVICE_RE = /^\/([^/]+)\/oauth2\/v2\.0\/(devicecode|token)$/i;

/** Name (stats().requests key) and handler for a directory request, or undefined when it is not one. */
export function routeDirectory(ctx: Ctx, req: SimRequest, path: string): { name: string; handle: () => SimResponse } | undefined {
  if (DIRECTORY_RE.test(path)) {
    // Writes are counted apart so tests can prove a re-run changed nothing.
    return {
      name: req.method === "GET" ? "directory-read" : "directory-write",
      handle: () => directoryGraph(ctx, directoryOf(ctx), req, path),
    };
  }
  if (path === "/devicelogin") return { name: "devicelogin", handle: () => deviceLogin(directoryOf(ctx), req) };
  const m = DEVICE_RE.exec(path);
  if (!m) return undefined;
  if (m[2]!.toLowerCase() === "devicecode")
    return { name: "devicecode", handle: () => deviceAuthorization(ctx, directoryOf(ctx), req, m[1]!) };
  if (req.method !== "POST" || !isDeviceCodeGrant(new URLSearchParams(req.body).get("grant_type"))) return undefined;
  return { name: "token", handle: () => deviceCodeToken(ctx, directoryOf(ctx), req, m[1]!)! };
}
