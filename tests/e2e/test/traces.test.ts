import { OtlpReceiver, type ReceivedSpan, Sink } from '@autoflow/fakes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { System, waitFor } from '../src/system.js';

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;

/** The trace id and parent span id of a W3C `traceparent` (00-<trace>-<span>-<flags>). */
function parseTraceparent(value: string | undefined): { traceId: string; parentSpanId: string } | undefined {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(value ?? '');
  return match?.[1] && match[2] ? { traceId: match[1], parentSpanId: match[2] } : undefined;
}

async function webhookToSinkWorkflow(system: System, token: string, sink: Sink, path: string) {
  return system.createActiveWorkflow(token, {
    name: `webhook to ${path}`,
    trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: { method: 'POST', url: `${sink.baseUrl}${path}`, body: { said: '{{trigger.body.word}}' } },
    },
  });
}

describe('traces on (OTLP endpoint set)', () => {
  const sink = new Sink();
  const receiver = new OtlpReceiver();
  let system: System;
  let token: string;

  beforeAll(async () => {
    await Promise.all([sink.start(), receiver.start()]);
    system = new System({
      allowedHosts: [sink.hostPort],
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
    });
    await system.start();
    ({ token } = await system.signUp('traced@example.com'));
  });

  afterAll(async () => {
    await system?.stop();
    await Promise.all([sink.stop(), receiver.stop()]);
  });

  it('follows one webhook in one trace: trigger-ingest, the workflow, the activity and the call to the sink', async () => {
    // Payloads are encrypted (the default), and the trace header rides along outside the codec.
    expect(system.launched.env.TEMPORAL_PAYLOAD_ENCRYPTION ?? 'required').toBe('required');
    const workflow = await webhookToSinkWorkflow(system, token, sink, '/traced');
    const secretWord = `word-${Date.now()}`;
    const answer = await fetch(`${workflow.hookUrl}?signature=sig-${secretWord}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer auth-${secretWord}` },
      body: JSON.stringify({ word: `body-${secretWord}` }),
    });
    expect(answer.status).toBe(202);

    const delivered = await waitFor('the action to reach the sink', async () => sink.forPath('/traced')[0]);
    const context = parseTraceparent(delivered.traceparent);
    expect(context, `traceparent: ${delivered.traceparent}`).toBeDefined();
    const traceId = context?.traceId ?? '';

    const has = (spans: ReceivedSpan[], service: string, predicate: (span: ReceivedSpan) => boolean) =>
      spans.some((span) => span.service === service && predicate(span));
    const spans = await waitFor(
      'the trace of the webhook, from every process',
      async () => {
        const trace = receiver.trace(traceId);
        const complete =
          has(trace, 'trigger-ingest', (span) => span.kind === SPAN_KIND_SERVER) &&
          has(trace, 'trigger-ingest', (span) => span.name === 'StartWorkflow:automationWorkflow') &&
          has(trace, 'worker', (span) => span.name === 'RunWorkflow:automationWorkflow') &&
          has(trace, 'worker', (span) => span.name.startsWith('RunActivity:')) &&
          has(trace, 'worker', (span) => span.kind === SPAN_KIND_CLIENT);
        return complete ? trace : undefined;
      },
      60_000,
      250,
    );
    console.log(
      'trace spans:\n' +
        spans
          .map(
            (span) =>
              `  ${span.service.padEnd(15)} ${span.name} (kind ${span.kind}) ${span.spanId}<-${span.parentSpanId || 'root'}`,
          )
          .join('\n'),
    );

    // One trace: a single root, the inbound request, and every other span's parent is in the trace.
    const ids = new Set(spans.map((span) => span.spanId));
    const roots = spans.filter((span) => span.parentSpanId === '');
    expect(roots).toHaveLength(1);
    expect(roots[0]?.service).toBe('trigger-ingest');
    expect(roots[0]?.kind).toBe(SPAN_KIND_SERVER);
    expect(roots[0]?.name).toBe('POST /hooks/:hookId');
    for (const span of spans.filter((s) => s.parentSpanId !== ''))
      expect(ids.has(span.parentSpanId), `parent of ${span.service} ${span.name}`).toBe(true);

    // The sink's traceparent names the worker's client span of that call.
    const call = spans.find((span) => span.spanId === context?.parentSpanId);
    expect(call?.service).toBe('worker');
    expect(call?.kind).toBe(SPAN_KIND_CLIENT);
    expect(call?.attributes['server.port']).toBe(sink.port);
    // …whose chain of parents goes through the activity, the workflow and trigger-ingest's StartWorkflow.
    const chain: string[] = [];
    for (let span = call; span; span = spans.find((s) => s.spanId === span?.parentSpanId))
      chain.push(`${span.service}:${span.name}`);
    const position = (prefix: string) => chain.findIndex((link) => link.startsWith(prefix));
    expect(position('worker:RunActivity:')).toBeGreaterThan(0);
    expect(position('worker:RunWorkflow:automationWorkflow')).toBeGreaterThan(
      position('worker:RunActivity:'),
    );
    expect(position('trigger-ingest:StartWorkflow:automationWorkflow')).toBeGreaterThan(
      position('worker:RunWorkflow:automationWorkflow'),
    );
    expect(chain.at(-1)).toBe('trigger-ingest:POST /hooks/:hookId');

    // Nothing secret left the processes: no query values, Authorization header or request body.
    const exported = JSON.stringify(receiver.spans);
    expect(exported).not.toContain(`sig-${secretWord}`);
    expect(exported).not.toContain(`auth-${secretWord}`);
    expect(exported).not.toContain(`body-${secretWord}`);
    expect(exported).not.toContain(token);
    expect(String(roots[0]?.attributes['url.path'])).toContain('signature=REDACTED');
    // Health probes make no spans.
    expect(receiver.spans.some((span) => span.name.includes('/readyz'))).toBe(false);

    // The run's Temporal history carries the trace context in its header, and only that.
    const run = spans.find((span) => span.name === 'RunWorkflow:automationWorkflow');
    expect(String(run?.attributes.temporalWorkflowId)).toMatch(new RegExp(`^run:${workflow.id}:webhook:`));
    const history = await system.rawHistory(String(run?.attributes.temporalWorkflowId));
    expect(history).toContain('_tracer-data');
    expect(history).not.toContain(`body-${secretWord}`);
  });
});

describe('traces off (OTEL_SDK_DISABLED=true, endpoint set)', () => {
  const sink = new Sink();
  const receiver = new OtlpReceiver();
  let system: System | undefined;

  beforeAll(async () => {
    await Promise.all([sink.start(), receiver.start()]);
  });

  afterAll(async () => {
    await system?.stop();
    await Promise.all([sink.stop(), receiver.stop()]);
  });

  it('exports nothing and sends no traceparent', async () => {
    const untraced = new System({
      allowedHosts: [sink.hostPort],
      env: {
        OTEL_SDK_DISABLED: 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      },
    });
    system = untraced;
    await untraced.start();
    const { token } = await untraced.signUp('untraced@example.com');
    const workflow = await webhookToSinkWorkflow(untraced, token, sink, '/untraced');
    const answer = await fetch(workflow.hookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ word: 'quiet' }),
    });
    expect(answer.status).toBe(202);
    const delivered = await waitFor('the action to reach the sink', async () => sink.forPath('/untraced')[0]);
    expect(delivered.traceparent).toBeUndefined();
    // Graceful stop flushes whatever an SDK would have buffered; with none started, nothing arrives.
    await untraced.stop();
    system = undefined;
    expect(receiver.exports).toBe(0);
  });
});
