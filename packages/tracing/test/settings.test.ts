import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseKeyValueList, tracingEnv, tracingSettings } from '../src/index.js';

const parse = (variables: Record<string, string>) => z.object(tracingEnv).parse(variables);

describe('tracingSettings', () => {
  it('is off without an endpoint, with the SDK disabled, or with the exporter `none`', () => {
    expect(tracingSettings(parse({}), 'worker')).toEqual({
      enabled: false,
      reason: 'no OTLP endpoint is set',
    });
    expect(tracingSettings(parse({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }), 'worker').enabled).toBe(false);
    expect(
      tracingSettings(
        parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }),
        'worker',
      ),
    ).toEqual({ enabled: false, reason: 'OTEL_SDK_DISABLED is true' });
    expect(
      tracingSettings(
        parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }),
        'worker',
      ).enabled,
    ).toBe(false);
  });

  it('is on with an endpoint, with the specification defaults', () => {
    const decision = tracingSettings(
      parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }),
      'worker',
    );
    expect(decision).toEqual({
      enabled: true,
      settings: {
        serviceName: 'worker',
        tracesUrl: 'http://collector:4318/v1/traces',
        protocol: 'http/protobuf',
        headers: {},
        timeoutMs: 10_000,
        resourceAttributes: {},
        sampler: 'parentbased_always_on',
        samplerRatio: 1,
      },
    });
  });

  it('lets the traces-specific variables win over the general ones', () => {
    const decision = tracingSettings(
      parse({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp/traces',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=general,x-tenant=a',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-api-key=for%20traces',
        OTEL_SERVICE_NAME: 'worker-gmail',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,service.name=ignored',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      }),
      'worker',
    );
    expect(decision.enabled && decision.settings).toEqual({
      serviceName: 'worker-gmail',
      tracesUrl: 'https://traces.example.com/otlp/traces',
      protocol: 'http/json',
      headers: { 'x-api-key': 'for traces', 'x-tenant': 'a' },
      timeoutMs: 10_000,
      resourceAttributes: { 'deployment.environment.name': 'prod', 'service.name': 'ignored' },
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
    });
  });

  it('takes service.name from OTEL_RESOURCE_ATTRIBUTES when OTEL_SERVICE_NAME is unset', () => {
    const decision = tracingSettings(
      parse({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_RESOURCE_ATTRIBUTES: 'service.name=ingest-eu',
      }),
      'trigger-ingest',
    );
    expect(decision.enabled && decision.settings.serviceName).toBe('ingest-eu');
  });

  it('refuses protocols and samplers it does not implement, so a typo stops the start', () => {
    expect(() => parse({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow();
    expect(() => parse({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow();
    expect(() => parse({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow();
  });
});

describe('parseKeyValueList', () => {
  it('decodes values and skips malformed entries', () => {
    expect(parseKeyValueList(' a = 1 ,b=x%3Dy,=nokey,novalue,c=%E0%A4%A')).toEqual({
      a: '1',
      b: 'x=y',
      c: '%E0%A4%A',
    });
    expect(parseKeyValueList(undefined)).toEqual({});
  });
});
