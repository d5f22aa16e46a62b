import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTracing, tracingEnv } from '../src/index.js';

describe('startTracing without an endpoint', () => {
  it('starts no SDK: spans stay the API no-op and the Temporal and Fastify parts are inert', async () => {
    const tracing = startTracing({ serviceName: 'worker', env: z.object(tracingEnv).parse({}) });
    expect(tracing.enabled).toBe(false);
    expect(tracing.offReason).toBe('no OTLP endpoint is set');
    expect(trace.getTracer('test').startSpan('probe').isRecording()).toBe(false);
    expect(tracing.temporalClientInterceptors).toEqual({});
    expect(tracing.activityInterceptors).toEqual([]);
    await tracing.shutdown();
  });
});
