import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { emptyResource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { SerializableSpan } from '@temporalio/interceptors-opentelemetry';
import { describe, expect, it } from 'vitest';
import { redactQuery, redactSpan, redactUrl, workflowSpanToReadable } from '../src/index.js';

const spanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
};

function span(overrides: Partial<ReadableSpan>): ReadableSpan {
  return {
    name: 'POST',
    kind: SpanKind.CLIENT,
    spanContext: () => spanContext,
    parentSpanContext: undefined,
    startTime: [1, 0],
    endTime: [2, 0],
    status: { code: SpanStatusCode.UNSET },
    attributes: {},
    links: [],
    events: [],
    duration: [1, 0],
    ended: true,
    resource: emptyResource(),
    instrumentationScope: { name: 'test' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    ...overrides,
  };
}

describe('redaction', () => {
  it('keeps query names and drops their values, credentials and fragments', () => {
    expect(redactQuery('/oauth/callback?code=abc&state=xyz&flag#frag')).toBe(
      '/oauth/callback?code=REDACTED&state=REDACTED&flag',
    );
    expect(redactQuery('/hooks/abc')).toBe('/hooks/abc');
    expect(redactUrl('https://user:pw@s3.example.com/o?X-Amz-Signature=f00&X-Amz-Expires=60')).toBe(
      'https://s3.example.com/o?X-Amz-Signature=REDACTED&X-Amz-Expires=REDACTED',
    );
    expect(redactUrl('not a url?token=1')).toBe('not a url?token=REDACTED');
  });

  it('redacts URL attributes and keeps only the type of an error', () => {
    const redacted = redactSpan(
      span({
        attributes: {
          'url.full': 'https://api.example.com/v1?api_key=s3cret',
          'url.query': '?api_key=s3cret',
          'url.path': '/hooks/h1?sig=s3cret',
          'server.port': 443,
        },
        status: { code: SpanStatusCode.ERROR, message: 'provider said: token s3cret is invalid' },
        events: [
          {
            name: 'exception',
            time: [1, 5],
            attributes: {
              'exception.type': 'ProviderError',
              'exception.message': 'token s3cret is invalid',
              'exception.stacktrace': 'ProviderError: token s3cret is invalid\n at x',
            },
          },
        ],
      }),
    );
    expect(JSON.stringify(redacted)).not.toContain('s3cret');
    expect(redacted.attributes).toEqual({
      'url.full': 'https://api.example.com/v1?api_key=REDACTED',
      'url.query': '?api_key=REDACTED',
      'url.path': '/hooks/h1?sig=REDACTED',
      'server.port': 443,
    });
    expect(redacted.status).toEqual({ code: SpanStatusCode.ERROR });
    expect(redacted.events[0]?.attributes).toEqual({ 'exception.type': 'ProviderError' });
    expect(redacted.spanContext()).toEqual(spanContext);
  });
});

describe('workflowSpanToReadable', () => {
  // More of the WorkflowInfo than the span needs: the memo must not follow.
  const workflowInfo = {
    workflowId: 'run:7:webhook:e1',
    runId: 'r1',
    workflowType: 'automationWorkflow',
    taskQueue: 'automation-workflows',
    memo: { secret: 'in the memo' },
  };

  it('turns a sandbox span (OpenTelemetry JS 1.x shape) into a 3.x span with its parent and scope', () => {
    const serialized: SerializableSpan = {
      name: 'RunWorkflow:automationWorkflow',
      kind: SpanKind.INTERNAL,
      spanContext: { ...spanContext, traceState: 'vendor=1' },
      parentSpanId: '00f067aa0ba902b7',
      startTime: [1, 0],
      endTime: [2, 0],
      status: { code: SpanStatusCode.OK },
      attributes: {},
      links: [],
      events: [],
      duration: [1, 0],
      ended: true,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
      instrumentationLibrary: { name: '@temporalio/interceptor-workflow' },
    };
    const readable = workflowSpanToReadable(serialized, workflowInfo, emptyResource());
    expect(readable.parentSpanContext).toEqual({
      traceId: spanContext.traceId,
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
    });
    expect(readable.instrumentationScope.name).toBe('@temporalio/interceptor-workflow');
    expect(readable.spanContext().traceState?.get('vendor')).toBe('1');
    expect(readable.attributes).toEqual({
      temporalWorkflowId: 'run:7:webhook:e1',
      run_id: 'r1',
      temporalWorkflowType: 'automationWorkflow',
      temporalTaskQueue: 'automation-workflows',
    });
    expect(JSON.stringify(readable)).not.toContain('in the memo');
  });
});
