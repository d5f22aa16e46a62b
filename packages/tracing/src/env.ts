import { unsetWhenEmpty } from '@autoflow/http-kit';
import { z } from 'zod';

const protocol = unsetWhenEmpty(z.enum(['http/protobuf', 'http/json']).optional());

/**
 * The standard OpenTelemetry variables an app honours for its traces; every app spreads this into its
 * env.ts. Tracing is off (no SDK, no exporter, no instrumentation) unless an endpoint is set.
 */
export const tracingEnv = {
  /** `true` turns tracing off whatever else is set. */
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).default('false'),
  /** OTLP/HTTP base URL of the collector (http://collector:4318); traces go to `<endpoint>/v1/traces`. Unset: tracing off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: unsetWhenEmpty(z.string().url().optional()),
  /** Full URL for traces; wins over OTEL_EXPORTER_OTLP_ENDPOINT. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: unsetWhenEmpty(z.string().url().optional()),
  /** `http/protobuf` (default) or `http/json`. gRPC is not offered: point it at the collector's HTTP port. */
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
  /** Protocol for traces only; wins over OTEL_EXPORTER_OTLP_PROTOCOL. */
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol,
  /** Headers on every export, `key=value,key2=value2` (URL-encoded values): a vendor's API key. Secret. */
  OTEL_EXPORTER_OTLP_HEADERS: unsetWhenEmpty(z.string().optional()),
  /** Headers on trace exports only; win over OTEL_EXPORTER_OTLP_HEADERS for the same key. Secret. */
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: unsetWhenEmpty(z.string().optional()),
  /** How long one export may take, in milliseconds. */
  OTEL_EXPORTER_OTLP_TIMEOUT: z.coerce.number().int().positive().default(10_000),
  /** `service.name` of the spans; the app's name by default (api-gateway, trigger-ingest, worker…). */
  OTEL_SERVICE_NAME: unsetWhenEmpty(z.string().min(1).optional()),
  /** More resource attributes, `key=value,…` (deployment.environment.name=prod,service.namespace=autoflow). */
  OTEL_RESOURCE_ATTRIBUTES: unsetWhenEmpty(z.string().optional()),
  /** `otlp` (default) or `none` (tracing off). */
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none']).default('otlp'),
  /**
   * always_on, always_off, traceidratio, parentbased_always_on (default), parentbased_always_off or
   * parentbased_traceidratio. Parent-based samplers follow the caller's `traceparent` sampled flag.
   */
  OTEL_TRACES_SAMPLER: z
    .enum([
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ])
    .default('parentbased_always_on'),
  /** The ratio of the *traceidratio samplers, 0 to 1 (default 1). */
  OTEL_TRACES_SAMPLER_ARG: unsetWhenEmpty(z.coerce.number().min(0).max(1).optional()),
};

const tracingEnvSchema = z.object(tracingEnv);
export type TracingEnv = z.infer<typeof tracingEnvSchema>;
