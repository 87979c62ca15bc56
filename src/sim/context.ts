// State shared by every route handler of one simulator instance.
import { randomBytes } from "node:crypto";
import type { TokenSigner } from "./jwt.js";
import type { Traffic } from "./traffic.js";
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, GRAPH_ROLE, RWS_ROLE, type SimApp, type SimOptions } from "./types.js";

/** An app with every default filled in. */
export type App = Required<Omit<SimApp, "clientSecret" | "certificatePem" | "redirectUri">> &
  Pick<SimApp, "clientSecret" | "certificatePem" | "redirectUri">;

export function normaliseApp(a: SimApp): App {
  return {
    ...a,
    graphRoles: a.graphRoles ?? [GRAPH_ROLE],
    rwsRoles: a.rwsRoles ?? [RWS_ROLE],
    globalReader: a.globalReader ?? true,
    servicePrincipalProvisioned: a.servicePrincipalProvisioned ?? true,
  };
}

export const DEFAULT_APP: SimApp = { clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET };

/** The managed identity of the (simulated) hosting App Service: its own principal with all roles. */
export const MANAGED_IDENTITY_CLIENT_ID = "99999999-8888-4777-8666-555555555555";

export interface Ctx {
  url: string;
  /** host:port, as msal's knownAuthorities wants it. */
  hostPort: string;
  tenantId: string;
  organization: string;
  apps: Map<string, App>;
  signer: TokenSigner;
  traffic: Traffic;
  now: () => number;
  seed: number;
  graphMaxPageSize: number;
  rwsPageSize: number;
  rwsJsonShape: "v2" | "v3";
  rwsFilter: "received" | "processing";
  /** How far after its received time a row's last processing step can lie (processing-time filter). */
  maxProcessingLagMs: number;
  tokenLifetimeSeconds: number;
  managedIdentityHeader: string;
  /** HMAC key for skiptokens, so a tampered token is detectable. */
  secret: Buffer;
  stats: { requests: Record<string, number>; byStatus: Record<string, number>; throttled: number; tokensIssued: number };
}

export function newSecret(): Buffer {
  return randomBytes(32);
}

export function resolvedNumber(v: number | undefined, dflt: number): number {
  return typeof v === "number" && Number.isFinite(v) ? v : dflt;
}

export type { SimOptions };
