// Wire one configured collector: dispatcher → token provider → source → mapper → sink → state store.
// Sources and sinks register factories here, so adding one never touches the pipeline.
import type { Dispatcher } from "undici";
import { createTokenProvider, type TokenProvider } from "./auth/provider.js";
// Side-effect imports: these register the auth_code and managed_identity methods in providerFactories.
import "./auth/auth-code.js";
import "./auth/managed-identity.js";
import { CLOUDS } from "./config/clouds.js";
import type { Config } from "./config/schema.js";
import { StateStore } from "./cursor/store.js";
import { CollectorError } from "./errors.js";
import type { Logger } from "./log/logger.js";
import { RequestBudget } from "./net/budget.js";
import { createDispatcher } from "./net/dispatcher.js";
import type { RetryPolicy } from "./net/retry.js";
import { Collector } from "./pipeline/collector.js";
import { noopMetrics, type PipelineMetrics } from "./pipeline/metrics.js";
import { RecordMapper } from "./schema/mapper.js";
import { StdoutSink } from "./sinks/stdout/stdout-sink.js";
import { ForwardSink } from "./sinks/forward/forward-sink.js";
import { forwardConfig } from "./sinks/forward/options.js";
import { HttpSink, httpSinkConfig } from "./sinks/http/http-sink.js";
import { GraphSource } from "./sources/graph/graph-source.js";
import { RwsSource } from "./sources/rws/rws-source.js";
import type { ApiHooks } from "./sources/api-client.js";
import type { Sink, Source } from "./types.js";

export interface RuntimeOptions {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Extra trusted CA (PEM), e.g. the embedded simulator's. */
  caPem?: string;
  clock?: () => number;
  metrics?: PipelineMetrics;
  stdout?: NodeJS.WritableStream;
  /** Overrides for tests: a ready dispatcher / token provider. */
  dispatcher?: Dispatcher;
  tokens?: TokenProvider;
  /** Decorate the configured sink (the demo records what went out; tests count). */
  wrapSink?: (sink: Sink) => Sink;
  /** Extra hooks before every API request (request budget). */
  beforeRequest?: ApiHooks["beforeRequest"];
}

export interface SourceContext {
  config: Config;
  dispatcher: Dispatcher;
  tokens: TokenProvider;
  logger: Logger;
  retry: RetryPolicy;
  hooks: ApiHooks;
  endpoints: ResolvedEndpoints;
}

export interface SinkContext {
  config: Config;
  logger: Logger;
  stdout?: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  metrics: PipelineMetrics;
}

export type SourceFactory = (ctx: SourceContext) => Source;
export type SinkFactory = (ctx: SinkContext) => Sink;

/** What every API source needs: the shared HTTP stack, tokens, timeout, retry policy and hooks. */
function apiOptions(ctx: SourceContext) {
  return {
    dispatcher: ctx.dispatcher,
    tokens: ctx.tokens,
    timeoutMs: ctx.config.http.timeout * 1000,
    retry: ctx.retry,
    logger: ctx.logger,
    hooks: ctx.hooks,
  };
}

export const sourceFactories: Partial<Record<Config["source"], SourceFactory>> = {
  graph: (ctx) =>
    new GraphSource({
      ...apiOptions(ctx),
      graphBase: ctx.endpoints.graph,
      resource: ctx.endpoints.graphResource,
      version: ctx.config.endpoints.graph_version,
      pageSize: ctx.config.page_size,
      organization: ctx.config.organization,
    }),
  // No page size: the report pages itself (2000 rows), and OData $top would cap the whole result.
  rws: (ctx) =>
    new RwsSource({
      ...apiOptions(ctx),
      rwsBase: ctx.endpoints.rws,
      resource: ctx.endpoints.rwsResource,
      format: ctx.config.format,
    }),
};

export const sinkFactories: Partial<Record<Config["sink"]["type"], SinkFactory>> = {
  stdout: (ctx) => new StdoutSink((ctx.stdout ?? process.stdout) as never),
  forward: (ctx) => new ForwardSink(forwardConfig(ctx.config.sink.forward), ctx.logger),
  http: (ctx) => new HttpSink({ config: httpSinkConfig(ctx.config), retry: retryPolicy(ctx.config), logger: ctx.logger, env: ctx.env, metrics: ctx.metrics }),
};

export interface ResolvedEndpoints {
  login: string;
  graph: string;
  graphResource: string;
  rws: string;
  rwsResource: string;
}

export function resolveEndpoints(config: Config): ResolvedEndpoints {
  const cloud = CLOUDS[config.cloud];
  if (config.source === "graph" && !cloud.graphMessageTrace && !config.endpoints.graph) {
    throw new CollectorError("config", `source graph is not offered in cloud ${config.cloud}: Graph message trace exists only in the global service`, {
      hint: "use source: rws for this cloud (or set endpoints.graph if Microsoft has since added it)",
    });
  }
  return {
    login: config.endpoints.login ?? cloud.login,
    graph: config.endpoints.graph ?? cloud.graph,
    graphResource: cloud.graphResource,
    rws: config.endpoints.rws ?? cloud.rws,
    rwsResource: cloud.rwsResource,
  };
}

