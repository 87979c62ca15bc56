// `setup` flags → options, checked before anyone is asked to sign in.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { CollectorError } from "../errors.js";
import { expiryDays } from "./credentials.js";
import { sourceDescriptors } from "../sources/registry.js";
import { ADMIN_PUBLIC_CLIENT_ID } from "./requirements.js";
import { parseDuration } from "./wait.js";

export const SETUP_HELP = `Usage: o365-message-trace setup --tenant T [options]

Registers the collector in your Microsoft 365 tenant in one run: an administrator signs in with a device
code (works over SSH and in containers); then, through Microsoft Graph, setup creates or finds the app
registration, adds the permission the source needs and grants admin consent, creates the message trace
service principal (graph) or assigns Global Reader (rws), creates a client secret or uploads a certificate,
writes a ready config file and runs the auth check, waiting while Microsoft provisions. It prints the plan
before changing anything; re-running it fixes what is missing and changes nothing else.

  --tenant T                 tenant id or verified domain (default: tenant_id of an existing --config-out)
  --source KIND              which API to set up: graph (default) or rws
  --credential secret|certificate   default secret
  --config-out FILE          config to write or update (default ./o365-message-trace.yaml)
  --secret-out FILE          env file for the client secret (O365_CLIENT_SECRET=…, mode 0600)
  --print-secret             print the new client secret once on stdout (only if you ask)
  --secret-expiry N          secret lifetime: 180d (default), 12m, 1y (at most 24 months)
  --cert-out BASE            certificate credential: BASE.key.pem (0600) and BASE.cert.pem (default: beside the config)
  --app-name NAME            app registration display name (default o365-message-trace)
  --client-id ID             use this existing app registration
  --cloud NAME               global (default), gcc, gcc-high, dod, china
  --login-endpoint URL, --graph-endpoint URL, --rws-endpoint URL, --ca-file FILE
                             non-default endpoints and a CA to trust (written into the config too)
  --admin-client-id ID       public client the administrator signs in with (default Microsoft Graph
                             Command Line Tools ${ADMIN_PUBLIC_CLIENT_ID})
  --dry-run                  sign in, read the tenant and print the plan; change nothing
  --wait DURATION            how long to wait for provisioning before stopping (default 30m)
  --poll-interval DURATION   first pause between auth checks, growing to 1m (default 10s)
  --resume                   continue waiting after an earlier run stopped (no sign-in needed)
  --rotate-secret            new client secret → env file → verified → only then the old one removed

Exit status: 0 ready; 75 changes done but Microsoft is still provisioning (run --resume later);
1 failure; 2 bad arguments. The device code goes to stderr, the plan and results to stdout.`;

export interface SetupOptions {
  tenant?: string;
  /** A source kind (graph, rws, or one registered later). */
  source: string;
  credential: "secret" | "certificate";
  configOut: string;
  secretOut?: string;
  printSecret: boolean;
  secretDays: number;
  certBase: string;
  appName: string;
  clientId?: string;
  cloud?: string;
  endpoints: { login?: string; graph?: string; rws?: string };
  caFile?: string;
  adminClientId: string;
  dryRun: boolean;
  waitMs: number;
  pollMs: number;
  resume: boolean;
  rotate: boolean;
}

const str = { type: "string" } as const;
const flag = { type: "boolean" } as const;

export const SETUP_FLAGS = {
  tenant: str,
  source: str,
  credential: str,
  "config-out": str,
  "secret-out": str,
  "print-secret": flag,
  "secret-expiry": str,
  "cert-out": str,
  "app-name": str,
  "client-id": str,
  cloud: str,
  "login-endpoint": str,
  "graph-endpoint": str,
  "rws-endpoint": str,
  "ca-file": str,
  "admin-client-id": str,
  "dry-run": flag,
  wait: str,
  "poll-interval": str,
  resume: flag,
  "rotate-secret": flag,
};

type FlagValues = { [K in keyof typeof SETUP_FLAGS]?: (typeof SETUP_FLAGS)[K]["type"] extends "string" ? string : boolean };

export function toSetupOptions(v: FlagValues): SetupOptions {
  const bad = (what: string, hint: string) => new CollectorError("config", what, { hint });
  const kinds = sourceDescriptors().map((d) => d.kind);
  const source = v.source ?? kinds[0]!;
  if (!kinds.includes(source)) throw bad(`--source ${source} is not available`, `use --source ${kinds.join(" or ")}`);
  const credential = v.credential ?? "secret";
  if (credential !== "secret" && credential !== "certificate")
    throw bad(`--credential ${credential} is not secret or certificate`, "use --credential secret (default) or certificate");
  const configOut = resolve(v["config-out"] ?? "o365-message-trace.yaml");
  for (const [flag, url] of [
    ["login-endpoint", v["login-endpoint"]],
    ["graph-endpoint", v["graph-endpoint"]],
    ["rws-endpoint", v["rws-endpoint"]],
  ] as const) {
    if (url && !/^https:\/\/[^/]+/.test(url)) throw bad(`--${flag} ${url} is not an https URL`, `e.g. --${flag} https://host:port`);
  }
  const caFile = v["ca-file"] ? resolve(v["ca-file"]) : undefined;
  if (caFile && !existsSync(caFile)) throw bad(`--ca-file ${caFile} does not exist`, "pass a PEM file");
  const opts: SetupOptions = {
    tenant: v.tenant,
    source,
    credential,
    configOut,
    secretOut: v["secret-out"] ? resolve(v["secret-out"]) : undefined,
    printSecret: !!v["print-secret"],
    secretDays: expiryDays(v["secret-expiry"] ?? "180d"),
    certBase: resolve(v["cert-out"] ?? configOut.replace(/\.ya?ml$/i, "")),
    appName: v["app-name"] ?? "o365-message-trace",
    clientId: v["client-id"],
    cloud: v.cloud,
    endpoints: { login: v["login-endpoint"], graph: v["graph-endpoint"], rws: v["rws-endpoint"] },
    caFile,
    adminClientId: v["admin-client-id"] ?? ADMIN_PUBLIC_CLIENT_ID,
    dryRun: !!v["dry-run"],
    waitMs: parseDuration(v.wait ?? "30m", "--wait"),
    pollMs: parseDuration(v["poll-interval"] ?? "10s", "--poll-interval"),
    resume: !!v.resume,
    rotate: !!v["rotate-secret"],
  };
  if (opts.resume && opts.rotate) throw bad("--resume and --rotate-secret do not go together", "run one, then the other");
  if (opts.rotate && opts.credential === "certificate")
    throw bad("--rotate-secret rotates a client secret, not a certificate", "drop --credential certificate");
  if (opts.cloud && !["global", "gcc", "gcc-high", "dod", "china"].includes(opts.cloud))
    throw bad(`--cloud ${opts.cloud} is unknown`, "use global, gcc, gcc-high, dod or china");
  return opts;
}
