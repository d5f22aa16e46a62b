import { describe, expect, it } from 'vitest';
import { executionTimings, temporalUiRunUrl } from '../src/index.js';

describe('executionTimings', () => {
  it('measures queued, run and total time from acceptance, start and finish', () => {
    const timings = executionTimings({
      startedAt: new Date('2026-01-01T00:00:00.000Z'),
      acceptedAt: new Date('2026-01-01T00:00:00.100Z'),
      runStartedAt: new Date('2026-01-01T00:00:00.350Z'),
      completedAt: new Date('2026-01-01T00:00:01.350Z'),
    });
    expect(timings).toEqual({
      acceptedAt: '2026-01-01T00:00:00.100Z',
      startedAt: '2026-01-01T00:00:00.350Z',
      finishedAt: '2026-01-01T00:00:01.350Z',
      queuedMs: 250,
      runMs: 1000,
      totalMs: 1250,
    });
  });

  it('falls back to the row creation for acceptance and leaves unknown durations null', () => {
    const timings = executionTimings({
      startedAt: new Date('2026-01-01T00:00:00.000Z'),
      acceptedAt: null,
      runStartedAt: null,
      completedAt: null,
    });
    expect(timings.acceptedAt).toBe('2026-01-01T00:00:00.000Z');
    expect([timings.queuedMs, timings.runMs, timings.totalMs]).toEqual([null, null, null]);
  });
});

describe('temporalUiRunUrl', () => {
  const run = { temporalWorkflowId: 'run:7:manual:a/b', temporalRunId: 'r-1' };

  it("links to the run's history, with the ids escaped", () => {
    expect(temporalUiRunUrl({ baseUrl: 'http://localhost:8233/', namespace: 'default' }, run)).toBe(
      'http://localhost:8233/namespaces/default/workflows/run%3A7%3Amanual%3Aa%2Fb/r-1/history',
    );
  });

  it('is null without a UI or before the run has a run id', () => {
    expect(temporalUiRunUrl(undefined, run)).toBeNull();
    expect(
      temporalUiRunUrl({ baseUrl: 'http://ui', namespace: 'n' }, { ...run, temporalRunId: null }),
    ).toBeNull();
  });
});
