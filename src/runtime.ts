// The composition root: `open(config, needs)` builds what a command needs — dispatcher, token provider,
// source, sink, state store (locked when asked), collector — from the component registries, and closes it
// all in one place. Components are looked up by their descriptors; nothing here knows a source or sink by name.
import type { Dispatcher } from "undici";
import type { AuthContext } from "./auth/descriptor.js";
import type { AuthDeps, TokenProvider } from "./auth/provider.js";
import { authMethod } from "./auth/registry.js";
import { CLOUDS } from "./config/clouds.js";
import type { Config } from "./config/schema.js";
import { StateStore } from "./cursor/store.js";
import { Quarantine } from "./cursor/quarantine.js";
import type { Logger } from "./log/logger.js";
import { budgetHooks, type RequestBudget } from "./net/budget.js";
import { createDispatcher } from "./net/dispatcher.js";
import { retryPolicyFrom } from "./net/retry.js";
import { ServerClock, tokenIssuedAt } from "./net/server-clock.js";
import { afterStart } from "./heap.js";
import { Collector, type CollectorOptions } from "./pipeline/collector.js";
import { noopMetrics, type PipelineMetrics } from "./pipeline/metrics.js";
import type { RecordMapper } from "./schema/mapper.js";
import { createRecordMapper } from "./schema/profiles/index.js";
import { sinkDescriptor } from "./sinks/registry.js";
import type { ApiHooks } from "./sources/api-client.js";
import type { SourceEndpoint } from "./sources/descriptor.js";
import { sourceDescriptor } from "./sources/registry.js";
import type { Sink, Source } from "./types.js";

export interface RuntimeOptions {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Extra trusted CA (PEM), e.g. the embedded simulator's. */
  caPem?: string;
  clock?: () => number;
  /** `clock` is pinned in the past on purpose (O365MT_NOW): being behind the service is expected. */
  clockPinned?: boolean;
  metrics?: PipelineMetrics;
  stdout?: NodeJS.WritableStream;
  /** A ready dispatcher (kept open on close) / token provider: tests, and auth-test's step-by-step checks. */
  dispatcher?: Dispatcher;
  tokens?: TokenProvider;
  /** A ready sink shared with other runtimes (many tenants, one receiver): used instead of creating one, kept open on close. */
  sink?: Sink;
  /** Decorate the configured sink (the demo records what went out; tests count). */
  wrapSink?: (sink: Sink) => Sink;
  /** Extra hooks before every API request (request budget). */
  beforeRequest?: ApiHooks["beforeRequest"];
  /** Most time Retry-After may make this runtime wait in all (`once`); unset = honour every wait (`run`). */
  retryAfterLimitMs?: number;
}

/** What a command asks `open` for. */
export interface Needs {
  /** The HTTP stack alone (dispatcher, endpoints): implied by `source`. */
  network?: boolean;
  /** The configured source, with its token provider. */
  source?: boolean;
  sink?: boolean;
  /** The state store by name ("state": the live cursor; "backfill": backfill's own). */
  store?: string;
  /** Take the store's lock (released by close). */
  lock?: boolean;
  /** A collector over source, sink and store; an object overrides some of its options. */
  collector?: boolean | Partial<CollectorOptions>;
}

export interface ResolvedEndpoints {
  login: string;
  /** The configured source's API base and token audience. */
  source: SourceEndpoint;
}

interface Base {
  config: Config;
  close(): Promise<void>;
}
type Has<N, K extends keyof Needs, T> = N extends Record<K, true | string | object> ? T : unknown;

/** What `open` returns: exactly the parts `needs` asked for. */
export type Runtime<N extends Needs = typeof EVERYTHING> = Base &
  Has<N, "network", { dispatcher: Dispatcher; endpoints: ResolvedEndpoints }> &
  Has<
    N,
    "source",
    { dispatcher: Dispatcher; endpoints: ResolvedEndpoints; tokens: TokenProvider; source: Source; serverClock: ServerClock }
  > &
  Has<N, "sink", { sink: Sink }> &
  Has<N, "store", { store: StateStore }> &
  Has<N, "collector", { collector: Collector }>;

/** The live collector: source, sink, state store and collector (tests; `once`, `run`, `demo` add the lock). */
export const EVERYTHING = { source: true, sink: true, store: "state", collector: true } as const;

