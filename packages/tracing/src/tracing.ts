import { FastifyOtelInstrumentation } from '@fastify/otel';
import {
  type Context,
  context,
  propagation,
  type TextMapPropagator,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { ClientInterceptors } from '@temporalio/client';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  type OpenTelemetrySinks,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { FastifyPluginCallback } from 'fastify';
import fp from 'fastify-plugin';
import type { TracingEnv } from './env.js';
import { RedactingSpanProcessor } from './redaction.js';
import { type SamplerName, type TracingSettings, tracingSettings } from './settings.js';
import { workflowSpanSinks } from './temporal.js';

/** What an app wires in; every part is inert when tracing is off. */
export interface Tracing {
  readonly enabled: boolean;
  /** Why tracing is off (for the start-up log line); undefined when on. */
  readonly offReason: string | undefined;
  /** A server span per request (its parent from the caller's `traceparent`); does nothing when off. */
  readonly fastifyPlugin: FastifyPluginCallback;
  /** For every Temporal Client: a StartWorkflow span, and its context in the workflow's `_tracer-data` header. */
  readonly temporalClientInterceptors: ClientInterceptors;
  /** For every Worker: a RunActivity span per activity (local ones too), child of the workflow's span. */
  readonly activityInterceptors: ActivityInterceptorsFactory[];
  /** For the Worker that runs workflows: the sink the bundle's workflow interceptors hand their spans to. */
  readonly workflowSinks: InjectedSinks<OpenTelemetrySinks>;
  /** Exports what is buffered and stops; call it last on graceful shutdown. */
  shutdown(): Promise<void>;
}

/**
 * Injects W3C trace context into outbound calls and Temporal headers, but never takes one from an inbound
 * request: for an app whose callers are anyone on the internet (webhook senders), who could otherwise pick
 * trace ids and force sampling on (`-01`) for every event they send.
 */
class InjectOnlyPropagator implements TextMapPropagator {
  private readonly inner = new W3CTraceContextPropagator();
  inject(current: Context, carrier: unknown, setter: TextMapSetter): void {
    this.inner.inject(current, carrier, setter);
  }
  extract(current: Context): Context {
    return current;
  }
  fields(): string[] {
    return this.inner.fields();
  }
}

export interface StartTracingOptions {
  serviceName: string;
  env: TracingEnv;
  /**
   * `ignore`: inbound requests always start a new trace (their `traceparent` is not believed). Set it on
   * apps that face arbitrary senders; `trust` (default) continues a caller's trace.
   */
  inboundTraceContext?: 'trust' | 'ignore';
}

/** Health probes and scrapes make no traces. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function sampler(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

function exporter(settings: TracingSettings) {
  const config = { url: settings.tracesUrl, headers: settings.headers, timeoutMillis: settings.timeoutMs };
  return settings.protocol === 'http/json'
    ? new JsonTraceExporter(config)
    : new ProtobufTraceExporter(config);
}

const inertPlugin = fp((_app, _options, done) => done(), { name: 'autoflow-tracing-off' });

function tracingOff(reason: string): Tracing {
  return {
    enabled: false,
    offReason: reason,
    fastifyPlugin: inertPlugin,
    temporalClientInterceptors: {},
    activityInterceptors: [],
    workflowSinks: workflowSpanSinks(undefined),
    shutdown: async () => {},
  };
}

/**
 * Starts the OpenTelemetry SDK for this process when the OTEL_* settings ask for it (an OTLP endpoint is set
 * and OTEL_SDK_DISABLED is not true); otherwise starts nothing, and every span the code asks for is the
 * API's no-op. Call it before anything makes a span or an outbound request.
 *
 * ESM apps cannot have modules patched without loader hooks, so nothing here patches modules: inbound
 * requests are traced by @fastify/otel registered as a plugin, Temporal by explicit interceptors, and outbound
 * HTTP (fetch, undici with the egress dispatcher) by the undici instrumentation, which listens on undici's
 * diagnostics channels. Postgres queries are not traced.
 */
export function startTracing(options: StartTracingOptions): Tracing {
  const decision = tracingSettings(options.env, options.serviceName);
  if (!decision.enabled) return tracingOff(decision.reason);
  const { settings } = decision;

  const resource = defaultResource().merge(
    resourceFromAttributes({ ...settings.resourceAttributes, 'service.name': settings.serviceName }),
  );
  const processor = new RedactingSpanProcessor(new BatchSpanProcessor({ exporter: exporter(settings) }));
  const provider = new TracerProvider({
    resource,
    sampler: sampler(settings.sampler, settings.samplerRatio),
    spanProcessors: [processor],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  // Trace context only: W3C baggage from a caller would otherwise be forwarded to every provider.
  propagation.setGlobalPropagator(
    options.inboundTraceContext === 'ignore' ? new InjectOnlyPropagator() : new W3CTraceContextPropagator(),
  );
  trace.setGlobalTracerProvider(provider);

  // Outbound calls outside any span (JWKS refreshes at start-up…) make no root spans of their own.
  const undici = new UndiciInstrumentation({ requireParentforSpans: true });
  const fastify = new FastifyOtelInstrumentation({
    ignorePaths: ({ url }) => UNTRACED_PATHS.has(url.split('?', 1)[0] ?? url),
    // `POST /hooks/:hookId` rather than @fastify/otel's bare `request`.
    requestHook: (span, request) =>
      span.updateName(`${request.method} ${request.routeOptions.url ?? 'unrouted'}`),
  });
  const client = new OpenTelemetryWorkflowClientInterceptor();

  return {
    enabled: true,
    offReason: undefined,
    fastifyPlugin: fastify.plugin(),
    temporalClientInterceptors: { workflow: [client] },
    activityInterceptors: [
      (activityContext) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(activityContext),
        outbound: new OpenTelemetryActivityOutboundInterceptor(activityContext),
      }),
    ],
    workflowSinks: workflowSpanSinks({ processor, resource }),
    async shutdown() {
      undici.disable();
      fastify.disable();
      await provider.shutdown();
    },
  };
}
