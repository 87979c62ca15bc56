// Public types of the simulated Microsoft 365 tenant. Other modules and tests code against these exactly.
import type { StatusChangeOptions } from "./status-changes.js";

export type { StatusChangeOptions } from "./status-changes.js";
import type { LatenessSpec } from "./lateness.js";

/** An Entra app registration in the simulated tenant. */
export interface SimApp {
  clientId: string;
  /** Client-secret auth. */
  clientSecret?: string;
  /** Public certificate (PEM) for certificate auth (client_assertion JWT, RS256/PS256, x5t or x5t#S256). */
  certificatePem?: string;
  /** Graph application permissions; default ["ExchangeMessageTrace.Read.All"]. */
  graphRoles?: string[];
  /** Exchange Online application permissions; default ["ReportingWebService.Read.All"]. */
  rwsRoles?: string[];
  /** Entra role Global Reader, needed by the Reporting Web Service; default true. */
  globalReader?: boolean;
  /** false => Graph answers 401 "service principal ... not found"; default true. */
  servicePrincipalProvisioned?: boolean;
  /** For the auth-code flow; when set, /authorize and the code exchange must use exactly this URI. */
  redirectUri?: string;
}

export type FaultKind = "429" | "500" | "503" | "slow" | "truncated" | "html-signin" | "token-expired" | "sp-not-found" | "reset";

export type FaultRoute = "graph" | "rws" | "token" | "details" | "any";

export interface FaultSpec {
  route: FaultRoute;
  kind: FaultKind;
  /** How many matching requests get it (default 1). */
  count?: number;
  /** Skip this many matching requests first (default 0). */
  after?: number;
  /** For 429 (default 1). */
  retryAfterSeconds?: number;
  /** For slow (default 30000). */
  delayMs?: number;
}

export interface SimOptions {
  host?: string;
  port?: number;
  seed?: number;
  /** Mean messages per hour (each hour draws uniformly within ±25 % of it); default 60. */
  ratePerHour?: number;
  maxRecipients?: number;
  tenantId?: string;
  organization?: string;
  apps?: SimApp[];
  graphMaxPageSize?: number;
  rwsPageSize?: number;
  /**
   * Shape of RWS `$format=json`: OData v2 verbose (default) or OData v3 JSON light. A request with
   * `Accept: application/json` and no `$format` always gets JSON light, as the real service answers.
   */
  rwsJsonShape?: "v2" | "v3";
  /**
   * What the legacy report's StartDate/EndDate select on: `received` (default; Received in the window) or
   * `processing` (the row's last processing time in the window: Microsoft ties the bounds to the first and
   * last processing steps, docs §5, so a row received just before a window's end can come only with the next).
   */
  rwsFilter?: "received" | "processing";
  late?: { fraction: number; maxLagMinutes: number };
  /** Rows first visible as gettingStatus/pending that change to their final status later (default off). */
  statusChanges?: StatusChangeOptions;
  /** How late rows become visible (src/sim/lateness.ts); overrides `late`. */
  lateness?: LatenessSpec;
  throttle?: { limit: number; windowMs: number } | false;
  /** Count the throttle's running window on the simulated clock (time-scaled tests) instead of the wall clock. */
  throttleClock?: "wall" | "sim";
  faultRate?: { rate: number; kinds: FaultKind[]; seed?: number };
  tokenLifetimeSeconds?: number;
  now?: () => number;
  /** The directory `setup` works on: admin roles, service principal provisioning delay, device code pacing. */
  directory?: import("./directory-store.js").DirectoryOptions;
  /** TLS key pair and token signer from another simulator (many simulated tenants behind one CA: sim/fleet.ts). */
  reuse?: SimShared;
}

/** What simulators of one fleet share: one certificate (one CA to trust) and one signing key (cheap start). */
export interface SimShared {
  tls: { key: string; cert: string };
  signer: import("./jwt.js").TokenSigner;
}

/** The Graph `exchangeMessageTrace` item as the list API returns it. */
export interface GraphTraceItem {
  id: string;
  messageId: string;
  receivedDateTime: string;
  senderAddress: string;
  recipientAddress: string;
  subject: string;
  size: number;
  status: string;
  /** Absent (property left out) for some internal mail (a guess, see docs/simulator.md). */
  fromIP?: string | null;
  /** "" for inbound mail, like the API (docs §5). */
  toIP?: string | null;
}

/** A truth row: the item with the status shown at the simulator's clock, plus the states it goes through. */
export interface TruthItem extends GraphTraceItem {
  /**
   * Only for rows whose status changes (SimOptions.statusChanges): every state, oldest first; `at` is the ISO
   * time from which the APIs show that status. Absent: the row shows `status` from the moment it is visible.
   */
  states?: Array<{ status: string; at: string }>;
}

/** The Graph `exchangeMessageTraceDetail` item. */
export interface GraphDetailItem {
  id: string;
  messageId: string;
  dateTime: string;
  event: string;
  action: string;
  description: string;
  data: string;
}

export interface SimStats {
  requests: Record<string, number>;
  byStatus: Record<string, number>;
  throttled: number;
  tokensIssued: number;
}

export interface Simulator {
  url: string;
  port: number;
  ca: string;
  tenantId: string;
  organization: string;
  clientId: string;
  clientSecret: string;
  authority: string;
  graphBase: string;
  rwsBase: string;
  managedIdentityEndpoint: string;
  managedIdentityHeader: string;
  /** Rows received in [from, to), with the status current at the simulator's clock and their state sequence. */
  truth(from: Date, to: Date, opts?: { visibleOnly?: boolean }): TruthItem[];
  details(traceId: string, recipient: string): GraphDetailItem[];
  inject(f: FaultSpec): void;
  clearFaults(): void;
  setNow(ms: number): void;
  addApp(app: SimApp): void;
  stats(): SimStats;
  close(): Promise<void>;
}

export const DEFAULT_TENANT_ID = "00000000-0000-4000-8000-000000000001";
export const DEFAULT_ORGANIZATION = "contoso.onmicrosoft.com";
export const DEFAULT_CLIENT_ID = "11111111-2222-3333-4444-555555555555";
export const DEFAULT_CLIENT_SECRET = "sim-secret-Q7f~v2kR.8xZ";
/** The Microsoft first-party app whose service principal Graph message trace needs in the tenant. */
export const MESSAGE_TRACE_SP_APP_ID = "8bd644d1-64a1-4d4b-ae52-2e0cbf64e373";
export const GRAPH_RESOURCE = "https://graph.microsoft.com";
export const RWS_RESOURCE = "https://outlook.office365.com";
export const GRAPH_ROLE = "ExchangeMessageTrace.Read.All";
export const RWS_ROLE = "ReportingWebService.Read.All";
/** Entra role template ids that satisfy the Reporting Web Service (carried in the token's `wids`). */
export const GLOBAL_READER_ROLE_ID = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