/** Login host and the source's endpoint for the configured cloud (endpoints.login and source.endpoint override the cloud's hosts). */
export function resolveEndpoints(config: Config): ResolvedEndpoints {
  const d = sourceDescriptor(config.source);
  return {
    login: config.endpoints.login ?? CLOUDS[config.cloud].login,
    source: { base: d.endpoint(config.source, config.cloud), resource: d.tokenResource(config.source, config.cloud) },
  };
}

/** The configured auth method's context: the `auth:` section, tenant, timeout, and only the extras its descriptor declares. */
export function authContext(config: Config, deps: AuthDeps): AuthContext {
  const needs = authMethod(config.auth.method).needs ?? {};
  return {
    ...deps,
    options: config.auth,
    tenantId: config.tenant_id,
    timeoutMs: config.http.timeout * 1000,
    ...(needs.stateDir ? { stateDir: config.state_dir } : {}),
    ...(needs.sourceScope ? { sourceScope: `${sourceDescriptor(config.source).tokenResource(config.source, config.cloud)}/.default` } : {}),
  };
}

/** The token provider of the configured auth method. */
export function createTokenProvider(config: Config, deps: AuthDeps): TokenProvider {
  return authMethod(config.auth.method).create(authContext(config, deps));
}

export function createDispatcherFor(config: Config, opts: Pick<RuntimeOptions, "caPem" | "env" | "logger">): Dispatcher {
  return createDispatcher({
    caFile: config.http.ca_file,
    caPem: opts.caPem,
    insecure: config.http.insecure,
    proxy: config.http.proxy,
    env: opts.env,
    logger: opts.logger,
  });
}

/** The schema mapper a config asks for (`keyStyle`, `profile` override the configured ones). */
export function recordMapperFor(
  config: Config,
  keyStyle: Config["key_style"] = config.key_style,
  profile: Config["schema"]["profile"] = config.schema.profile,
): RecordMapper {
  return createRecordMapper(
    {
      tenantId: config.tenant_id,
      source: config.source.type,
      keyStyle,
      localDomains: config.local_domains,
      organization: config.organization,
    },
    { profile, preserveOriginal: config.schema.preserve_original },
  );
}

function pageSizeOf(source: object): number {
  const size = (source as { page_size?: unknown }).page_size;
  return typeof size === "number" ? size : 2000;
}

/** The collector's share of the config, in its own units; the window cap comes from the source. */
export function collectorOptions(config: Config): CollectorOptions {
  return {
    delayMinutes: config.delay,
    windowMinutes: config.window,
    maxWindows: config.max_windows_per_run,
    maxSpanMinutes: sourceDescriptor(config.source).maxSpanMinutes,
    start: config.start,
    rescanHorizonMinutes: config.rescan.horizon,
    rescanEvery: config.rescan.every,
    dedupe: config.dedupe,
    details: config.details,
    detailsMaxPerWindow: config.details_max_per_window,
    groupBy: config.group_by,
    dropStatus: config.drop_status,
    // Grouped output is journaled in batches of one page (the graph page size; the legacy report's 2000 rows).
    groupBatch: typeof config.source.page_size === "number" ? config.source.page_size : 2000,
    frequencySeconds: config.frequency,
    // What a re-read of history costs: Graph pages hold page_size rows, the legacy report 2000.
    pageSize: pageSizeOf(config.source),
    budget: { limit: config.request_budget.limit, windowSeconds: config.request_budget.window_seconds },
  };
}

export function createSink(config: Config, opts: RuntimeOptions): Sink {
  const d = sinkDescriptor(config.sink.type);
  const sink = d.create({
    options: config.sink[d.kind],
    logger: opts.logger,
    stdout: opts.stdout,
    env: opts.env ?? process.env,
    metrics: opts.metrics ?? noopMetrics,
    retry: retryPolicyFrom(config.retry),
  });
  return opts.wrapSink ? opts.wrapSink(sink) : sink;
}

function createSource(
  config: Config,
  opts: RuntimeOptions,
  dispatcher: Dispatcher,
  tokens: TokenProvider,
  endpoint: SourceEndpoint,
  serverClock: ServerClock,
): { source: Source; budget?: RequestBudget } {
  const d = sourceDescriptor(config.source);
  const metrics = opts.metrics ?? noopMetrics;
  // One budget per runtime, shared by list and detail calls: pace ourselves below the service's throttle.
  const budget = opts.beforeRequest
    ? undefined
    : budgetHooks(
        { limit: config.request_budget.limit, windowSeconds: config.request_budget.window_seconds, clock: opts.clock },
        opts.logger,
      );
  const source = d.create({
    options: config.source,
    organization: config.organization,
    endpoint,
    dispatcher,
    tokens,
    logger: opts.logger,
    retry: retryPolicyFrom(config.retry, opts.retryAfterLimitMs),
    timeoutMs: config.http.timeout * 1000,
    maxBodyBytes: config.http.max_response_mb * 1024 * 1024,
    rejects: new Quarantine(config.state_dir, config.tenant_id, config.source.type, opts.logger),
    hooks: {
      beforeRequest: opts.beforeRequest ?? budget!.beforeRequest,
      onResponse: (route, status) => {
        budget?.onResponse();
        metrics.apiResponse(route, status);
      },
      onRetry: (route) => metrics.retry(route),
      onServerDate: (date) => serverClock.observeDate(date),
    },
  });
  return { source, budget: budget?.budget };
}

