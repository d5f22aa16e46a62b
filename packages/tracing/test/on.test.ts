import { createServer } from 'node:http';
import { OtlpReceiver } from '@autoflow/fakes';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTracing, tracingEnv } from '../src/index.js';

const receiver = new OtlpReceiver();
const traceparents: (string | undefined)[] = [];
const target = createServer((request, response) => {
  traceparents.push(request.headers.traceparent?.toString());
  response.end('ok');
});

beforeAll(async () => {
  await receiver.start();
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await receiver.stop();
  await new Promise((resolve) => target.close(resolve));
});

describe('startTracing with an endpoint', () => {
  it('exports spans over OTLP/JSON at shutdown, and an outbound fetch is a client span carrying traceparent', async () => {
    const env = z.object(tracingEnv).parse({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
    });
    const tracing = startTracing({ serviceName: 'unit', env });
    expect(tracing.enabled).toBe(true);
    const address = target.address();
    const port = typeof address === 'object' && address ? address.port : 0;

    // Outside any span: no span, no header (requireParentforSpans).
    await (await fetch(`http://127.0.0.1:${port}/unparented`)).text();
    const tracer = trace.getTracer('test');
    const traceId = await tracer.startActiveSpan('parent', async (span) => {
      await (await fetch(`http://127.0.0.1:${port}/call?token=t0ps3cret`)).text();
      span.end();
      return span.spanContext().traceId;
    });
    expect(traceparents[0]).toBeUndefined();
    expect(traceparents[1]).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

    // Nothing is exported before the batch is due; shutdown flushes it.
    await tracing.shutdown();
    const spans = receiver.trace(traceId);
    expect(spans.map((span) => span.name).sort()).toEqual(['GET', 'parent']);
    const client = spans.find((span) => span.name === 'GET');
    expect(client?.service).toBe('unit');
    expect(client?.kind).toBe(3);
    expect(client?.parentSpanId).toBe(spans.find((span) => span.name === 'parent')?.spanId);
    expect(traceparents[1]).toContain(client?.spanId);
    expect(client?.attributes['url.full']).toBe(`http://127.0.0.1:${port}/call?token=REDACTED`);
    expect(receiver.spans).toHaveLength(2);
  });
});
