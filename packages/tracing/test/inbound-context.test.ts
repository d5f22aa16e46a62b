import { OtlpReceiver } from '@autoflow/fakes';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTracing, tracingEnv } from '../src/index.js';

const receiver = new OtlpReceiver();
const callerTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const callerTraceparent = `00-${callerTraceId}-00f067aa0ba902b7-01`;

beforeAll(() => receiver.start());
afterAll(() => receiver.stop());

describe("startTracing with inboundTraceContext 'ignore'", () => {
  it("starts a new trace for a request that brings a caller's traceparent", async () => {
    const env = z.object(tracingEnv).parse({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    const tracing = startTracing({ serviceName: 'ingest', env, inboundTraceContext: 'ignore' });
    const app = Fastify();
    await app.register(tracing.fastifyPlugin);
    app.post('/hooks/:hookId', async () => ({ accepted: true }));
    const response = await app.inject({
      method: 'POST',
      url: '/hooks/abc',
      headers: { traceparent: callerTraceparent },
      payload: {},
    });
    expect(response.statusCode).toBe(200);
    await app.close();
    await tracing.shutdown();

    const server = receiver.spans.find((span) => span.name === 'POST /hooks/:hookId');
    expect(server).toBeDefined();
    expect(server?.traceId).not.toBe(callerTraceId);
    expect(server?.parentSpanId).toBeFalsy();
    expect(receiver.trace(callerTraceId)).toHaveLength(0);
  });
});
