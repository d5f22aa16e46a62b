import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  AutoflowMetrics,
  baseMetricName,
  definedMetricNames,
  metricsPlugin,
  parseExposition,
  sumOf,
  UNMATCHED_ROUTE,
} from '../src/index.js';

async function scrape(metrics: AutoflowMetrics) {
  return parseExposition(await metrics.exposition());
}

describe('the /metrics plugin', () => {
  it('counts answers by route template, never by raw URL, and serves the exposition', async () => {
    const metrics = new AutoflowMetrics({ app: 'test-app', processMetrics: false });
    const app = Fastify();
    await app.register(metricsPlugin, { metrics });
    app.post('/hooks/:hookId', async (request, reply) =>
      reply.code(request.headers['x-fail'] ? 401 : 202).send({}),
    );
    await app.ready();

    for (const hookId of ['abc', 'def', 'ghi']) await app.inject({ method: 'POST', url: `/hooks/${hookId}` });
    await app.inject({ method: 'POST', url: '/hooks/secret-id', headers: { 'x-fail': '1' } });
    await app.inject({ method: 'GET', url: '/nothing/here/42' });
    const answer = await app.inject({ method: 'GET', url: '/metrics' });

    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/plain/);
    const samples = parseExposition(answer.body);
    const count = 'autoflow_http_request_duration_seconds_count';
    expect(sumOf(samples, count, { route: '/hooks/:hookId', status_code: '202', method: 'POST' })).toBe(3);
    expect(sumOf(samples, count, { route: '/hooks/:hookId', status_code: '401' })).toBe(1);
    expect(sumOf(samples, count, { route: UNMATCHED_ROUTE, status_code: '404' })).toBe(1);
    // The scrape itself is not counted, and no raw path or id became a label value.
    expect(sumOf(samples, count, { route: '/metrics' })).toBe(0);
    const labelValues = samples.flatMap((sample) => Object.values(sample.labels));
    for (const raw of ['abc', 'secret-id', '/nothing/here/42']) expect(labelValues).not.toContain(raw);
    // Every series carries the app's name.
    expect(samples.every((sample) => sample.labels.app === 'test-app')).toBe(true);
    await app.close();
  });
});

describe('AutoflowMetrics', () => {
  it('records runs, rejections, tokens, quota and queue waits with their labels', async () => {
    const metrics = new AutoflowMetrics({ app: 'worker', processMetrics: false });
    const run = { trigger: 'webhook.receive', action: 'http.request' };
    metrics.runStarted(run);
    // The worker hands its records over as they are: fields other than the labels are ignored.
    const handedOver = { ...run, acceptedAtMs: 0 };
    metrics.runStarted(handedOver);
    metrics.runFinished(run, 'completed', 0.2);
    metrics.runFinished(run, 'failed', 40);
    metrics.ingestRejected('webhook', 'invalid_signature');
    metrics.tokenRefreshed('gmail', 'success');
    metrics.markedNeedsReconnect('gmail');
    metrics.quotaSpent('gmail', 'messages.get', 5);
    metrics.quotaSpent('gmail', 'messages.get', 5);
    metrics.activityWaited('gmail-queue', 1.5);
    // A clock a little behind the server's never makes a negative observation.
    metrics.activityWaited('gmail-queue', -0.01);

    const samples = await scrape(metrics);
    expect(sumOf(samples, 'autoflow_runs_started_total', run)).toBe(2);
    expect(sumOf(samples, 'autoflow_runs_finished_total', { ...run, status: 'completed' })).toBe(1);
    expect(sumOf(samples, 'autoflow_runs_finished_total', { ...run, status: 'failed' })).toBe(1);
    expect(sumOf(samples, 'autoflow_run_duration_seconds_count', run)).toBe(2);
    expect(sumOf(samples, 'autoflow_run_duration_seconds_sum', run)).toBeCloseTo(40.2);
    // 0.2 s falls in the 0.25 s bucket; 40 s does not.
    expect(sumOf(samples, 'autoflow_run_duration_seconds_bucket', { ...run, le: '0.25' })).toBe(1);
    expect(sumOf(samples, 'autoflow_ingest_rejections_total', { reason: 'invalid_signature' })).toBe(1);
    expect(sumOf(samples, 'autoflow_oauth_token_refreshes_total', { outcome: 'success' })).toBe(1);
    expect(sumOf(samples, 'autoflow_oauth_needs_reconnect_total', { provider: 'gmail' })).toBe(1);
    expect(sumOf(samples, 'autoflow_provider_quota_units_total', { method: 'messages.get' })).toBe(10);
    expect(sumOf(samples, 'autoflow_activity_queue_wait_seconds_count', { task_queue: 'gmail-queue' })).toBe(
      2,
    );
    expect(sumOf(samples, 'autoflow_activity_queue_wait_seconds_sum', { task_queue: 'gmail-queue' })).toBe(
      1.5,
    );
  });

  it('keeps each process on a registry of its own, and names every metric autoflow_*', () => {
    const one = new AutoflowMetrics({ app: 'a', processMetrics: false });
    const two = new AutoflowMetrics({ app: 'b', processMetrics: false });
    one.runStarted({ trigger: 't.t', action: 'a.a' });
    expect(definedMetricNames(one)).toEqual(definedMetricNames(two));
    expect(definedMetricNames(one).every((name) => name.startsWith('autoflow_'))).toBe(true);
  });

  it('adds the Node.js process metrics unless asked not to', () => {
    const names = definedMetricNames(new AutoflowMetrics({ app: 'a' }));
    expect(names).toContain('process_cpu_seconds_total');
    expect(names).toContain('nodejs_eventloop_lag_seconds');
  });
});

describe('parseExposition', () => {
  it('reads names, escaped label values, special values and skips comments', () => {
    const samples = parseExposition(
      [
        '# HELP x_total A counter',
        '# TYPE x_total counter',
        'x_total{path="a\\"b\\\\c",le="+Inf"} 3',
        'y 1.5e3 1700000000000',
        'z{} +Inf',
        '',
      ].join('\n'),
    );
    expect(samples).toEqual([
      { name: 'x_total', labels: { path: 'a"b\\c', le: '+Inf' }, value: 3 },
      { name: 'y', labels: {}, value: 1500 },
      { name: 'z', labels: {}, value: Number.POSITIVE_INFINITY },
    ]);
  });

  it('refuses a line that is not a sample', () => {
    expect(() => parseExposition('not a sample line at all')).toThrow(/not an exposition line/);
  });

  it('maps histogram series to their metric', () => {
    expect(baseMetricName('autoflow_run_duration_seconds_bucket')).toBe('autoflow_run_duration_seconds');
    expect(baseMetricName('autoflow_runs_started_total')).toBe('autoflow_runs_started_total');
  });
});