/**
 * Build what `needs` asks for. On a failure half-way, what was built is closed again. `close` closes the sink,
 * the source, the dispatcher (unless it was given), the store, and releases the lock, each once.
 */
export function open<N extends Needs>(config: Config, needs: N, opts: RuntimeOptions): Runtime<N> {
  const parts: Partial<{
    dispatcher: Dispatcher;
    endpoints: ResolvedEndpoints;
    tokens: TokenProvider;
    source: Source;
    sink: Sink;
    store: StateStore;
    collector: Collector;
    serverClock: ServerClock;
  }> = {};
  let budget: RequestBudget | undefined;
  const close = async () => {
    if (!opts.sink) await parts.sink?.close().catch(() => {});
    await parts.source?.close?.().catch(() => {});
    if (parts.dispatcher && !opts.dispatcher) await parts.dispatcher.close().catch(() => {});
    parts.store?.close();
  };
  try {
    if (needs.store !== undefined) {
      parts.store = new StateStore(config.state_dir, config.tenant_id, config.source.type, needs.store);
      if (needs.lock) parts.store.lock();
    }
    if (needs.network || needs.source) {
      parts.endpoints = resolveEndpoints(config);
      parts.dispatcher = opts.dispatcher ?? createDispatcherFor(config, opts);
    }
    if (needs.source) {
      const deps = { dispatcher: parts.dispatcher!, logger: opts.logger, loginBase: parts.endpoints!.login, env: opts.env };
      parts.tokens = opts.tokens ?? createTokenProvider(config, deps);
      // The service's clock as its responses tell it: windows are planned and committed by it.
      parts.serverClock = new ServerClock(opts.clock ?? Date.now, opts.logger, opts.clockPinned);
      ({ source: parts.source, budget } = createSource(
        config,
        opts,
        parts.dispatcher!,
        parts.tokens,
        parts.endpoints!.source,
        parts.serverClock,
      ));
    }
    if (needs.sink) parts.sink = opts.sink ?? createSink(config, opts);
    if (needs.collector) {
      const overrides = typeof needs.collector === "object" ? needs.collector : {};
      parts.collector = new Collector({
        options: { ...collectorOptions(config), ...overrides },
        source: parts.source!,
        sink: parts.sink!,
        store: parts.store!,
        mapper: recordMapperFor(config),
        logger: opts.logger,
        clock: opts.clock,
        metrics: opts.metrics,
        serverClock: parts.serverClock,
        budget,
      });
    }
  } catch (err) {
    // The lock is released before this throws (a caller may retry at once); the rest closes in the background.
    parts.store?.close();
    void close();
    throw err;
  }
  return { config, ...parts, close } as unknown as Runtime<N>;
}

/**
 * Acquire the source's token now, so a wrong secret, certificate or tenant fails when the collector starts
 * (at deploy time) instead of when the first window is due, which may be an hour later.
 */
export async function acquireStartToken(rt: {
  tokens: TokenProvider;
  endpoints: ResolvedEndpoints;
  serverClock: ServerClock;
}): Promise<string> {
  // The start is over once the token is in (or has failed): V8's defaults back before any window is read
  // (src/heap.ts, leanStart).
  const token = await rt.tokens.getToken(`${rt.endpoints.source.resource.replace(/\/+$/, "")}/.default`).finally(afterStart);
  // A token issued just now carries the login service's clock: enough to spot a cursor in the future
  // before the first data request.
  const iat = tokenIssuedAt(token);
  if (iat !== undefined) rt.serverClock.observeIssuedAt(iat);
  return token;
}

/** The live collector (source, sink, state store, collector), without the lock: tests and embedders. */
export function createRuntime(config: Config, opts: RuntimeOptions): Runtime {
  return open(config, EVERYTHING, opts);
}
