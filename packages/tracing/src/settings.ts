import type { TracingEnv } from './env.js';

export type SamplerName = TracingEnv['OTEL_TRACES_SAMPLER'];

/** Where and how spans are exported, resolved from the OTEL_* variables. */
export interface TracingSettings {
  serviceName: string;
  /** The full OTLP/HTTP traces URL. */
  tracesUrl: string;
  protocol: 'http/protobuf' | 'http/json';
  /** Sent with every export; may hold a vendor's key, so never logged. */
  headers: Record<string, string>;
  timeoutMs: number;
  resourceAttributes: Record<string, string>;
  sampler: SamplerName;
  samplerRatio: number;
}

export type TracingDecision =
  | { enabled: true; settings: TracingSettings }
  | { enabled: false; reason: string };

/**
 * `key=value,key2=value2` with URL-encoded values, as OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS
 * are written. Entries without a key or `=` are skipped, as the specification says.
 */
export function parseKeyValueList(list: string | undefined): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const entry of (list ?? '').split(',')) {
    const separator = entry.indexOf('=');
    if (separator <= 0) continue;
    const key = entry.slice(0, separator).trim();
    const rawValue = entry.slice(separator + 1).trim();
    if (!key) continue;
    try {
      entries[key] = decodeURIComponent(rawValue);
    } catch {
      entries[key] = rawValue;
    }
  }
  return entries;
}

/** `<endpoint>/v1/traces`, as the specification builds the signal URL from OTEL_EXPORTER_OTLP_ENDPOINT. */
function signalUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

/** On or off, and with what: off when disabled, when the exporter is `none`, or when no endpoint is set. */
export function tracingSettings(env: TracingEnv, defaultServiceName: string): TracingDecision {
  if (env.OTEL_SDK_DISABLED === 'true') return { enabled: false, reason: 'OTEL_SDK_DISABLED is true' };
  if (env.OTEL_TRACES_EXPORTER === 'none') return { enabled: false, reason: 'OTEL_TRACES_EXPORTER is none' };
  const tracesUrl =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined ? undefined : signalUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT));
  if (tracesUrl === undefined) return { enabled: false, reason: 'no OTLP endpoint is set' };
  const resourceAttributes = parseKeyValueList(env.OTEL_RESOURCE_ATTRIBUTES);
  return {
    enabled: true,
    settings: {
      // As the specification orders them: OTEL_SERVICE_NAME, then service.name in OTEL_RESOURCE_ATTRIBUTES.
      serviceName: env.OTEL_SERVICE_NAME ?? resourceAttributes['service.name'] ?? defaultServiceName,
      tracesUrl,
      protocol: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
      headers: {
        ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_HEADERS),
        ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
      },
      timeoutMs: env.OTEL_EXPORTER_OTLP_TIMEOUT,
      resourceAttributes,
      sampler: env.OTEL_TRACES_SAMPLER,
      samplerRatio: env.OTEL_TRACES_SAMPLER_ARG ?? 1,
    },
  };
}