export function retryPolicy(config: Config): RetryPolicy {
  return {
    count: config.retry.count,
    initialMs: config.retry.backoff.initial * 1000,
    maxMs: config.retry.backoff.max * 1000,
    jitter: config.retry.backoff.jitter,
  };
}

export interface Runtime {
  config: Config;
  dispatcher: Dispatcher;
  tokens: TokenProvider;
  endpoints: ResolvedEndpoints;
  source: Source;
  sink: Sink;
  store: StateStore;
  collector: Collector;
  close(): Promise<void>;
}

export function createDispatcherFor(config: Config, opts: Pick<RuntimeOptions, "caPem" | "env" | "logger">): Dispatcher {
  return createDispatcher({ caFile: config.http.ca_file, caPem: opts.caPem, insecure: config.http.insecure, proxy: config.http.proxy, env: opts.env, logger: opts.logger });
}

/** Source side only (auth-test, get-events need no sink or state). */
export function createSourceSide(config: Config, opts: RuntimeOptions): { dispatcher: Dispatcher; tokens: TokenProvider; endpoints: ResolvedEndpoints; source: Source } {
  const endpoints = resolveEndpoints(config);
  const dispatcher = opts.dispatcher ?? createDispatcherFor(config, opts);
  const tokens = opts.tokens ?? createTokenProvider(config, { dispatcher, logger: opts.logger, loginBase: endpoints.login, env: opts.env });
  const metrics = opts.metrics ?? noopMetrics;
  const factory = sourceFactories[config.source];
  if (!factory) throw new CollectorError("config", `source ${config.source} is not available in this build`, { hint: "use source: graph" });
  // One budget per runtime, shared by list and detail calls: pace ourselves below the service's throttle.
  const budget = opts.beforeRequest ? undefined : budgetHooks(config, opts.logger);
  const source = factory({
    config,
    dispatcher,
    tokens,
    logger: opts.logger,
    retry: retryPolicy(config),
    endpoints,
    hooks: {
      beforeRequest: opts.beforeRequest ?? budget!.beforeRequest,
      onResponse: (route, status) => {
        budget?.onResponse();
        metrics.apiResponse(route, status);
      },
      onRetry: (route) => metrics.retry(route),
    },
  });
  return { dispatcher, tokens, endpoints, source };
}

/** The client-side request budget from config.request_budget, as ApiHooks (acquire before, restamp after). */
export function budgetHooks(config: Config, logger: Logger): { beforeRequest: NonNullable<ApiHooks["beforeRequest"]>; onResponse: () => void; budget: RequestBudget } {
  const budget = new RequestBudget({ limit: config.request_budget.limit, windowMs: config.request_budget.window_seconds * 1000 });
  return {
    budget,
    beforeRequest: async (signal) => {
      const wait = budget.delay();
      if (wait >= 10_000) logger.info("request budget used up; pacing requests", { wait_ms: Math.round(wait), limit: budget.limit, window_seconds: budget.windowMs / 1000 });
      await budget.acquire(signal);
    },
    onResponse: () => budget.complete(),
  };
}

export function createSink(config: Config, opts: RuntimeOptions): Sink {
  const factory = sinkFactories[config.sink.type];
  if (!factory) throw new CollectorError("config", `sink ${config.sink.type} is not available in this build`, { hint: "use sink.type: stdout" });
  return factory({ config, logger: opts.logger, stdout: opts.stdout, env: opts.env ?? process.env, metrics: opts.metrics ?? noopMetrics });
}

/** The schema mapper a config asks for (`keyStyle` overrides the configured key style). */
export function recordMapperFor(config: Config, keyStyle: Config["key_style"] = config.key_style): RecordMapper {
  return new RecordMapper({
    tenantId: config.tenant_id,
    source: config.source,
    keyStyle,
    localDomains: config.local_domains,
    organization: config.organization,
  });
}

export function createRuntime(config: Config, opts: RuntimeOptions): Runtime {
  const side = createSourceSide(config, opts);
  const configured = createSink(config, opts);
  const sink = opts.wrapSink ? opts.wrapSink(configured) : configured;
  const store = new StateStore(config.state_dir, config.tenant_id, config.source);
  const mapper = recordMapperFor(config);
  const collector = new Collector({ config, source: side.source, sink, store, mapper, logger: opts.logger, clock: opts.clock, metrics: opts.metrics });
  return {
    config,
    ...side,
    sink,
    store,
    collector,
    async close() {
      await sink.close().catch(() => {});
      await side.source.close?.().catch(() => {});
      if (!opts.dispatcher) await side.dispatcher.close().catch(() => {});
      store.close();
    },
  };
}
